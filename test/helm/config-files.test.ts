// configFiles: a file a server reads (vendor-apis' VENDOR_TENANTS_FILE) from a ConfigMap — the chart's
// own from `content`, or an existing one — mounted read-only and named by its variable; unset, nothing
// is mounted and the variable stays unset; secret-looking variable names and unknown keys are refused.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ChartWorkspace,
  envOf,
  find,
  fixture,
  prepareCharts,
  render,
  template,
  validateK8s,
} from './helpers.js';

let ws: ChartWorkspace;
beforeAll(() => {
  ws = prepareCharts();
});
afterAll(() => ws?.cleanup());

const MAP = 'tenants:\n  acme:\n    hubspot: { tokenEnv: HUBSPOT_TOKEN_ACME }\n';

describe('vendor-apis configFiles.VENDOR_TENANTS_FILE', () => {
  it('unset by default: no volume, no variable', () => {
    const { objects } = render(ws, 'vendor-apis', [fixture('minimal.yaml')]);
    const dep = find(objects, 'Deployment', 'rel-vendor-apis');
    const c = dep.spec.template.spec.containers[0];
    expect(envOf(c).has('VENDOR_TENANTS_FILE')).toBe(false);
    expect(JSON.stringify(dep.spec.template.spec.volumes)).not.toContain('file-');
  });

  it('from content: the chart makes the ConfigMap, mounts it read-only and sets the variable to its path', () => {
    const { objects } = render(ws, 'vendor-apis', [
      fixture('minimal.yaml'),
      {
        configFiles: { VENDOR_TENANTS_FILE: { content: MAP } },
        secretEnv: { HUBSPOT_TOKEN_ACME: { key: 'hubspot-token-acme', secretName: 'vendor-tenants' } },
      },
    ]);
    for (const o of objects) validateK8s(o);
    const cm = find(objects, 'ConfigMap', 'rel-vendor-apis-vendor-tenants-file');
    expect(cm.data['tenants.yaml']).toBe(MAP);
    const pod = find(objects, 'Deployment', 'rel-vendor-apis').spec.template.spec;
    const c = pod.containers[0];
    expect(envOf(c).get('VENDOR_TENANTS_FILE')?.value).toBe(
      '/etc/mcp-fleet/files/vendor-tenants-file/tenants.yaml',
    );
    expect(envOf(c).get('HUBSPOT_TOKEN_ACME')?.valueFrom?.secretKeyRef).toMatchObject({
      name: 'vendor-tenants',
      key: 'hubspot-token-acme',
    });
    expect(c.volumeMounts).toContainEqual({
      name: 'file-vendor-tenants-file',
      mountPath: '/etc/mcp-fleet/files/vendor-tenants-file',
      readOnly: true,
    });
    expect(pod.volumes).toContainEqual({
      name: 'file-vendor-tenants-file',
      configMap: {
        name: 'rel-vendor-apis-vendor-tenants-file',
        items: [{ key: 'tenants.yaml', path: 'tenants.yaml' }],
      },
    });
  });

  it('from an existing ConfigMap: mounted, none rendered', () => {
    const { objects } = render(ws, 'vendor-apis', [
      fixture('minimal.yaml'),
      { configFiles: { VENDOR_TENANTS_FILE: { existingConfigMap: 'my-tenants', key: 'map.yaml' } } },
    ]);
    expect(objects.filter((o) => o.kind === 'ConfigMap').map((o) => o.metadata.name)).not.toContain(
      'rel-vendor-apis-vendor-tenants-file',
    );
    const pod = find(objects, 'Deployment', 'rel-vendor-apis').spec.template.spec;
    expect(envOf(pod.containers[0]).get('VENDOR_TENANTS_FILE')?.value).toBe(
      '/etc/mcp-fleet/files/vendor-tenants-file/map.yaml',
    );
    expect(JSON.stringify(pod.volumes)).toContain('"name":"my-tenants"');
  });

  it.each([
    ['a secret-looking variable', { HUBSPOT_TOKEN: { content: 'x' } }],
    ['the policy file', { POLICY_FILE: { content: 'x' } }],
    ['an unknown key', { VENDOR_TENANTS_FILE: { content: 'x', mode: '0600' } }],
    ['a key with a slash', { VENDOR_TENANTS_FILE: { content: 'x', key: '../etc/passwd' } }],
  ])('refuses %s', (_what, configFiles) => {
    const r = template(ws, 'vendor-apis', [fixture('minimal.yaml'), { configFiles }]);
    expect(r.code).not.toBe(0);
  });
});
