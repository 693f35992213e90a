// Fault injection under load, upstream SMTP: the local fleet (communication and files) carries a fixed
// mixed load while the SMTP simulator defers and refuses mail, rate-limits it, takes a message and
// then drops the connection before its reply, hangs, and refuses connections until the breaker opens;
// then it recovers. Verdict from the fleet's audit records and the simulator's own records (SMTP
// stages received, messages accepted): each email accepted at most once per idempotency key, every
// audit outcome says what the server did, the breaker opens and closes, a hung server ends the send
// at its timeout while other tools answer, and nothing outside email failed.
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type CallResult, type CallSpec, codesOf, type LoadAgent } from '../load/traffic.js';
import { settledVerdict, verdictText } from '../load/verdict.js';
import {
  auditOf,
  auditRows,
  breakerState,
  outbox,
  type ScenarioLoad,
  simulator,
  startLoad,
  startUpstreamFleet,
  type UpstreamFleet,
  untruthful,
  waitUntil,
} from './upstream-lib.js';

const HALF_OPEN_MS = 5_000;
let f: UpstreamFleet;
let smtp: ReturnType<typeof simulator>;
let admin: LoadAgent;
const results: CallResult[] = [];
let load: ScenarioLoad;

const email = (subject: string, key = `smtp-fault-${randomUUID()}`): CallSpec => ({
  server: 'communication',
  tool: 'send_email',
  kind: 'write',
  arguments: { to: ['ops@example.com'], subject, text: 'fault scenario' },
  idempotencyKey: key,
});
const call = async (spec: CallSpec) => {
  const r = await f.caller.call(admin, spec, { timeoutMs: 40_000 });
  results.push(r);
  return r;
};
/** How many messages with this subject the SMTP server accepted. */
const accepted = async (subject: string) =>
  (await outbox(f.hub)).filter((e) => e.system === 'email' && e.title === subject).length;
/** SMTP sessions that reached MAIL FROM (each send attempt makes one). */
const mailCommands = async () => (await smtp.requests()).filter((r) => r.operation === 'smtp.mail').length;
const readyz = () => fetch(`${f.target.urls.communication}/readyz`).then((r) => r.text());

beforeAll(async () => {
  f = await startUpstreamFleet(['communication', 'files'], {
    COMMUNICATION_UPSTREAM_TIMEOUT_MS: '4000',
    COMMUNICATION_BREAKER_THRESHOLD: '5',
    COMMUNICATION_BREAKER_HALF_OPEN_MS: String(HALF_OPEN_MS),
    COMMUNICATION_DESTINATION_PER_MINUTE: '10000',
  });
  expect(f.hub, f.fleet.output()).not.toBe('');
  smtp = simulator(`${f.hub}/smtp`);
  admin = await f.caller.agent('admin');
  load = startLoad(f, {
    ratePerSecond: 4,
    durationMs: 120_000,
    agents: 4,
    kinds: ['read', 'cached-read', 'write'],
    callTimeoutMs: 40_000,
  });
}, 120_000);

afterEach(async () => {
  await smtp?.clear();
});

afterAll(async () => {
  await load?.abort();
  await f?.close();
});

describe('SMTP failing under load', () => {
  it.each([
    ['deferred at DATA (451)', 'data', { status: 451 }, 'upstream_unavailable'],
    ['refused at DATA (554)', 'data', { status: 554 }, 'upstream_rejected'],
    ['rate-limited (421)', 'mail', { rateLimit: 60 }, 'upstream_rate_limited'],
  ] as const)(
    'a message %s is not sent, audited as an error, and its key sends it once mail flows again',
    async (what, stage, fault, code) => {
      const subject = `${what} ${randomUUID()}`;
      const spec = email(subject);
      await smtp.fault(stage, fault);
      const refused = await call(spec);
      expect(refused.code, refused.text).toBe(code);
      expect(refused.text).toMatch(/not sent/);
      if (code === 'upstream_rate_limited') expect(refused.text).toMatch(/retry after \d+ s/);
      expect(await accepted(subject)).toBe(0);
      expect((await auditOf(f.target.fleetDbUrl, refused)).outcome).toBe('error');
      const again = await call(spec);
      expect(again.code, again.text).toBe('ok');
      expect(await accepted(subject)).toBe(1);
    },
  );

  it('a message taken before the connection dropped: unknown outcome, accepted once, the same key opens no session', async () => {
    const subject = `taken, reply lost ${randomUUID()}`;
    const spec = email(subject);
    await smtp.fault('data', { dropAfterCommit: true });
    const lost = await call(spec);
    expect(lost.code, lost.text).toMatch(/^upstream_/);
    expect(lost.text).toMatch(/may or may not have been sent/);
    expect(await accepted(subject)).toBe(1);
    expect((await auditOf(f.target.fleetDbUrl, lost)).outcome).toBe('unknown');
    const sessions = await mailCommands();
    const again = await call(spec);
    expect(again.code, again.text).toBe('idempotency_unknown');
    expect(await mailCommands()).toBe(sessions);
    expect(await accepted(subject)).toBe(1);
  });

  it('a hung SMTP server: the send ends at its timeout with an unknown outcome, and other tools answer meanwhile', async () => {
    const subject = `hung ${randomUUID()}`;
    await smtp.fault('data', { hang: true });
    const order: string[] = [];
    const sessions = await mailCommands();
    const hung = call(email(subject)).then((r) => {
      order.push('hung send');
      return r;
    });
    await waitUntil('the send reaches the hung server', async () => (await mailCommands()) > sessions);
    const others = await Promise.all([
      call({
        server: 'communication',
        tool: 'slack_post_message',
        kind: 'write',
        arguments: { channel: '#support-escalations', text: `during the SMTP hang ${randomUUID()}` },
        idempotencyKey: `smtp-fault-${randomUUID()}`,
      }),
      call({
        server: 'files',
        tool: 'read_document',
        kind: 'read',
        arguments: { path: 'docs/support/faq.txt' },
      }),
    ]);
    order.push('other tools');
    const r = await hung;
    expect(order).toEqual(['other tools', 'hung send']);
    expect(others.map((o) => o.code)).toEqual(['ok', 'ok']);
    expect(r.code, r.text).toBe('upstream_timeout');
    expect(await accepted(subject)).toBe(0);
    expect((await auditOf(f.target.fleetDbUrl, r)).outcome).toBe('unknown');
  });

  it('a server refusing sessions opens the breaker (sends fail fast, no session), which closes once it answers', async () => {
    await smtp.fault('connect', { status: 421 }, false);
    await waitUntil(
      'the email breaker opens',
      async () => (await breakerState(f.target.urls.communication!, 'email')) === 2,
      { poke: () => call(email(`until the breaker opens ${randomUUID()}`)) },
    );
    const sessions = (await smtp.requests()).length;
    const subject = `while open ${randomUUID()}`;
    const paused = await call(email(subject));
    expect(paused.code, paused.text).toBe('upstream_unavailable');
    expect(paused.text).toMatch(/paused/);
    expect((await smtp.requests()).length).toBe(sessions);
    expect((await auditOf(f.target.fleetDbUrl, paused)).outcome).toBe('error');

    await smtp.clear();
    // The readiness probe (SMTP verify, through the breaker) is the trial that closes it.
    await waitUntil(
      'the email breaker closes',
      async () => (await breakerState(f.target.urls.communication!, 'email')) === 0,
      { timeoutMs: HALF_OPEN_MS + 20_000, poke: readyz },
    );
    const back = `after recovery ${randomUUID()}`;
    expect((await call(email(back))).code).toBe('ok');
    expect(await accepted(back)).toBe(1);
  });

  it('verdict: one record per call, no double send, truthful audit, nothing outside email failed', async () => {
    const loadResults = await load.finish();
    const all = [...results, ...loadResults];
    expect(loadResults.length).toBeGreaterThan(50);

    const verdict = await settledVerdict(f.target.fleetDbUrl, all);
    expect(verdict.ok, verdictText(verdict)).toBe(true);

    const outside = all.filter((r) => r.tool !== 'send_email');
    expect(outside.length).toBeGreaterThan(20);
    expect(codesOf(outside)).toEqual({ ok: outside.length });

    const sends = all.filter((r) => r.tool === 'send_email');
    const rows = await auditRows(f.target.fleetDbUrl, sends);
    const sent = await outbox(f.hub);
    const byKey = new Map<string, CallResult[]>();
    for (const r of sends) byKey.set(r.idempotencyKey!, [...(byKey.get(r.idempotencyKey!) ?? []), r]);
    const wrong: string[] = [];
    for (const [key, calls] of byKey) {
      const subject = (calls[0]!.arguments as { subject: string }).subject;
      const applied = sent.filter((e) => e.system === 'email' && e.title === subject).length;
      const outcomes = calls.flatMap((r) => (rows.get(r.marker) ?? []).map((x) => x.outcome));
      const why = untruthful(outcomes, applied);
      if (why) wrong.push(`${key} ${calls.map((c) => c.code)} [${outcomes}]: ${why}`);
    }
    expect(wrong).toEqual([]);
  });
});
