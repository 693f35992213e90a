// The Helm charts: lint, render with several value sets, validate every object against the
// Kubernetes API schemas, and check what a platform team relies on (security, probes, secrets,
// selectors, NetworkPolicy, schema refusals, the umbrella's one-host entry point).
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ChartWorkspace,
  envOf,
  find,
  fixture,
  type K8sObject,
  lint,
  ofKind,
  podSpecs,
  prepareCharts,
  render,
  repoRoot,
  SERVERS,
  template,
  validateK8s,
} from './helpers.ts';

let ws: ChartWorkspace;
beforeAll(() => {
  ws = prepareCharts();
});
afterAll(() => ws?.cleanup());

const policyFile = join(repoRoot, 'deploy/policies/example.yaml');

/** Every value set each chart is rendered with; the umbrella's include the deploy/ examples. */
const SERVER_VALUE_SETS: Record<string, string[]> = {
  minimal: [fixture('minimal.yaml')],
  full: [fixture('full.yaml')],
  'hardening-optional-off': [fixture('hardening-optional-off.yaml')],
};
const UMBRELLA_VALUE_SETS: Record<string, string[]> = {
  minimal: [fixture('umbrella-minimal.yaml')],
  'one-host': [fixture('umbrella-one-host.yaml')],
  dev: [join(repoRoot, 'deploy/values/dev.yaml')],
  staging: [join(repoRoot, 'deploy/values/staging.yaml')],
  prod: [join(repoRoot, 'deploy/values/prod.yaml')],
};

/** Every (chart, value set) pair, rendered once. */
const renders = new Map<string, K8sObject[]>();
function rendered(chart: string, set: string): K8sObject[] {
  const key = `${chart}/${set}`;
  let objects = renders.get(key);
  if (!objects) {
    const values = chart === 'mcp-fleet' ? UMBRELLA_VALUE_SETS[set]! : SERVER_VALUE_SETS[set]!;
    objects = render(ws, chart, values).objects;
    renders.set(key, objects);
  }
  return objects;
}
const ALL_RENDERS: [string, string][] = [
  ...SERVERS.flatMap((s) => Object.keys(SERVER_VALUE_SETS).map((v): [string, string] => [s, v])),
  ...Object.keys(UMBRELLA_VALUE_SETS).map((v): [string, string] => ['mcp-fleet', v]),
];

describe('generated server charts', () => {
  it('match scripts/helm-charts.mjs (run it after editing helm/mcp-fleet-lib)', () => {
    execFileSync(process.execPath, [join(repoRoot, 'scripts/helm-charts.mjs'), '--check'], { stdio: 'pipe' });
  });
});

describe('helm lint', () => {
  it.each([...SERVERS])('%s passes helm lint --strict', (server) => {
    const r = lint(ws, server, [fixture('minimal.yaml')]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
  });
  it('the library chart passes helm lint --strict', () => {
    const r = lint(ws, 'mcp-fleet-lib', []);
    expect(r.code, r.stdout + r.stderr).toBe(0);
  });
  it('mcp-fleet passes helm lint --strict', () => {
    const r = lint(ws, 'mcp-fleet', [fixture('umbrella-minimal.yaml')]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
  });
});

describe('rendered objects', () => {
  it.each(ALL_RENDERS)('%s with %s values validate against the Kubernetes schemas', (chart, set) => {
    const objects = rendered(chart, set);
    expect(objects.length).toBeGreaterThanOrEqual(3);
    for (const obj of objects) validateK8s(obj);
  });

  it('the strict validation refuses a misspelt field and a wrong type', () => {
    const [deployment] = ofKind(rendered('database', 'minimal'), 'Deployment');
    const typo = structuredClone(deployment!);
    typo.spec.template.spec.containers[0].securityContext.readOnlyRootFlesystem = true;
    expect(() => validateK8s(typo)).toThrow(/readOnlyRootFlesystem/);
    const wrongType = structuredClone(deployment!);
    wrongType.spec.replicas = 'two';
    expect(() => validateK8s(wrongType)).toThrow(/replicas/);
  });

  it.each(ALL_RENDERS)('%s with %s values: every pod and container is locked down', (chart, set) => {
    const pods = podSpecs(rendered(chart, set));
    expect(pods.length).toBeGreaterThan(0);
    for (const { owner, spec } of pods) {
      expect(spec.automountServiceAccountToken, owner).toBe(false);
      expect(spec.hostNetwork ?? false, owner).toBe(false);
      expect(spec.hostPID ?? false, owner).toBe(false);
      expect(spec.securityContext.runAsNonRoot, owner).toBe(true);
      expect(spec.securityContext.runAsUser ?? 1, owner).toBeGreaterThan(0);
      expect(spec.securityContext.seccompProfile, owner).toEqual({ type: 'RuntimeDefault' });
      for (const c of [...(spec.initContainers ?? []), ...spec.containers]) {
        const sc = c.securityContext;
        const where = `${owner} container ${c.name}`;
        expect(sc.runAsNonRoot, where).toBe(true);
        expect(sc.runAsUser ?? 1, where).toBeGreaterThan(0);
        expect(sc.readOnlyRootFilesystem, where).toBe(true);
        expect(sc.allowPrivilegeEscalation, where).toBe(false);
        expect(sc.privileged ?? false, where).toBe(false);
        expect(sc.capabilities.drop, where).toContain('ALL');
        expect(sc.capabilities.add ?? [], where).toEqual([]);
        expect(sc.seccompProfile, where).toEqual({ type: 'RuntimeDefault' });
        // The only writable mounts are /tmp and data volumes, never the host's file system.
        for (const m of c.volumeMounts ?? []) {
          const volume = spec.volumes.find((v: { name: string }) => v.name === m.name);
          expect(volume?.hostPath, `${where} mount ${m.mountPath}`).toBeUndefined();
        }
        expect(
          c.volumeMounts.some((m: { mountPath: string }) => m.mountPath === '/tmp'),
          where,
        ).toBe(true);
        expect(c.resources.requests, where).toBeDefined();
        expect(c.resources.limits?.memory, where).toBeDefined();
      }
    }
  });

  it.each(ALL_RENDERS)(
    '%s with %s values: servers have startup, liveness and readiness probes',
    (chart, set) => {
      const deployments = ofKind(rendered(chart, set), 'Deployment');
      expect(deployments.length).toBeGreaterThan(0);
      for (const d of deployments) {
        const [c] = d.spec.template.spec.containers;
        expect(c.startupProbe.httpGet).toEqual({ path: '/healthz', port: 'http' });
        expect(c.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'http' });
        expect(c.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'http' });
        expect(c.ports).toEqual([{ name: 'http', containerPort: 8080, protocol: 'TCP' }]);
        const env = envOf(c);
        expect(env.get('HOST')?.value).toBe('0.0.0.0');
        expect(env.get('PORT')?.value).toBe('8080');
        expect(env.get('MIGRATE_ON_START')?.value).toBe('false');
        expect(env.get('POLICY_FILE')?.value).toBe('/etc/mcp-fleet/policy/policy.yaml');
      }
    },
  );

  it.each(ALL_RENDERS)(
    '%s with %s values: no secret value is rendered, only Secret references',
    (chart, set) => {
      const objects = rendered(chart, set);
      expect(ofKind(objects, 'Secret')).toEqual([]);
      const text = JSON.stringify(objects);
      expect(text).not.toMatch(/[a-z]+:\/\/[^/\s"@:]+:[^@\s"]+@/); // credentials in a URL
      expect(text).not.toMatch(/sk_live_|rk_live_|xox[bp]-|BEGIN [A-Z ]*PRIVATE KEY/);
      for (const d of [...ofKind(objects, 'Deployment'), ...ofKind(objects, 'Job')]) {
        for (const c of d.spec.template.spec.containers) {
          for (const [name, entry] of envOf(c)) {
            if (/URL$|TOKEN|KEY|SECRET|PASSWORD/.test(name) && !/^(PUBLIC_URL|AUTH_JWKS_URL)$/.test(name)) {
              expect(entry.value, `${d.metadata.name} ${name}`).toBeUndefined();
              expect(entry.valueFrom?.secretKeyRef?.name, `${d.metadata.name} ${name}`).toBeTruthy();
            }
          }
        }
      }
    },
  );
});

describe('server charts', () => {
  it.each([...SERVERS])(
    '%s: two replicas rolled with no unavailability, spread, PDB, no-token ServiceAccount',
    (server) => {
      const objects = rendered(server, 'minimal');
      const d = find(objects, 'Deployment', `rel-${server}`);
      expect(d.spec.replicas).toBe(2);
      expect(d.spec.strategy).toEqual({
        type: 'RollingUpdate',
        rollingUpdate: { maxSurge: 1, maxUnavailable: 0 },
      });
      const spread = d.spec.template.spec.topologySpreadConstraints;
      expect(spread.map((t: { topologyKey: string }) => t.topologyKey)).toEqual([
        'topology.kubernetes.io/zone',
        'kubernetes.io/hostname',
      ]);
      for (const t of spread) expect(t.labelSelector.matchLabels).toEqual(d.spec.selector.matchLabels);
      expect(find(objects, 'PodDisruptionBudget', `rel-${server}`).spec.maxUnavailable).toBe(1);
      expect(find(objects, 'ServiceAccount', `rel-${server}`).automountServiceAccountToken).toBe(false);
      expect(d.spec.template.spec.serviceAccountName).toBe(`rel-${server}`);
      expect(ofKind(objects, 'HorizontalPodAutoscaler')).toEqual([]);
      const svc = find(objects, 'Service', `rel-${server}`);
      expect(svc.spec.ports).toEqual([{ name: 'http', port: 80, targetPort: 'http', protocol: 'TCP' }]);
    },
  );

  it.each([...SERVERS])(
    '%s: selectors are name + instance only and do not move when values change',
    (server) => {
      const expected = { 'app.kubernetes.io/name': server, 'app.kubernetes.io/instance': 'rel' };
      for (const set of Object.keys(SERVER_VALUE_SETS)) {
        const objects = rendered(server, set);
        const d = find(objects, 'Deployment', `rel-${server}`);
        expect(d.spec.selector.matchLabels, set).toEqual(expected);
        expect(d.spec.template.metadata.labels, set).toMatchObject(expected);
        expect(find(objects, 'Service', `rel-${server}`).spec.selector, set).toEqual(expected);
        for (const pdb of ofKind(objects, 'PodDisruptionBudget'))
          expect(pdb.spec.selector.matchLabels).toEqual(expected);
        for (const np of ofKind(objects, 'NetworkPolicy'))
          expect(np.spec.podSelector.matchLabels).toEqual(expected);
        for (const sm of ofKind(objects, 'ServiceMonitor'))
          expect(sm.spec.selector.matchLabels).toEqual(expected);
        // The migration Job's pods must never be selected by the Service or counted by the PDB.
        for (const job of ofKind(objects, 'Job')) {
          expect(job.spec.template.metadata.labels['app.kubernetes.io/name']).not.toBe(server);
        }
      }
      // A new image version must not change the selector either (it is immutable on Deployments).
      const bumped = render(ws, server, [fixture('minimal.yaml'), { image: { tag: '9.9.9' } }]).objects;
      expect(find(bumped, 'Deployment', `rel-${server}`).spec.selector.matchLabels).toEqual(expected);
    },
  );

  it.each([...SERVERS])('%s: NetworkPolicy is rendered when enabled and absent when disabled', (server) => {
    const [np, ...more] = ofKind(rendered(server, 'minimal'), 'NetworkPolicy');
    expect(more).toEqual([]);
    expect(np!.spec.policyTypes).toEqual(['Ingress', 'Egress']);
    const from = np!.spec.ingress[0].from[0].namespaceSelector.matchExpressions[0];
    expect(from).toEqual({
      key: 'kubernetes.io/metadata.name',
      operator: 'In',
      values: ['ingress-nginx', 'monitoring'],
    });
    expect(np!.spec.ingress[0].ports).toEqual([{ port: 'http', protocol: 'TCP' }]);
    const egressPorts = np!.spec.egress.flatMap((r: { ports: { port: number }[] }) =>
      r.ports.map((p) => p.port),
    );
    expect(egressPorts).toEqual(expect.arrayContaining([53, 5432, 443]));
    // Nothing else: every egress rule is limited to ports.
    for (const rule of np!.spec.egress) expect(rule.ports.length).toBeGreaterThan(0);
    expect(ofKind(rendered(server, 'hardening-optional-off'), 'NetworkPolicy')).toEqual([]);
  });

  it('each server may reach only the ports it needs', () => {
    const ports = (server: string) =>
      new Set(
        ofKind(rendered(server, 'minimal'), 'NetworkPolicy')[0]!.spec.egress.flatMap(
          (r: { ports: { port: number }[] }) => r.ports.map((p) => p.port),
        ),
      );
    expect([...ports('files')].sort()).toEqual([443, 5432, 53, 6379].sort());
    expect(ports('communication')).toEqual(new Set([53, 5432, 6379, 443, 465, 587]));
    expect(ports('database')).toEqual(new Set([53, 5432, 6379, 443]));
  });

  it('the full value set renders HPA, ServiceMonitor, PrometheusRule, Ingress and narrowed egress', () => {
    const objects = rendered('database', 'full');
    const d = find(objects, 'Deployment', 'rel-database');
    expect(d.spec.replicas).toBeUndefined();
    const hpa = find(objects, 'HorizontalPodAutoscaler', 'rel-database');
    expect(hpa.spec).toMatchObject({ minReplicas: 3, maxReplicas: 12 });
    expect(hpa.spec.metrics.map((m: { resource: { name: string } }) => m.resource.name)).toEqual([
      'cpu',
      'memory',
    ]);
    expect(find(objects, 'ServiceMonitor', 'rel-database').spec.endpoints[0]).toMatchObject({
      port: 'http',
      path: '/metrics',
    });
    const rules = find(objects, 'PrometheusRule', 'rel-database').spec.groups[0].rules;
    const alerts = rules.map((r: { alert: string }) => r.alert);
    expect(alerts).toEqual(
      expect.arrayContaining([
        'McpToolErrorRateHigh',
        'McpAuthFailuresHigh',
        'McpAuditWriteFailing',
        'McpAuditBacklog',
        'McpAnomalousToolSequences',
      ]),
    );
    for (const r of rules) expect(r.expr).toMatch(/namespace="mcp", service="rel-database"/);
    expect(find(objects, 'Ingress', 'rel-database').spec.rules[0].host).toBe('srv.mcp.example.com');
    const c = d.spec.template.spec.containers[0];
    expect(c.image).toBe(
      'registry.example.com/mirror/mcp-fleet/database@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef',
    );
    const env = envOf(c);
    expect(env.get('PUBLIC_URL')?.value).toBe('https://srv.mcp.example.com');
    expect(env.get('ALLOWED_HOSTS')?.value?.split(',')).toEqual(
      expect.arrayContaining(['srv.mcp.example.com', 'rel-database', 'rel-database.mcp.svc.cluster.local']),
    );
    expect(env.get('AUTH_ALGORITHMS')?.value).toBe('RS256,ES256');
    expect(env.get('AUTH_CLAIM_AGENT')?.value).toBe('azp');
    expect(env.get('REDIS_URL')?.valueFrom.secretKeyRef).toEqual({ name: 'mcp-fleet-redis', key: 'url' });
    expect(env.get('WAREHOUSE_URL')?.valueFrom.secretKeyRef).toMatchObject({
      name: 'server-credentials',
      key: 'warehouse-url',
    });
    expect(d.spec.template.metadata.annotations['checksum/policy']).toMatch(/^[a-f0-9]{64}$/);
    expect(d.spec.template.spec.imagePullSecrets).toEqual([{ name: 'team-regcred' }, { name: 'regcred' }]);
  });

  it('the policy ConfigMap is mounted as a directory, so that edits reach running pods', () => {
    const objects = rendered('database', 'minimal');
    const d = find(objects, 'Deployment', 'rel-database');
    const mount = d.spec.template.spec.containers[0].volumeMounts.find(
      (m: { name: string }) => m.name === 'policy',
    );
    expect(mount).toEqual({ name: 'policy', mountPath: '/etc/mcp-fleet/policy', readOnly: true });
    const volume = d.spec.template.spec.volumes.find((v: { name: string }) => v.name === 'policy');
    expect(volume.configMap.name).toBe('rel-database-policy');
    expect(find(objects, 'ConfigMap', 'rel-database-policy').data['policy.yaml']).toMatch(
      /^version: 1\nroles: \{\}/,
    );
    expect(d.spec.template.metadata.annotations?.['checksum/policy']).toBeUndefined();
  });

  it('a standalone server chart migrates with a pre-install/pre-upgrade hook Job', () => {
    const [job, ...more] = ofKind(rendered('admin', 'minimal'), 'Job');
    expect(more).toEqual([]);
    expect(job!.metadata.annotations['helm.sh/hook']).toBe('pre-install,pre-upgrade');
    expect(job!.spec.template.spec.containers[0].command).toEqual(['node', 'dist/main.js', 'migrate']);
    expect(
      envOf(job!.spec.template.spec.containers[0]).get('DATABASE_URL')?.valueFrom.secretKeyRef.name,
    ).toBe('mcp-fleet-db');
  });

  it('the files server gets its volume at FILES_ROOT', () => {
    const objects = rendered('files', 'minimal');
    const d = find(objects, 'Deployment', 'rel-files');
    expect(envOf(d.spec.template.spec.containers[0]).get('FILES_ROOT')?.value).toBe('/data');
    const pvc = find(objects, 'PersistentVolumeClaim', 'rel-files-data');
    expect(pvc.spec.accessModes).toEqual(['ReadWriteMany']);
    const volume = d.spec.template.spec.volumes.find((v: { name: string }) => v.name === 'data');
    expect(volume.persistentVolumeClaim.claimName).toBe('rel-files-data');
  });
});

describe('values schema', () => {
  const refused = (chart: string, values: Record<string, unknown>, base = fixture('minimal.yaml')) => {
    const r = template(ws, chart, [base, values]);
    expect(r.code, `accepted ${JSON.stringify(values)}`).not.toBe(0);
    return r.stderr;
  };

  it.each([...SERVERS])('%s refuses a misspelt key', (server) => {
    expect(refused(server, { replicaCont: 3 })).toMatch(/replicaCont/);
  });

  it.each([
    ['a wrong type', { replicaCount: 'three' }, /replicaCount/],
    ['a nested typo', { autoscaling: { enabeld: true } }, /enabeld/],
    ['a typo under global', { global: { auht: {} } }, /auht/],
    ['a bad log level', { logLevel: 'verbose' }, /logLevel/],
    ['an image digest that is not one', { image: { digest: 'latest' } }, /digest/],
    [
      'weakening the container security context',
      { securityContext: { readOnlyRootFilesystem: false } },
      /readOnlyRootFilesystem/,
    ],
    ['running as root', { securityContext: { runAsUser: 0 } }, /runAsUser/],
    ['an HS256 algorithm', { auth: { algorithms: ['HS256'] } }, /algorithms/],
  ])('a server chart refuses %s', (_what, values, message) => {
    expect(refused('database', values)).toMatch(message);
  });

  it.each([
    ['a database URL as a value', { fleetDatabase: { url: 'postgres://fleet:hunter2@db:5432/fleet' } }],
    ['a vendor key in env', { env: { STRIPE_API_KEY: 'sk_live_51FakeFakeFake' } }],
    ['a connection string in env', { env: { DATABASE_URL: 'postgres://fleet:hunter2@db:5432/fleet' } }],
    ['a token in env', { env: { SLACK_BOT_TOKEN: 'xoxb-0000-fake' } }],
    ['a secret value in secretEnv', { secretEnv: { STRIPE_API_KEY: { key: 'k', value: 'sk_live_51Fake' } } }],
    ['overriding a chart-managed variable', { env: { MIGRATE_ON_START: 'true' } }],
  ])('a server chart refuses %s (secrets only through Secret references)', (_what, values) => {
    refused('vendor-apis', values);
  });

  it('required settings are named when missing', () => {
    const r = template(ws, 'database', []);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/auth\.issuer/);
    expect(r.stderr).toMatch(/auth\.jwksUrl/);
    expect(r.stderr).toMatch(/fleetDatabase\.existingSecret/);
  });

  it('the umbrella refuses typos at its top level and inside a server section', () => {
    expect(refused('mcp-fleet', { ingres: { enabled: true } }, fixture('umbrella-minimal.yaml'))).toMatch(
      /ingres/,
    );
    expect(refused('mcp-fleet', { database: { replicaCont: 3 } }, fixture('umbrella-minimal.yaml'))).toMatch(
      /replicaCont/,
    );
    expect(
      refused('mcp-fleet', { files: { persistence: { sise: '1Gi' } } }, fixture('umbrella-minimal.yaml')),
    ).toMatch(/sise/);
    expect(
      refused('mcp-fleet', { admin: { enabled: 'sometimes' } }, fixture('umbrella-minimal.yaml')),
    ).toMatch(/enabled/);
  });
});

describe('umbrella chart mcp-fleet', () => {
  it('installs the five servers with one shared policy ConfigMap and their migration Jobs', () => {
    const objects = render(
      ws,
      'mcp-fleet',
      [fixture('umbrella-minimal.yaml'), { global: { policy: { content: '' } } }],
      {
        release: 'fleet',
      },
    ).objects;
    expect(
      ofKind(objects, 'Deployment')
        .map((d) => d.metadata.name)
        .sort(),
    ).toEqual(SERVERS.map((s) => `fleet-${s}`).sort());
    // Without global.policy.content each server falls back to its own deny-all ConfigMap.
    expect(ofKind(objects, 'ConfigMap')).toHaveLength(5);

    const fleet = render(ws, 'mcp-fleet', [fixture('umbrella-minimal.yaml')], { release: 'fleet' }).objects;
    expect(ofKind(fleet, 'ConfigMap').map((c) => c.metadata.name)).toEqual(['fleet-fleet-policy']);
    for (const d of ofKind(fleet, 'Deployment')) {
      const policy = d.spec.template.spec.volumes.find((v: { name: string }) => v.name === 'policy');
      expect(policy.configMap.name, d.metadata.name).toBe('fleet-fleet-policy');
    }
    // Each server migrates core's tables and its own, in a hook Job that runs before any pod is replaced.
    const jobs = ofKind(fleet, 'Job');
    expect(jobs.map((j) => j.metadata.name).sort()).toEqual(SERVERS.map((s) => `fleet-${s}-migrate`).sort());
    for (const job of jobs) {
      expect(job.metadata.annotations['helm.sh/hook']).toBe('pre-install,pre-upgrade');
      const server = job.metadata.name.replace(/^fleet-|-migrate$/g, '');
      expect(job.spec.template.spec.containers[0].image).toBe(`ghcr.io/mcp-fleet/${server}:0.1.0`);
      expect(job.spec.template.spec.containers[0].command).toEqual(['node', 'dist/main.js', 'migrate']);
    }
  });

  it('loads the example policy with --set-file', () => {
    const r = template(ws, 'mcp-fleet', [fixture('umbrella-minimal.yaml')]);
    expect(r.code).toBe(0);
    const withPolicy = ws.helm;
    const out = execFileSync(
      withPolicy,
      [
        'template',
        'fleet',
        ws.chart('mcp-fleet'),
        '-f',
        fixture('umbrella-minimal.yaml'),
        '--set-file',
        `global.policy.content=${policyFile}`,
      ],
      { encoding: 'utf8' },
    );
    expect(out).toMatch(/name: fleet-fleet-policy/);
    expect(out).toMatch(/support:\n\s+description:/);
  });

  it('puts every server under one host: /<server>/mcp and the RFC 9728 metadata path', () => {
    const objects = render(ws, 'mcp-fleet', [fixture('umbrella-one-host.yaml')], {
      release: 'fleet',
    }).objects;
    const services = new Set(ofKind(objects, 'Service').map((s) => s.metadata.name));
    const ingress = find(objects, 'Ingress', 'fleet-mcp-fleet');
    expect(ingress.metadata.annotations['nginx.ingress.kubernetes.io/rewrite-target']).toBe('/$1');
    expect(ingress.metadata.annotations['nginx.ingress.kubernetes.io/use-regex']).toBe('true');
    expect(ingress.spec.tls).toEqual([{ hosts: ['mcp.example.com'], secretName: 'mcp-example-com-tls' }]);
    const [rule] = ingress.spec.rules;
    expect(rule.host).toBe('mcp.example.com');
    expect(rule.http.paths).toHaveLength(10);
    // What ingress-nginx does with a request: the one regex location that matches, then rewrite-target /$1.
    const route = (url: string) => {
      const hits = rule.http.paths
        .map((p: { path: string; backend: { service: { name: string } } }) => ({
          m: new RegExp(`^${p.path}`).exec(url),
          service: p.backend.service.name,
        }))
        .filter((h: { m: RegExpExecArray | null }) => h.m);
      expect(hits.length, `${url} matches ${hits.length} paths`).toBeLessThanOrEqual(1);
      return hits[0] ? { service: hits[0].service, path: `/${hits[0].m[1]}` } : undefined;
    };
    for (const server of SERVERS) {
      const svc = `fleet-${server}`;
      expect(services.has(svc)).toBe(true);
      expect(route(`/${server}/mcp`)).toEqual({ service: svc, path: '/mcp' });
      expect(route(`/${server}/approvals/a1`)).toEqual({ service: svc, path: '/approvals/a1' });
      // RFC 9728: the metadata of resource https://mcp.example.com/<server>/mcp, served by the server
      // at /.well-known/oauth-protected-resource/<server>/mcp, whether asked at the host's root...
      const metadata = `/.well-known/oauth-protected-resource/${server}/mcp`;
      expect(route(metadata)).toEqual({ service: svc, path: metadata });
      // ...or under the server's public URL.
      expect(route(`/${server}${metadata}`)).toEqual({ service: svc, path: metadata });
      const env = envOf(find(objects, 'Deployment', svc).spec.template.spec.containers[0]);
      expect(env.get('PUBLIC_URL')?.value).toBe(`https://mcp.example.com/${server}`);
      expect(env.get('ALLOWED_HOSTS')?.value?.split(',')).toEqual(
        expect.arrayContaining(['mcp.example.com', svc, `${svc}.mcp.svc.cluster.local`]),
      );
      expect(env.get('ALLOWED_ORIGINS')?.value).toBe('https://mcp.example.com');
    }
    expect(route('/mcp')).toBeUndefined();
    expect(route('/databases/mcp')).toBeUndefined();

    const httpRoute = find(objects, 'HTTPRoute', 'fleet-mcp-fleet');
    expect(httpRoute.spec.hostnames).toEqual(['mcp.example.com']);
    expect(httpRoute.spec.rules).toHaveLength(10);
    expect(httpRoute.spec.rules[0]).toEqual({
      matches: [{ path: { type: 'PathPrefix', value: '/database' } }],
      filters: [
        { type: 'URLRewrite', urlRewrite: { path: { type: 'ReplacePrefixMatch', replacePrefixMatch: '/' } } },
      ],
      backendRefs: [{ name: 'fleet-database', port: 80 }],
    });
    expect(httpRoute.spec.rules[1]).toEqual({
      matches: [{ path: { type: 'PathPrefix', value: '/.well-known/oauth-protected-resource/database' } }],
      backendRefs: [{ name: 'fleet-database', port: 80 }],
    });
  });

  it('a disabled server disappears from the release and from the Ingress', () => {
    const objects = render(
      ws,
      'mcp-fleet',
      [fixture('umbrella-one-host.yaml'), { admin: { enabled: false } }],
      {
        release: 'fleet',
      },
    ).objects;
    expect(objects.filter((o) => o.metadata.name.startsWith('fleet-admin'))).toEqual([]);
    const paths = find(objects, 'Ingress', 'fleet-mcp-fleet').spec.rules[0].http.paths;
    expect(paths.map((p: { path: string }) => p.path).join(' ')).not.toMatch(/admin/);
  });

  it('refuses an Ingress without the public base URL it is the host of', () => {
    const r = template(ws, 'mcp-fleet', [fixture('umbrella-minimal.yaml'), { ingress: { enabled: true } }]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/publicBaseUrl/);
  });

  it('the deploy/ examples render what they promise', () => {
    const dev = rendered('mcp-fleet', 'dev');
    for (const d of ofKind(dev, 'Deployment')) expect(d.spec.replicas).toBe(1);
    expect(ofKind(dev, 'NetworkPolicy')).toEqual([]);
    expect(ofKind(dev, 'PersistentVolumeClaim')).toEqual([]);
    const prod = rendered('mcp-fleet', 'prod');
    expect(ofKind(prod, 'HorizontalPodAutoscaler')).toHaveLength(4);
    expect(ofKind(prod, 'NetworkPolicy')).toHaveLength(5);
    expect(ofKind(prod, 'PrometheusRule')).toHaveLength(5);
    expect(ofKind(prod, 'ServiceMonitor')).toHaveLength(5);
    for (const d of ofKind(prod, 'Deployment')) {
      expect(d.spec.template.spec.containers[0].image).toMatch(
        /^registry\.example\.com\/mcp-fleet\/[a-z-]+:0\.1\.0$/,
      );
      expect(d.spec.template.spec.topologySpreadConstraints[0].whenUnsatisfiable).toBe('DoNotSchedule');
    }
    const staging = rendered('mcp-fleet', 'staging');
    expect(ofKind(staging, 'Deployment').every((d) => d.spec.replicas === 2)).toBe(true);
  });
});
