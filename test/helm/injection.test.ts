// What reaches the charts from a manifest or from values cannot write other chart keys, and every
// server of a release gets its own objects, checked by rendering with the real (pinned) helm:
// line breaks that only Helm's YAML sees (U+0085, U+2028, U+2029) in a manifest are refused
// before a chart is written; an egress rule name cannot add a rule to the NetworkPolicy; a secret
// variable cannot replace one core reads; and a server's name is unique whatever the release's.
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { coreEnvSchema } from '../../packages/core/src/config.js';
import {
  type ChartWorkspace,
  fixture,
  ofKind,
  prepareCharts,
  render,
  repoRoot,
  SERVERS,
  template,
} from './helpers.ts';

let ws: ChartWorkspace;
beforeAll(() => {
  ws = prepareCharts();
});
afterAll(() => ws?.cleanup());

const LINE_BREAKS = ['\n', '\r', '\u0085', '\u2028', '\u2029'];
const hex = (c: string) => `U+${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`;

describe('a manifest cannot write chart keys', () => {
  it.each(LINE_BREAKS.map((c) => [hex(c), c]))(
    '%s in a secret description, an egress comment or the description: no chart is written, helm sees nothing injected',
    (_, br) => {
      const copy = mkdtempSync(join(tmpdir(), 'fleet-inject-'));
      try {
        for (const d of ['scripts', 'helm'])
          cpSync(join(repoRoot, d), join(copy, d), {
            recursive: true,
            filter: (s) => !/[\\/]charts([\\/]|$)|Chart\.lock$/.test(s),
          });
        symlinkSync(join(repoRoot, 'node_modules'), join(copy, 'node_modules'));
        const plannedFile = join(copy, 'scripts/planned-servers.json');
        const planned = JSON.parse(readFileSync(plannedFile, 'utf8'));
        // A planned server of this test's own (every server of the checkout is built).
        planned.servers.push({
          name: 'ledger',
          port: 7406,
          description: `Ledger.${br}dependencies:${br}  - {name: mcp-fleet-lib, repository: "https://evil.example/charts"}`,
          secretEnv: {
            LEDGER_API_KEY: {
              key: 'ledger-api-key',
              optional: true,
              description: `Ledger.${br}auth:${br}  issuer: https://evil.example`,
            },
          },
          egress: {
            https: { ports: [443], comment: `Ledger.${br}fleetDatabase:${br}  existingSecret: evil-secret` },
          },
        });
        writeFileSync(plannedFile, JSON.stringify(planned));
        const gen = spawnSync(process.execPath, [join(copy, 'scripts/helm-charts.mjs')], {
          cwd: copy,
          encoding: 'utf8',
        });
        if (gen.status === 0) {
          // Written anyway: what helm makes of it must not hold the injected settings.
          const chart = join(copy, 'helm/ledger');
          mkdirSync(join(chart, 'charts'), { recursive: true });
          cpSync(join(copy, 'helm/mcp-fleet-lib'), join(chart, 'charts/mcp-fleet-lib'), { recursive: true });
          const shown = spawnSync(ws.helm, ['show', 'chart', chart], { encoding: 'utf8' });
          expect(shown.stdout).not.toContain('evil.example');
          const values = spawnSync(ws.helm, ['show', 'values', chart], { encoding: 'utf8' });
          const r = spawnSync(
            ws.helm,
            ['template', 'rel', chart, '-f', fixture('minimal.yaml'), '--set', 'auth.issuer=null'],
            { encoding: 'utf8' },
          );
          expect(`${values.stdout}${r.stdout}`).not.toMatch(/evil/);
        }
        expect(gen.status, gen.stdout).not.toBe(0);
        expect(gen.stderr).toMatch(/ledger/);
      } finally {
        rmSync(copy, { recursive: true, force: true });
      }
    },
    60_000,
  );

  it('no generated chart file holds a line break only Helm sees, and --check says so', () => {
    for (const chart of [...SERVERS, 'mcp-fleet']) {
      for (const f of ['Chart.yaml', 'values.yaml']) {
        const text = readFileSync(join(repoRoot, 'helm', chart, f), 'utf8');
        expect(text, `${chart}/${f}`).not.toMatch(/[\u0085\u2028\u2029]/);
      }
    }
    execFileSync(process.execPath, [join(repoRoot, 'scripts/helm-charts.mjs'), '--check'], { stdio: 'pipe' });
  });
});

describe('NetworkPolicy egress rule names', () => {
  const hostile = 'warehouse\n    - {}\n    #';
  it.each([hostile, 'a b', 'a_b', 'x'.repeat(64), '-x', 'ä'])(
    'the values schema refuses rule name %j',
    (name) => {
      const r = template(ws, 'database', [
        fixture('minimal.yaml'),
        { networkPolicy: { egress: { allow: { [name]: { ports: [443] } } } } },
      ]);
      expect(r.code, r.stdout).not.toBe(0);
    },
  );

  it('without the schema, a rule name still cannot add an allow-all rule', () => {
    const r = spawnSync(
      ws.helm,
      [
        'template',
        'rel',
        ws.chart('database'),
        '--skip-schema-validation',
        '-f',
        fixture('minimal.yaml'),
        '--set-json',
        `networkPolicy.egress.allow=${JSON.stringify({ [hostile]: { enabled: true, ports: [443] } })}`,
      ],
      { encoding: 'utf8' },
    );
    expect(r.status, r.stderr).toBe(0);
    const docs = r.stdout.split(/^---$/m).map((d) => parse(d));
    const np = docs.find((d) => d?.kind === 'NetworkPolicy');
    for (const rule of np.spec.egress)
      expect(rule.ports?.length ?? 0, JSON.stringify(rule)).toBeGreaterThan(0);
  });
});

describe('secret variables', () => {
  const CORE = [...Object.keys(coreEnvSchema.shape), 'NODE_OPTIONS', 'NODE_ENV'];
  it('the values schema refuses every variable core reads, and NODE_*', () => {
    const accepted = CORE.filter(
      (name) =>
        template(ws, 'database', [fixture('minimal.yaml'), { secretEnv: { [name]: { key: 'k' } } }]).code ===
        0,
    );
    expect(accepted).toEqual([]);
    expect(
      template(ws, 'database', [fixture('minimal.yaml'), { secretEnv: { WAREHOUSE_URL: { key: 'k' } } }])
        .code,
    ).toBe(0);
  });
});

describe('resource names', () => {
  // Releases whose names contain one server's name, two of them, or are one of them.
  const releases = [
    'mcp-fleet',
    'mcp',
    'fleet',
    ...SERVERS,
    ...SERVERS.flatMap((a) => SERVERS.filter((b) => b !== a).map((b) => `${a}-${b}`)),
    `x${'y'.repeat(50)}`,
  ];
  it.each(releases)(
    'release %s: every server of the umbrella has its own Deployment and Service',
    (release) => {
      const { objects } = render(ws, 'mcp-fleet', [fixture('umbrella-minimal.yaml')], { release });
      for (const kind of ['Deployment', 'Service']) {
        const names = ofKind(objects, kind).map((o) => o.metadata.name);
        expect(names, kind).toHaveLength(SERVERS.length);
        expect(new Set(names).size, `${kind}: ${names.join(', ')}`).toBe(SERVERS.length);
        for (const n of names) expect(n.length).toBeLessThanOrEqual(63);
      }
    },
  );
});
