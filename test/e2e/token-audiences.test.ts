// `fleet token --all` mints for the servers in this checkout, found by their manifests, never for a
// server that does not exist here (the CLI used to carry its own list of five names and ports).
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, expect, it } from 'vitest';
import { discoverServers, ROOT } from '../../packages/cli/src/layout.js';

const run = promisify(execFile);
const fleetDir = mkdtempSync(join(tmpdir(), 'fleet-token-'));
afterAll(() => rmSync(fleetDir, { recursive: true, force: true }));

async function token(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(
      process.execPath,
      [
        '--conditions=mcp-fleet-source',
        '--import',
        'tsx',
        join(ROOT, 'packages/cli/src/main.ts'),
        'token',
        ...args,
      ],
      { cwd: ROOT, env: { ...process.env, FLEET_DIR: fleetDir } },
    );
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

it('--all names exactly the servers of this checkout, each at its manifest port', async () => {
  const r = await token('--agent', 'a', '--role', 'support', '--all');
  expect(r.code, r.stderr).toBe(0);
  const claims = JSON.parse(Buffer.from(r.stdout.trim().split('.')[1]!, 'base64url').toString('utf8'));
  expect(claims.aud).toEqual(discoverServers().map((s) => `http://127.0.0.1:${s.manifest.port}/mcp`));
  expect(claims.aud.length).toBeGreaterThan(0);
});

it('refuses a server that is not in this checkout, naming the ones that are', async () => {
  const r = await token('--agent', 'a', '--role', 'support', '--server', 'no-such-server');
  expect(r.code).not.toBe(0);
  expect(r.stderr).toContain(
    `servers in this checkout: ${discoverServers()
      .map((s) => s.name)
      .join(', ')}`,
  );
});
