// What a server's manifest (package.json#mcpFleet) may say, checked the same way by core's schema,
// by scripts/helm-charts.mjs (which writes the charts from it) and by `fleet new server`: no
// control character or line separator in any string (Helm's YAML breaks lines at U+0085, U+2028
// and U+2029 where JavaScript's does not), strict egress and variable names, no variable core
// reads, no name the umbrella chart uses itself, and a generator that writes all or nothing.
// Every case is generated: every such character in every string field, every reserved key.
import { execFileSync, spawnSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { newCommand, newServer } from '../../packages/cli/src/commands/new.js';
import { discoverServers, ROOT } from '../../packages/cli/src/layout.js';
import { coreEnvSchema } from '../../packages/core/src/config.js';
import { CORE_ENV_NAMES, defineServer, serverManifest } from '../../packages/core/src/manifest.js';
import { readServers, SERVERS } from '../../scripts/helm-charts.mjs';

/** Every control character (C0, DEL, C1 incl. NEL) and the Unicode line and paragraph separators. */
const BREAKERS: string[] = [
  ...Array.from({ length: 0x20 }, (_, i) => String.fromCharCode(i)),
  ...Array.from({ length: 0x21 }, (_, i) => String.fromCharCode(0x7f + i)),
  '\u2028',
  '\u2029',
];
const show = (c: string) => `U+${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`;

type Json = Record<string, unknown>;
const base = (): Json => ({
  name: 'probe',
  port: 7990,
  description: 'Probe server.',
  localSetup: 'src/local-setup.ts',
  secretEnv: { API_TOKEN: { key: 'api-token', optional: true, description: 'The API token.' } },
  egress: { https: { ports: [443], comment: 'The API over HTTPS.' } },
  helmValues: { extraEnv: { note: 'plain' } },
});

/** Every string field of a manifest, as a function putting `bad` into it. */
const FIELDS: Record<string, (m: Json, bad: string) => void> = {
  name: (m, bad) => {
    m.name = `pro${bad}be`;
  },
  description: (m, bad) => {
    m.description = `Probe${bad}auth:${bad}  issuer: https://evil.example`;
  },
  localSetup: (m, bad) => {
    m.localSetup = `src/local${bad}setup.ts`;
  },
  'secretEnv.<name>': (m, bad) => {
    m.secretEnv = { [`API${bad}TOKEN`]: { key: 'api-token', description: 'x' } };
  },
  'secretEnv.*.key': (m, bad) => {
    (m.secretEnv as Json).API_TOKEN = { key: `api${bad}token`, description: 'x' };
  },
  'secretEnv.*.description': (m, bad) => {
    (m.secretEnv as Json).API_TOKEN = {
      key: 'api-token',
      description: `Token.${bad}auth:${bad}  issuer: evil`,
    };
  },
  'egress.<name>': (m, bad) => {
    m.egress = { [`warehouse${bad}    - {}${bad}    #`]: { ports: [443], comment: 'x' } };
  },
  'egress.*.comment': (m, bad) => {
    m.egress = { https: { ports: [443], comment: `HTTPS.${bad}auth:${bad}  issuer: evil` } };
  },
  'helmValues.*': (m, bad) => {
    m.helmValues = { extraEnv: { note: `a${bad}b` } };
  },
  'helmValues.<key>': (m, bad) => {
    m.helmValues = { [`extra${bad}Env`]: 'x' };
  },
};
const CASES = Object.keys(FIELDS).flatMap((field) => BREAKERS.map((c): [string, string] => [field, c]));

const scratch: string[] = [];
afterEach(() => {
  for (const d of scratch.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A temporary root holding only the given server manifests (and, if asked, the umbrella values). */
function rootWith(manifests: Json[], umbrella = false): string {
  const dir = mkdtempSync(join(tmpdir(), 'fleet-manifest-'));
  scratch.push(dir);
  for (const [i, m] of manifests.entries()) {
    mkdirSync(join(dir, 'servers', `s${i}`), { recursive: true });
    writeFileSync(
      join(dir, 'servers', `s${i}`, 'package.json'),
      JSON.stringify({ name: `s${i}`, version: '0.1.0', mcpFleet: m }),
    );
  }
  if (umbrella) {
    mkdirSync(join(dir, 'helm', 'mcp-fleet'), { recursive: true });
    cpSync(join(ROOT, 'helm/mcp-fleet/values.yaml'), join(dir, 'helm/mcp-fleet/values.yaml'));
  }
  return dir;
}

describe('manifest strings', () => {
  it('the base manifest is accepted by core and by the chart generator', () => {
    expect(serverManifest({ mcpFleet: base() }).name).toBe('probe');
    expect(readServers(rootWith([base()], true)).map((s: { name: string }) => s.name)).toEqual(['probe']);
  });

  it.each(CASES)('core refuses %s holding %#', (field, bad) => {
    const m = base();
    FIELDS[field]!(m, bad);
    expect(() => serverManifest({ name: 'probe', mcpFleet: m }), `${field} ${show(bad)}`).toThrow(
      /invalid server manifest/,
    );
  });

  it('scripts/helm-charts.mjs refuses every one of them too', () => {
    const accepted: string[] = [];
    for (const [field, bad] of CASES) {
      const m = base();
      FIELDS[field]!(m, bad);
      try {
        readServers(rootWith([m]));
        accepted.push(`${field} ${show(bad)}`);
      } catch {
        // refused
      }
    }
    expect(accepted).toEqual([]);
  });
});

describe('names', () => {
  /** Top-level keys of the umbrella's values that are not servers: its own settings. */
  const UMBRELLA_KEYS = Object.keys(
    parse(readFileSync(join(ROOT, 'helm/mcp-fleet/values.yaml'), 'utf8')),
  ).filter((k) => !SERVERS.some((s: { name: string }) => s.name === k));

  it('the umbrella values have settings of their own (global, ingress, ...)', () => {
    expect(UMBRELLA_KEYS).toEqual(expect.arrayContaining(['global', 'ingress']));
  });

  it.each(UMBRELLA_KEYS)('a server may not be named %s (an umbrella setting)', (key) => {
    expect(() => readServers(rootWith([{ ...base(), name: key }], true))).toThrow();
    const copy = repoCopy();
    expect(() => newServer({ name: key, root: copy, install: false })).toThrow(
      /invalid server name|reserved/,
    );
    expect(existsSync(join(copy, 'servers', key))).toBe(false);
  });

  it('refuses a server name longer than 40 characters', () => {
    const long = `s${'x'.repeat(40)}`;
    expect(() => serverManifest({ mcpFleet: { ...base(), name: long } })).toThrow(/name/);
    expect(() => serverManifest({ mcpFleet: { ...base(), name: long.slice(0, 40) } })).not.toThrow();
    expect(() => readServers(rootWith([{ ...base(), name: long }]))).toThrow();
  });

  it.each(['Warehouse', '1st', '-x', 'a_b', 'a b', 'a.b', 'x'.repeat(64)])(
    'refuses egress rule name %j',
    (name) => {
      const m = { ...base(), egress: { [name]: { ports: [443], comment: 'x' } } };
      expect(() => serverManifest({ mcpFleet: m })).toThrow(/egress/);
      expect(() => readServers(rootWith([m]))).toThrow();
    },
  );

  it.each([0, -1, 65536, 1.5])('refuses egress port %s', (port) => {
    const m = { ...base(), egress: { https: { ports: [port], comment: 'x' } } };
    expect(() => serverManifest({ mcpFleet: m })).toThrow();
    expect(() => readServers(rootWith([m]))).toThrow();
  });

  it.each([80, 1023, 65536, 7401.5])('the chart generator refuses server port %s', (port) => {
    expect(() => readServers(rootWith([{ ...base(), port }]))).toThrow();
  });
});

describe('secret variables', () => {
  const CORE = [
    ...Object.keys(coreEnvSchema.shape),
    'NODE_OPTIONS',
    'NODE_ENV',
    'NODE_TLS_REJECT_UNAUTHORIZED',
  ];
  it.each(CORE)('refuses secretEnv %s (core or Node reads it)', (name) => {
    const m = { ...base(), secretEnv: { [name]: { key: 'k', description: 'x' } } };
    expect(() => serverManifest({ mcpFleet: m })).toThrow(/secretEnv/);
    expect(() => readServers(rootWith([m]))).toThrow(/secretEnv/);
  });
  it("core's list is its config loader's keys, and the chart's schema refuses the same list", () => {
    expect([...CORE_ENV_NAMES]).toEqual(Object.keys(coreEnvSchema.shape).sort());
    const schema = JSON.parse(
      readFileSync(join(ROOT, 'helm/mcp-fleet-lib/server-values.schema.json'), 'utf8'),
    );
    const refused = schema.properties.secretEnv.propertyNames.not.anyOf;
    expect(refused).toEqual([{ pattern: '^NODE_' }, { enum: [...CORE_ENV_NAMES] }]);
  });
  it.each(['lower', '_X', '1X', 'A-B'])('refuses secretEnv %j', (name) => {
    const m = { ...base(), secretEnv: { [name]: { key: 'k', description: 'x' } } };
    expect(() => serverManifest({ mcpFleet: m })).toThrow(/secretEnv/);
    expect(() => readServers(rootWith([m]))).toThrow();
  });
});

describe('defineServer and discovery', () => {
  const manifest = { ...serverManifest({ mcpFleet: base() }), version: '1.0.0' };
  it.each([
    ['name', { name: 'database' }],
    ['defaultPort', { defaultPort: 7401 }],
    ['version', { version: '9.9.9' }],
  ])('a definition may not set its own %s', (_, extra) => {
    expect(() =>
      defineServer(manifest, { tools: [], ...extra } as unknown as Parameters<typeof defineServer>[1]),
    ).toThrow(/package.json#mcpFleet/);
    expect(defineServer(manifest, { tools: [] }).name).toBe('probe');
  });

  it.each(['0x1f40', '1e4', '80', '70000', 'abc'])('discovery refuses FLEET_PORT_PROBE=%j', (value) => {
    const root = rootWith([base()]);
    process.env.FLEET_PORT_PROBE = value;
    try {
      expect(() => discoverServers(root)).toThrow(/FLEET_PORT_PROBE/);
    } finally {
      delete process.env.FLEET_PORT_PROBE;
    }
  });

  it('discovery refuses two packages with the same name or the same port', () => {
    expect(() => discoverServers(rootWith([base(), { ...base(), port: 7991 }]))).toThrow(/probe/);
    expect(() => discoverServers(rootWith([base(), { ...base(), name: 'other' }]))).toThrow(/7990/);
    expect(discoverServers(rootWith([base(), { ...base(), name: 'other', port: 7991 }]))).toHaveLength(2);
  });
});

/** A copy of this checkout's generator inputs (scripts, helm, deploy, server manifests). */
function repoCopy(): string {
  const copy = mkdtempSync(join(tmpdir(), 'fleet-new-tx-'));
  scratch.push(copy);
  for (const f of ['package.json', 'biome.json']) cpSync(join(ROOT, f), join(copy, f));
  for (const d of ['scripts', 'helm', 'deploy'])
    cpSync(join(ROOT, d), join(copy, d), {
      recursive: true,
      filter: (s) => !/[\\/]charts([\\/]|$)|Chart\.lock$/.test(s),
    });
  for (const s of discoverServers()) {
    const dir = join(copy, 'servers', s.dir.split('/').pop()!);
    mkdirSync(dir, { recursive: true });
    cpSync(join(s.dir, 'package.json'), join(dir, 'package.json'));
  }
  symlinkSync(join(ROOT, 'node_modules'), join(copy, 'node_modules'));
  return copy;
}

/** Every file under `dir` (node_modules aside) with its content. */
function snapshot(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string) => {
    for (const e of readdirSync(d)) {
      if (e === 'node_modules') continue;
      const p = join(d, e);
      if (statSync(p).isDirectory()) walk(p);
      else out.set(relative(dir, p), readFileSync(p, 'utf8'));
    }
  };
  walk(dir);
  return out;
}

describe('fleet new server', () => {
  it.each([7400, 7432, 5432, 6379])('refuses port %s (the fleet uses it locally)', (port) => {
    const copy = repoCopy();
    expect(() => newServer({ name: 'billing', port, root: copy, install: false })).toThrow(/port/);
  });

  it.each(['0x1d4c', '1e4', '7406.0', ' 7406', '+7406', '7406abc', ''])('refuses --port %j', async (port) => {
    const copy = repoCopy();
    const before = snapshot(copy);
    let code: number | undefined;
    try {
      code = await newCommand(['server', 'billing', '--port', port, '--root', copy, '--no-install']);
    } catch {
      code = -1;
    }
    expect(code).not.toBe(0);
    expect(snapshot(copy)).toEqual(before);
  });

  it.each(BREAKERS.map((c) => [show(c), c]))('refuses a --description holding %s', (_, bad) => {
    const copy = repoCopy();
    const before = snapshot(copy);
    expect(() =>
      newServer({
        name: 'billing',
        description: `Billing.${bad}dependencies:${bad}  - repository: https://evil.example`,
        root: copy,
        install: false,
      }),
    ).toThrow();
    expect(snapshot(copy)).toEqual(before);
  });

  it('writes nothing when an edit fails part-way (a policy with YAML aliases), and can be re-run', () => {
    const copy = repoCopy();
    const policy = join(copy, 'deploy/policies/example.yaml');
    const good = readFileSync(policy, 'utf8');
    // The analyst's read constraints shared, through an alias, with a grant on every server.
    const aliased = good
      .replace(/(\n {2}analyst:[\s\S]*?access: read\n {8}constraints:)/, '$1 &analystRead')
      .replace(
        '- servers: [database]\n        tools: [save_dashboard]\n        constraints: { database.schemas: "*" }',
        '- servers: ["*"]\n        tools: [save_dashboard]\n        constraints: *analystRead',
      );
    expect(aliased).toContain('&analystRead');
    expect(aliased).toContain('*analystRead');
    writeFileSync(policy, aliased);
    const before = snapshot(copy);
    for (const name of ['billing', 'communication'])
      expect(() => newServer({ name, root: copy, install: false })).toThrow();
    expect(snapshot(copy)).toEqual(before);
    // What an interrupted earlier run (or pnpm) may leave: an ignored node_modules alone.
    mkdirSync(join(copy, 'servers/billing/node_modules/.bin'), { recursive: true });
    writeFileSync(policy, good);
    expect(newServer({ name: 'billing', root: copy, install: false })).toContain(
      'servers/billing/package.json',
    );
    const check = spawnSync(process.execPath, [join(copy, 'scripts/helm-charts.mjs'), '--check'], {
      cwd: copy,
      encoding: 'utf8',
    });
    expect(check.status, check.stderr).toBe(0);
  }, 60_000);

  it('puts back everything written when the chart generator fails after the files are written', () => {
    const copy = repoCopy();
    const plannedFile = join(copy, 'scripts/planned-servers.json');
    const planned = JSON.parse(readFileSync(plannedFile, 'utf8'));
    // A planned entry of this test's own (the checkout plans none now) that the generator refuses:
    // its egress rule takes the chart's own "redis".
    planned.servers = [
      {
        name: 'ledger',
        port: 7406,
        description: 'Planned in this test.',
        secretEnv: {},
        egress: { redis: { ports: [443], comment: 'x' } },
      },
    ];
    writeFileSync(plannedFile, `${JSON.stringify(planned, null, 2)}\n`);
    const before = snapshot(copy);
    for (const name of ['billing', planned.servers[0].name])
      expect(() => newServer({ name, root: copy, install: false })).toThrow(/helm-charts/);
    expect(snapshot(copy)).toEqual(before);
  }, 60_000);

  it('a generated chart carries the description as one quoted YAML string', () => {
    const copy = repoCopy();
    const description = 'Billing: invoices # and "refunds" - key: value';
    newServer({ name: 'billing', description, root: copy, install: false });
    const chart = parse(readFileSync(join(copy, 'helm/billing/Chart.yaml'), 'utf8'));
    expect(chart.description).toBe(`mcp-fleet billing MCP server: ${description}`);
    expect(chart.dependencies).toEqual([
      { name: 'mcp-fleet-lib', version: '0.1.0', repository: 'file://../mcp-fleet-lib' },
    ]);
    execFileSync(process.execPath, [join(copy, 'scripts/helm-charts.mjs'), '--check'], { cwd: copy });
  }, 60_000);
});
