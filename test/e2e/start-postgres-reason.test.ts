// When the embedded PostgreSQL cannot start, `pnpm start` shows PostgreSQL's own reason (the tail of
// its log) and exits non-zero (issue 14 leftover: it printed one generic guess, "is another fleet
// running?", whatever PostgreSQL had said, and the exit code was 0).
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '@mcp-fleet/testkit';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../../packages/cli/src/layout.js';

const run = promisify(execFile);
const CLI = ['--conditions=mcp-fleet-source', '--import', 'tsx', join(ROOT, 'packages/cli/src/main.ts')];

/** `fleet start --only files` on `fleetDir` and `pgPort`; resolves with its exit code and output. */
async function start(fleetDir: string, pgPort: number): Promise<{ code: number; out: string }> {
  const env: Record<string, string> = {
    ...(process.env as Record<string, string>),
    FLEET_DIR: fleetDir,
    FLEET_PG_PORT: String(pgPort),
    FLEET_ISSUER_PORT: String(await freePort()),
    FLEET_PORT_FILES: String(await freePort()),
  };
  delete env.DATABASE_URL;
  delete env.FLEET_ADMIN_DATABASE_URL;
  try {
    const r = await run(process.execPath, [...CLI, 'start', '--only', 'files'], {
      cwd: ROOT,
      env,
      timeout: 90_000,
    });
    return { code: 0, out: r.stdout + r.stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, out: err.stdout + err.stderr };
  }
}

describe('fleet start when the embedded PostgreSQL fails', () => {
  it("shows PostgreSQL's reason when its port is held by another program", async () => {
    const port = await freePort();
    const holder: Server = createServer();
    await new Promise<void>((r) => holder.listen(port, '127.0.0.1', r));
    try {
      const { code, out } = await start(mkdtempSync(join(tmpdir(), 'fleet-pg-held-')), port);
      expect(code, out).not.toBe(0);
      expect(out).toContain(`the embedded PostgreSQL did not start on port ${port}`);
      // PostgreSQL's own words, not a guess of ours.
      expect(out).toMatch(/could not bind IPv4 address "127\.0\.0\.1": Address already in use/);
      expect(out).toMatch(/FATAL: +could not create any TCP\/IP sockets/);
      expect(out).not.toMatch(/\n\s+at .+\(.+:\d+:\d+\)/); // no stack trace
      expect(out).not.toContain('The fleet is running');
    } finally {
      await new Promise((r) => holder.close(r));
    }
  }, 120_000);

  it("shows PostgreSQL's reason when the data directory is not a PostgreSQL data directory", async () => {
    // A data directory that claims to be one (PG_VERSION) but holds nothing else, as after a partial delete.
    const fleetDir = mkdtempSync(join(tmpdir(), 'fleet-pg-broken-'));
    mkdirSync(join(fleetDir, 'pg'), { recursive: true });
    writeFileSync(join(fleetDir, 'pg', 'PG_VERSION'), '18\n');
    const { code, out } = await start(fleetDir, await freePort());
    expect(code, out).not.toBe(0);
    expect(out).toContain(`PostgreSQL said:`);
    expect(out).toContain(
      `could not access the server configuration file "${join(fleetDir, 'pg', 'postgresql.conf')}"`,
    );
    expect(out).not.toContain('The fleet is running');
  }, 120_000);
});
