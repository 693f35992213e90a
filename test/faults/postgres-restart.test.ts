// Fault under load: the fleet PostgreSQL (audit, idempotency, approvals) stopped and restarted while
// mixed traffic runs across all five servers. While it is away reads still answer (those whose results
// the flow policy labels answer flow_unavailable: their labels cannot be shared) and mutations are
// refused (no change runs unaudited); afterwards every answered call has exactly one durable audit
// record, every accepted mutation has its record and reached its upstream once, and an accepted
// idempotency key sent again after the restart replays instead of running again.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, type PostgresHandle, startEmbeddedPostgres } from '@mcp-fleet/testkit';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CallResult, codesOf, createCaller, resend, runTraffic } from '../load/traffic.js';
import { acceptedMutation, settledVerdict, verdictText } from '../load/verdict.js';
import { doubleSends, type LoadFleet, startLoadFleet, upstreamCount } from './lib/fleet.js';

const RATE = 20;
const DURATION_MS = 24_000;
/** When PostgreSQL is stopped, after the load started. */
const STOP_AT_MS = 7_000;
/** How long it stays away. */
const AWAY_MS = 7_000;

const dir = join(mkdtempSync(join(tmpdir(), 'fleet-fault-pg-')), 'pg');
let port: number;
let db: PostgresHandle | undefined;
let lf: LoadFleet;

/** The fleet's own PostgreSQL, on a fixed directory and port so it can be stopped and started again. */
const startDb = async () => {
  db = await startEmbeddedPostgres({ dir, port, persistent: true, detached: true, log: () => {} });
  return db;
};

beforeAll(async () => {
  port = await freePort();
  const admin = await startDb();
  const c = new pg.Client({ connectionString: admin.url });
  await c.connect();
  await c.query('CREATE DATABASE fleet');
  await c.end();
  lf = await startLoadFleet({
    env: { DATABASE_URL: `postgres://fleet:fleet@127.0.0.1:${port}/fleet` },
  });
}, 180_000);

afterAll(async () => {
  await lf?.fleet.stop();
  await db?.stop();
});

describe('the fleet PostgreSQL stopped and restarted under load', () => {
  it('reads answer while it is away, mutations are refused, and afterwards nothing is lost, doubled or run twice', async () => {
    let stoppedAt = Number.POSITIVE_INFINITY;
    let restartedAt = Number.POSITIVE_INFINITY;
    const fault = (async () => {
      await new Promise((r) => setTimeout(r, STOP_AT_MS));
      await db!.stop();
      stoppedAt = Date.now();
      await new Promise((r) => setTimeout(r, AWAY_MS));
      restartedAt = Date.now();
      await startDb();
    })();
    const results = await runTraffic({ target: lf.target, ratePerSecond: RATE, durationMs: DURATION_MS });
    await fault;

    // While it was away (calls started and answered between the stop and the restart).
    const away = results.filter((r) => r.startedAt > stoppedAt && r.startedAt + r.ms < restartedAt);
    const awayReads = away.filter((r) => r.kind === 'read' || r.kind === 'cached-read');
    const awayWrites = away.filter((r) => r.kind === 'write');
    expect(awayReads.length, JSON.stringify(codesOf(away))).toBeGreaterThan(10);
    // Reads answer (the audit records of reads are queued and flushed later). A read whose result the
    // policy's flow section labels (billing, customers, Stripe objects...) is the exception (issue 17):
    // its labels must reach the shared taint store, in this same database, before the agent gets the
    // data, or a later send on another server could not know what the session read. So it answers
    // `flow_unavailable` and hands out nothing; every other read answers ok.
    expect(
      awayReads
        .filter((r) => r.code !== 'ok' && r.code !== 'flow_unavailable')
        .map((r) => `${r.server}/${r.tool} ${r.code} ${r.text}`),
      JSON.stringify(codesOf(awayReads)),
    ).toEqual([]);
    expect(
      awayReads.filter((r) => r.code === 'ok').length,
      JSON.stringify(codesOf(awayReads)),
    ).toBeGreaterThan(5);
    // Mutations are refused: none ran without its record stored first.
    expect(awayWrites.length).toBeGreaterThan(0);
    // (the idempotency store, in the same database, says so first for a call with a key)
    const refusedCodes = ['store_unavailable', 'audit_unavailable'];
    expect(
      awayWrites.filter((r) => !refusedCodes.includes(r.code)),
      JSON.stringify(codesOf(awayWrites)),
    ).toEqual([]);
    // Before the stop and after the restart, writes are accepted.
    expect(results.some((r) => r.kind === 'write' && r.code === 'ok' && r.startedAt < stoppedAt)).toBe(true);
    expect(
      results.some((r) => r.kind === 'write' && r.code === 'ok' && r.startedAt > restartedAt + 2_000),
    ).toBe(true);

    // Accepted keys hold after the restart: the same call again replays, nothing new reaches Slack/Jira.
    const caller = await createCaller(lf.target);
    // (with an idempotency key: a send without one is a new send when sent again, by design)
    const accepted = results.filter(
      (r) =>
        acceptedMutation(r) &&
        r.idempotencyKey !== undefined &&
        (r.tool === 'slack_post_message' || r.tool === 'create_ticket'),
    );
    const before = accepted.filter((r) => r.startedAt < stoppedAt).slice(0, 6);
    expect(before.length).toBeGreaterThan(0);
    const again: CallResult[] = [];
    for (const r of before) again.push(await resend(caller, r));
    await caller.close();
    expect(
      again.map((r) => [r.code, r.replayed === true]),
      again.map((r) => r.text).join('\n'),
    ).toEqual(before.map(() => ['ok', true]));

    // Each withheld read is of a tool whose answered calls carry flow labels (read from their audit
    // records once the database is back), and none of them handed data out.
    const withheld = awayReads.filter((r) => r.code === 'flow_unavailable');
    if (withheld.length > 0) {
      const c = new pg.Client({ connectionString: lf.target.fleetDbUrl });
      await c.connect();
      try {
        const { rows } = await c.query<{ tool: string }>(
          `SELECT DISTINCT server || '/' || tool AS tool FROM audit_records
            WHERE outcome IN ('ok', 'cached') AND details->'flow'->'labels' IS NOT NULL`,
        );
        const labelled = new Set(rows.map((r) => r.tool));
        expect(withheld.filter((r) => !labelled.has(`${r.server}/${r.tool}`)).map((r) => r.tool)).toEqual([]);
      } finally {
        await c.end();
      }
      for (const r of withheld) expect(r.text).toMatch(/could not return its result/);
    }

    // The verdict, from the fleet's own records and the simulators' counters.
    const all = [...results, ...again];
    const v = await settledVerdict(lf.target.fleetDbUrl, all);
    expect(v.ok, verdictText(v)).toBe(true);
    const sends = await doubleSends(lf, all);
    expect(sends.checked).toBeGreaterThan(0);
    expect(sends.double, 'sent twice upstream').toEqual([]);
    expect(sends.lost, 'accepted but never sent').toEqual([]);
    // Sends without an idempotency key were among them (counted per call, by the marker they carry).
    expect(sends.checkedKeyless).toBeGreaterThan(0);
    // The other direction: everything the upstreams took has its call's final audit record.
    expect(sends.unrecorded, 'sent upstream without a final audit record').toEqual([]);
    // Every refund that ran was asked of Stripe once.
    const refunds = results.filter((r) => r.kind === 'approval' && r.code === 'ok').length;
    expect((await upstreamCount(lf)).refunds).toBe(refunds);
  }, 120_000);
});
