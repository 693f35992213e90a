// A `fleet start` killed with SIGKILL leaves its embedded PostgreSQL running, orphaned, on the
// fleet's data directory and port. The next start finds it by the data directory's postmaster.pid
// and stops it before starting its own (issue 16, defect 3: "did not start on port 7432").
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '@mcp-fleet/testkit';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT } from '../../packages/cli/src/layout.js';

const CHILD = join(ROOT, 'test/e2e/fixtures/embedded-pg-child.ts');
const children: ChildProcess[] = [];

/** Starts the embedded PostgreSQL in a child Node process and resolves with its admin URL. */
function startInChild(dir: string, port: number): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(
    process.execPath,
    ['--conditions=mcp-fleet-source', '--import', 'tsx', CHILD, dir, String(port)],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  children.push(child);
  let out = '';
  return new Promise((resolve, reject) => {
    const seen = (d: Buffer) => {
      out += d.toString();
      const m = /ready (\S+)/.exec(out);
      if (m) resolve({ child, url: m[1]! });
    };
    child.stdout?.on('data', seen);
    child.stderr?.on('data', seen);
    child.once('exit', (code) =>
      reject(new Error(`the child exited (${code}) before PostgreSQL was ready:\n${out}`)),
    );
  });
}

/** Whether `pid` runs (a zombie waiting for a parent that does not reap it has stopped). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  if (process.platform !== 'linux') return true;
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

async function selectOne(url: string): Promise<number> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query<{ one: number }>('SELECT 1 AS one')).rows[0]!.one;
  } finally {
    await c.end();
  }
}

let orphanPid: number | undefined;
afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
  await new Promise((r) => setTimeout(r, 1000));
  if (orphanPid && alive(orphanPid)) process.kill(orphanPid, 'SIGQUIT');
});

describe('an orphaned embedded PostgreSQL', () => {
  it('is found by its postmaster.pid and stopped, so the next start comes up on the same directory and port', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'fleet-orphan-pg-')), 'pg');
    const port = await freePort();
    const first = await startInChild(dir, port);
    expect(await selectOne(first.url)).toBe(1);
    orphanPid = Number(readFileSync(join(dir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    // As a terminal's `kill -9` of `pnpm start` does: the Node parent dies, PostgreSQL does not.
    first.child.kill('SIGKILL');
    await new Promise<void>((r) =>
      first.child.exitCode !== null || first.child.signalCode ? r() : first.child.once('exit', () => r()),
    );
    expect(alive(orphanPid)).toBe(true);
    expect(await selectOne(first.url)).toBe(1);

    const second = await startInChild(dir, port);
    expect(await selectOne(second.url)).toBe(1);
    expect(alive(orphanPid)).toBe(false);
    const now = Number(readFileSync(join(dir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    expect(now).not.toBe(orphanPid);
    second.child.kill('SIGTERM');
    await new Promise<void>((r) =>
      second.child.exitCode !== null ? r() : second.child.once('exit', () => r()),
    );
    expect(existsSync(join(dir, 'postmaster.pid'))).toBe(false);
  }, 120_000);
});
