// `fleet new server <name>`, run as a domain engineer runs it, into a temporary copy of this
// checkout (the repository itself is never written): the generated server type-checks and its own
// test passes (a real MCP client against the server booted with a dev issuer and the example
// policy), its chart is generated, the example policy reaches it only through the grants meant to,
// and names and ports already taken are refused.
//
// The copy holds the root configs, scripts/, helm/, deploy/ and the servers' manifests; packages/
// and node_modules are symlinks to this checkout's, so nothing is installed: the generated package
// resolves @mcp-fleet/core, testkit, zod and vitest through the root node_modules as it would after
// `pnpm install`. That keeps the test at tens of seconds on a 2-core runner.
import { execFile, execFileSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { newServer } from '../../packages/cli/src/commands/new.js';
import { discoverServers, ROOT } from '../../packages/cli/src/layout.js';

const run = promisify(execFile);
const NAME = 'demo-notes';
let copy: string;

/**
 * A planned server of this test's own (every server of the fleet is built now, so the checkout plans
 * none): written into the COPY's scripts/planned-servers.json, with its chart generated as
 * `helm-charts.mjs` writes a planned server's chart. Its port, 7406, is the first after the operator
 * contract's 7400-7405, so the server generated without a plan proves planned ports are kept.
 */
const PLANNED = {
  name: 'ledger',
  port: 7406,
  description: 'Planned in this test: the ledger of the demo company.',
  secretEnv: {
    LEDGER_API_KEY: { key: 'ledger-api-key', optional: true, description: 'Ledger API key.' },
  },
  egress: { https: { ports: [443], comment: 'The ledger API over HTTPS.' } },
};

/** Runs `fleet <args>` against the copy; resolves with the exit code and output, never rejects. */
async function fleet(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return node([join(ROOT, 'packages/cli/src/main.ts'), ...args, '--root', copy, '--no-install'], true);
}

async function node(
  args: string[],
  source = false,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const flags = source ? ['--conditions=mcp-fleet-source', '--import', 'tsx'] : [];
  try {
    const { stdout, stderr } = await run(process.execPath, [...flags, ...args], {
      cwd: copy,
      env: process.env,
      maxBuffer: 16 * 1024 * 1024,
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

beforeAll(() => {
  copy = mkdtempSync(join(tmpdir(), 'fleet-new-server-'));
  for (const f of [
    'package.json',
    'pnpm-workspace.yaml',
    'tsconfig.base.json',
    'biome.json',
    'vitest.config.ts',
  ])
    cpSync(join(ROOT, f), join(copy, f));
  for (const d of ['scripts', 'helm', 'deploy']) cpSync(join(ROOT, d), join(copy, d), { recursive: true });
  for (const s of discoverServers()) {
    const dir = join(copy, 'servers', s.dir.split('/').pop()!);
    mkdirSync(dir, { recursive: true });
    cpSync(join(s.dir, 'package.json'), join(dir, 'package.json'));
  }
  symlinkSync(join(ROOT, 'node_modules'), join(copy, 'node_modules'));
  symlinkSync(join(ROOT, 'packages'), join(copy, 'packages'));
  const plannedFile = join(copy, 'scripts/planned-servers.json');
  const planned = JSON.parse(readFileSync(plannedFile, 'utf8'));
  planned.servers = [...planned.servers, PLANNED];
  writeFileSync(plannedFile, `${JSON.stringify(planned, null, 2)}\n`);
  execFileSync(process.execPath, ['scripts/helm-charts.mjs'], { cwd: copy });
});
afterAll(() => {
  if (copy) rmSync(copy, { recursive: true, force: true });
});

describe('fleet new server', () => {
  it('generates a server that type-checks and passes its own test, with chart, policy stanza and docs', async () => {
    const r = await fleet('new', 'server', NAME, '--description', 'Notes for the demo.');
    expect(r.code, r.stderr).toBe(0);
    const dir = join(copy, 'servers', NAME);
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    // The first free port after the operator contract's 7400-7405 and the planned ledger's 7406
    // (planned servers' ports are kept).
    expect(pkg.mcpFleet).toMatchObject({ name: NAME, port: 7407, description: 'Notes for the demo.' });
    for (const f of [
      'src/main.ts',
      'src/definition.ts',
      'src/config.ts',
      'src/tools/list-items.ts',
      'test/list-items.test.ts',
    ])
      expect(existsSync(join(dir, f)), f).toBe(true);
    expect(readFileSync(join(copy, 'docs', `${NAME}.md`), 'utf8')).toContain('7407');

    // Its chart, and the umbrella knows it; the generator leaves the charts exactly as the script writes them.
    expect(parse(readFileSync(join(copy, 'helm', NAME, 'Chart.yaml'), 'utf8')).name).toBe(NAME);
    expect(readFileSync(join(copy, 'helm/mcp-fleet/Chart.yaml'), 'utf8')).toContain(`name: ${NAME}`);
    expect(parse(readFileSync(join(copy, 'helm/mcp-fleet/values.yaml'), 'utf8'))[NAME]).toEqual({
      enabled: true,
    });
    expect((await node(['scripts/helm-charts.mjs', '--check'])).code).toBe(0);

    // The example policy: the dimension key on the wildcard grants (narrow for read-only ones), nowhere else.
    const policy = parse(readFileSync(join(copy, 'deploy/policies/example.yaml'), 'utf8'));
    const key = `${NAME}.categories`;
    expect(policy.roles.support.grants[0].constraints[key]).toEqual({ categories: ['public'] });
    expect(policy.roles.admin.grants[0].constraints[key]).toBe('*');
    expect(policy.roles.support.grants[1].constraints?.[key]).toBeUndefined();

    // `pnpm typecheck` for the new package (and everything it imports).
    writeFileSync(
      join(copy, 'tsconfig.new.json'),
      JSON.stringify({
        extends: './tsconfig.base.json',
        compilerOptions: {
          noEmit: true,
          allowImportingTsExtensions: true,
          customConditions: ['mcp-fleet-source'],
        },
        include: [`servers/${NAME}/src`, `servers/${NAME}/test`],
      }),
    );
    const tsc = await node([join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.new.json']);
    expect(tsc.code, tsc.stdout + tsc.stderr).toBe(0);

    // `pnpm test` for the new package: its generated test, as generated.
    const test = await node([join(ROOT, 'node_modules/vitest/vitest.mjs'), 'run', `servers/${NAME}`]);
    expect(test.code, test.stdout + test.stderr).toBe(0);
    expect(test.stdout).toMatch(/Tests\s+.*2 passed/);
  }, 240_000);

  it('a planned server takes its planned port, secrets and egress, and leaves the planned list', async () => {
    // ledger is planned in the copy (communication, vendor-apis and admin were generated this way).
    const before = readFileSync(join(copy, 'helm/ledger/values.yaml'), 'utf8');
    const r = await fleet('new', 'server', 'ledger');
    expect(r.code, r.stderr).toBe(0);
    const m = JSON.parse(readFileSync(join(copy, 'servers/ledger/package.json'), 'utf8')).mcpFleet;
    expect(m.port).toBe(7406);
    expect(m.description).toBe(PLANNED.description);
    expect(m.secretEnv).toEqual(PLANNED.secretEnv);
    expect(m.egress).toEqual(PLANNED.egress);
    const planned = JSON.parse(readFileSync(join(copy, 'scripts/planned-servers.json'), 'utf8'));
    expect(planned.servers.map((p: { name: string }) => p.name)).not.toContain('ledger');
    // Its chart is the one it had as a planned server.
    expect(readFileSync(join(copy, 'helm/ledger/values.yaml'), 'utf8')).toBe(before);
    expect((await node(['scripts/helm-charts.mjs', '--check'])).code).toBe(0);
  }, 60_000);

  it('refuses a name or port that is taken, and an invalid name', () => {
    const gen = (name: string, port?: number) =>
      newServer({ name, ...(port ? { port } : {}), root: copy, install: false });
    expect(() => gen('files')).toThrow('server "files" already exists');
    expect(() => gen('billing', 7403)).toThrow('port 7403 is taken by server files');
    expect(() => gen('billing', 7405)).toThrow('port 7405 is taken by server admin');
    // ledger was generated from its plan by the test above.
    expect(() => gen('billing', 7406)).toThrow('port 7406 is taken by server ledger');
    expect(() => gen('billing', 7404)).toThrow('port 7404 is taken by server vendor-apis');
    expect(() => gen('billing', 7400)).toThrow('port 7400 is taken by the dev token issuer');
    expect(() => gen('Billing_API')).toThrow('invalid server name');
    expect(() => gen('mcp-fleet-lib')).toThrow('invalid server name');
    expect(existsSync(join(copy, 'servers/billing'))).toBe(false);
  });
});
