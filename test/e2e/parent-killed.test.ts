// `kill -9` of `pnpm start` alone (not its process group): its servers used to live on as orphans,
// answering calls until a write to their dead stdout pipe (EPIPE) ended them without flushing their
// audit. Each server now notices its parent is gone (its stdin pipe from `fleet start` closes) and
// shuts down as on SIGTERM: in-flight calls finish, the audit is flushed, the process exits. Every call
// answered before or after the kill, up to the servers' exit, has its final audit record (issue 16, H-1 c).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type LoadFleet, serverPids, startLoadFleet, until } from '../faults/lib/fleet.js';
import { type CallResult, codesOf, runTraffic } from '../load/traffic.js';
import { acceptedMutation, answered, auditVerdict, verdictText } from '../load/verdict.js';

/** Whether `pid` runs (a zombie has stopped). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

const leftBehind: number[] = [];
let fleet: LoadFleet | undefined;

afterAll(async () => {
  for (const pid of leftBehind) if (alive(pid)) process.kill(pid, 'SIGKILL');
  if (!fleet) return;
  if (fleet.fleet.pid && alive(fleet.fleet.pid)) process.kill(-fleet.fleet.pid, 'SIGKILL');
  // The embedded PostgreSQL runs outside the fleet's process group: it outlives a kill -9 of it.
  try {
    const pgPid = Number(
      readFileSync(join(fleet.fleet.env.FLEET_DIR!, 'pg', 'postmaster.pid'), 'utf8').split('\n')[0],
    );
    if (pgPid > 0 && alive(pgPid)) process.kill(pgPid, 'SIGQUIT');
  } catch {
    // not started, or gone
  }
});

describe('kill -9 of pnpm start alone', () => {
  it('every server notices, flushes its audit and exits; every answered call has its final record', async () => {
    fleet = await startLoadFleet({ ownGroup: true, args: ['--only', 'communication,database'] });
    const pids = [...serverPids(fleet.fleet.pid).values()].flat();
    expect(pids.length).toBeGreaterThanOrEqual(2);
    leftBehind.push(...pids);

    const results: CallResult[] = [];
    const stopLoad = new AbortController();
    const load = runTraffic({
      target: fleet.target,
      ratePerSecond: 15,
      durationMs: 60_000,
      callTimeoutMs: 10_000,
      kinds: ['read', 'cached-read', 'write'],
      signal: stopLoad.signal,
      onResult: (r) => results.push(r),
    });
    await until('some load answered', async () => (results.filter(answered).length >= 40 ? true : undefined));

    // As `kill -9 <pid of pnpm start>` from another terminal: the parent only.
    process.kill(fleet.fleet.pid, 'SIGKILL');
    expect(await fleet.fleet.exited).toBe(null);
    const survivors = await until(
      'every server exits once its parent is gone',
      async () => (pids.every((p) => !alive(p)) ? [] : undefined),
      30_000,
    ).catch(() => pids.filter(alive));
    expect(survivors, 'servers still running after their parent was killed').toEqual([]);
    stopLoad.abort();
    const all = await load;

    // Every answered call (before the kill, or after it until its server exited) has its final
    // record: a `started` row alone is not one (the verdict counts final records only).
    const done = all.filter(answered);
    expect(done.length, JSON.stringify(codesOf(all))).toBeGreaterThanOrEqual(40);
    expect(done.filter(acceptedMutation).length, JSON.stringify(codesOf(all))).toBeGreaterThan(0);
    const v = await auditVerdict(fleet.target.fleetDbUrl, all);
    expect(
      {
        missing: v.missing.length,
        duplicated: v.duplicated.length,
        acceptedMutationsWithoutRecord: v.acceptedMutationsWithoutRecord.length,
      },
      verdictText(v),
    ).toEqual({ missing: 0, duplicated: 0, acceptedMutationsWithoutRecord: 0 });
  }, 150_000);
});
