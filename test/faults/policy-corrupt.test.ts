// Fault under load: the policy file corrupted mid-run (a half-written edit that, were it applied,
// would take every grant from support) while mixed traffic runs across all five servers. Every
// server refuses the reload and keeps deciding by the policy in force: support's calls keep being
// allowed, every record names the policy in force; /readyz says the reload was refused (still
// serving: ready to take traffic, status degraded) and `mcp_policy_reload_failed` is 1. A fixed
// file is then picked up by every server. The verdict: nothing lost, doubled or unrecorded.
import { createHash } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../../packages/cli/src/layout.js';
import { type CallResult, codesOf, runTraffic } from '../load/traffic.js';
import { auditRows, settledVerdict, verdictText } from '../load/verdict.js';
import {
  countRows,
  doubleSends,
  type LoadFleet,
  metric,
  readyz,
  startLoadFleet,
  until,
} from './lib/fleet.js';

const short = (text: string) => createHash('sha256').update(text).digest('hex').slice(0, 12);
const policyFile = join(mkdtempSync(join(tmpdir(), 'fleet-fault-policy-')), 'policy.yaml');
copyFileSync(join(ROOT, 'deploy/policies/example.yaml'), policyFile);
const original = readFileSync(policyFile, 'utf8');
// Support's grants gone (the role renamed) — and the file cut off mid-edit: not YAML.
const corrupt = `${original.replace(/^ {2}support:\n/m, '  support_was_here:\n')}\n  analyst: { grants: [\n`;
const fixed = `${original}\n# edited: fixed after a refused reload\n`;

let lf: LoadFleet;

beforeAll(async () => {
  expect(corrupt).not.toBe(original);
  lf = await startLoadFleet({ env: { POLICY_FILE: policyFile, POLICY_POLL_MS: '300' } });
}, 180_000);

afterAll(async () => {
  await lf?.fleet.stop();
});

/** A server's `mcp_policy_reloads_total` for one result (applied, rejected); 0 before the first. */
async function reloads(url: string, result: 'applied' | 'rejected'): Promise<number> {
  // (the labels also carry the server's default label)
  const samples = [...(await metric(url, 'mcp_policy_reloads_total'))];
  return samples.filter(([labels]) => labels.includes(`result="${result}"`)).reduce((n, [, v]) => n + v, 0);
}

/** Each server's /readyz policy checks and its mcp_policy_reload_failed value. */
async function policyState() {
  return Promise.all(
    Object.entries(lf.target.urls).map(async ([server, url]) => {
      const r = await readyz(url);
      const checks = (r.body.checks ?? {}) as Record<string, string>;
      const failed = Math.max(...(await metric(url, 'mcp_policy_reload_failed')).values());
      return {
        server,
        status: r.status,
        state: r.body.status,
        policy: checks.policy,
        reload: checks.policy_reload,
        failed,
      };
    }),
  );
}

describe('a corrupt policy file under load', () => {
  it('keeps the policy in force on every server, says so on /readyz and in a metric, and picks up a fixed file', async () => {
    const inForce = short(original);
    for (const s of await policyState())
      expect(s, s.server).toMatchObject({ policy: `ok (${inForce})`, failed: 0 });

    const results: CallResult[] = [];
    let refusedEverywhereAt = Number.POSITIVE_INFINITY;
    let fixedAt = Number.POSITIVE_INFINITY;
    const load = runTraffic({
      target: lf.target,
      ratePerSecond: 20,
      durationMs: 24_000,
      onResult: (r) => results.push(r),
    });
    await until('some load answered', async () => (results.length >= 60 ? true : undefined));
    // No server has refused a reload before the corrupt write (its own counter).
    for (const [server, url] of Object.entries(lf.target.urls))
      expect(await reloads(url, 'rejected'), server).toBe(0);

    writeFileSync(policyFile, corrupt);
    const refused = await until('every server to refuse the reload', async () => {
      const states = await policyState();
      // (both signs: /readyz and the metric are read one after the other, a reload may fall between)
      return states.every((s) => s.failed === 1 && s.reload?.startsWith('refused')) ? states : undefined;
    });
    refusedEverywhereAt = Date.now();
    for (const s of refused) {
      // Still serving with the policy in force: in the pool (200), degraded, the refused file named.
      expect(s, s.server).toMatchObject({ status: 200, state: 'degraded', policy: `ok (${inForce})` });
      expect(s.reload, s.server).toMatch(new RegExp(`^refused \\(${short(corrupt)}\\)`));
    }
    // Decided by the policy in force while the file stays corrupt (support's grants included).
    await until('calls to be made under the corrupt file', async () =>
      results.filter((r) => r.startedAt > refusedEverywhereAt).length >= 80 ? true : undefined,
    );

    writeFileSync(policyFile, fixed);
    fixedAt = Date.now();
    const picked = await until('every server to pick up the fixed file', async () => {
      const states = await policyState();
      return states.every((s) => s.policy === `ok (${short(fixed)})` && s.failed === 0) ? states : undefined;
    });
    for (const s of picked)
      expect(s, s.server).toMatchObject({ status: 200, state: 'ready', reload: undefined, failed: 0 });
    const pickedAt = Date.now();
    const all = await load;

    // While the corrupt file was there, support kept being allowed what the policy in force allows.
    const during = all.filter((r) => r.startedAt > refusedEverywhereAt && r.startedAt + r.ms < fixedAt);
    const supportDuring = during.filter((r) => r.role === 'support');
    expect(supportDuring.length).toBeGreaterThan(5);
    expect(
      supportDuring.filter((r) => r.code !== 'ok'),
      JSON.stringify(codesOf(supportDuring)),
    ).toEqual([]);
    // ...and every record of those calls names the policy in force, never the refused file.
    const rows = await until('the records of the calls under the corrupt file', async () => {
      const rs = await auditRows(
        lf.target.fleetDbUrl,
        during.map((r) => r.marker),
      );
      return rs.length >= during.length ? rs : undefined;
    });
    expect(new Set(rows.map((r) => r.policyVersion))).toEqual(new Set([inForce]));
    // After the fix, records name the fixed file.
    const afterFix = all.filter((r) => r.startedAt > pickedAt);
    expect(afterFix.length).toBeGreaterThan(0);
    const fixedRows = await auditRows(
      lf.target.fleetDbUrl,
      afterFix.map((r) => r.marker),
    );
    expect(new Set(fixedRows.map((r) => r.policyVersion))).toEqual(new Set([short(fixed)]));
    // The fleet's own records of the refusal: every server counted the corrupt file as a rejected
    // reload (none before it was written) and the fixed one as applied; and no call, at any time of
    // the run, on any server, was decided by the corrupt file.
    for (const [server, url] of Object.entries(lf.target.urls)) {
      expect(await reloads(url, 'rejected'), server).toBeGreaterThanOrEqual(1);
      expect(await reloads(url, 'applied'), server).toBeGreaterThanOrEqual(1);
    }
    expect(
      await countRows(
        lf.target.fleetDbUrl,
        'SELECT count(*) AS n FROM audit_records WHERE policy_version = $1',
        [short(corrupt)],
      ),
    ).toBe(0);
    const beforeFix = all.filter((r) => r.startedAt + r.ms < fixedAt);
    const beforeFixRows = await until('the records of the calls before the fix', async () => {
      const rs = await auditRows(
        lf.target.fleetDbUrl,
        beforeFix.map((r) => r.marker),
      );
      return rs.length >= beforeFix.length ? rs : undefined;
    });
    expect(new Set(beforeFixRows.map((r) => r.policyVersion))).toEqual(new Set([inForce]));

    // The verdict of the whole run.
    const v = await settledVerdict(lf.target.fleetDbUrl, all);
    expect(v.ok, verdictText(v)).toBe(true);
    expect(
      all.filter((r) => r.code !== 'ok' && r.code !== 'awaiting_approval'),
      JSON.stringify(v.codes),
    ).toEqual([]);
    const sends = await doubleSends(lf, all);
    expect(sends.double, 'sent twice upstream').toEqual([]);
    expect(sends.lost, 'accepted but never sent').toEqual([]);
    // Sends without an idempotency key were among them (counted per call, by the marker they carry).
    expect(sends.checkedKeyless).toBeGreaterThan(0);
    // The other direction: everything the upstreams took has its call's final audit record.
    expect(sends.unrecorded, 'sent upstream without a final audit record').toEqual([]);
  }, 120_000);
});
