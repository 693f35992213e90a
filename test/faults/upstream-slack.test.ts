// Fault injection under load, upstream Slack: the local fleet (communication and files) carries a fixed
// mixed load while the Slack simulator loses answers after posting, answers 429 with Retry-After,
// answers 503 until the breaker opens, and hangs; then it recovers. The verdict comes from the
// fleet's audit records and the simulator's own records (requests received, messages posted):
// - no double send: each post's text reached the channel at most once, a retry with the same
//   idempotency key included (Slack has no idempotency key of its own);
// - truthful audit: ok = posted once, error = not posted, unknown = the fleet cannot know;
// - Retry-After honoured: the post's retry reached Slack no sooner than Retry-After after the 429;
// - the breaker opens (calls fail fast, nothing reaches Slack) and closes again after recovery;
// - a hung Slack ends the post at its timeout, and other tools answer meanwhile;
// - every call outside Slack answered ok throughout; every answered call has exactly one record.
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  type CallResult,
  type CallSpec,
  codesOf,
  type LoadAgent,
  MARKER_SLOT,
  sentArguments,
} from '../load/traffic.js';
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

const HALF_OPEN_MS = 6_000;
let f: UpstreamFleet;
let slack: ReturnType<typeof simulator>;
let support: LoadAgent;
/** Every call this file made (its own and the load's), for the final verdict. */
const results: CallResult[] = [];
let load: ScenarioLoad;

const post = (text: string, key = `slack-fault-${randomUUID()}`): CallSpec => ({
  server: 'communication',
  tool: 'slack_post_message',
  kind: 'write',
  arguments: { channel: '#support-escalations', text },
  idempotencyKey: key,
});
const read: CallSpec = {
  server: 'communication',
  tool: 'slack_read_channel',
  kind: 'read',
  arguments: { channel: '#support-escalations', limit: 2 },
};
const call = async (spec: CallSpec) => {
  const r = await f.caller.call(support, spec, { timeoutMs: 40_000 });
  results.push(r);
  return r;
};
/** How many times `text` was posted (the simulator's channel) and asked for (requests received). */
const posted = async (text: string) =>
  (await outbox(f.hub)).filter((e) => e.system === 'slack' && e.text === text).length;
const asked = async (text: string) =>
  (await slack.requests()).filter(
    (r) => r.operation === 'chat.postMessage' && (r.params as { text?: string }).text === text,
  );

beforeAll(async () => {
  f = await startUpstreamFleet(['communication', 'files'], {
    COMMUNICATION_UPSTREAM_TIMEOUT_MS: '4000',
    COMMUNICATION_BREAKER_THRESHOLD: '5',
    COMMUNICATION_BREAKER_HALF_OPEN_MS: String(HALF_OPEN_MS),
    // The load posts into two channels; the per-destination cap is not what this scenario tests.
    COMMUNICATION_DESTINATION_PER_MINUTE: '10000',
  });
  expect(f.hub, f.fleet.output()).not.toBe('');
  slack = simulator(`${f.hub}/slack`);
  support = await f.caller.agent('support');
  load = startLoad(f, {
    ratePerSecond: 4,
    durationMs: 120_000,
    agents: 4,
    kinds: ['read', 'cached-read', 'write'],
    callTimeoutMs: 40_000,
  });
}, 120_000);

// A failed assertion must not leave Slack broken for the next scenario.
afterEach(async () => {
  await slack?.clear();
});

afterAll(async () => {
  await load?.abort();
  await f?.close();
});

describe('Slack failing under load', () => {
  it('a post whose answer is lost after it landed: unknown outcome, posted once, the same key sends nothing more', async () => {
    await slack.fault('chat.postMessage', { dropAfterCommit: true }, false);
    const text = `lost answer ${randomUUID()}`;
    const spec = post(text);
    const first = await call(spec);
    await slack.clear();
    expect(first.code, first.text).toMatch(/^upstream_/);
    expect(first.text).toMatch(/may or may not/);
    expect(await posted(text)).toBe(1);
    expect((await auditOf(f.target.fleetDbUrl, first)).outcome).toBe('unknown');
    // The same key again, Slack healthy now: the uncertainty is repeated, nothing is sent.
    const again = await call(spec);
    expect(again.code, again.text).toBe('idempotency_unknown');
    expect(await asked(text)).toHaveLength(1);
    expect(await posted(text)).toBe(1);
  });

  it('a 429 with Retry-After: the one retry comes no sooner than Retry-After; a refused post is not sent and its key is given back', async () => {
    await slack.fault('chat.postMessage', { rateLimit: 2 }, false);
    const text = `rate limited ${randomUUID()}`;
    const spec = post(text);
    const limited = await call(spec);
    await slack.clear();
    expect(limited.code, limited.text).toBe('upstream_rate_limited');
    expect(limited.text).toMatch(/retry after 2 s/);
    const tries = await asked(text);
    expect(tries).toHaveLength(2);
    expect(Date.parse(tries[1]!.at) - Date.parse(tries[0]!.at)).toBeGreaterThanOrEqual(2_000);
    expect(await posted(text)).toBe(0);
    expect((await auditOf(f.target.fleetDbUrl, limited)).outcome).toBe('error');
    // Nothing was sent, so the same key runs the post now.
    const later = await call(spec);
    expect(later.code, later.text).toBe('ok');
    expect(await posted(text)).toBe(1);
  });

  it('503s open the breaker (calls fail fast, nothing reaches Slack), which closes again once Slack answers', async () => {
    await slack.fault('*', { status: 503 }, false);
    await waitUntil(
      'the Slack breaker opens',
      async () => (await breakerState(f.target.urls.communication!, 'slack')) === 2,
      {
        poke: () => call(read),
      },
    );
    const text = `while open ${randomUUID()}`;
    const paused = await call(post(text));
    const pausedRead = await call(read);
    expect(paused.code, paused.text).toBe('upstream_unavailable');
    expect(paused.text).toMatch(/paused/);
    expect(pausedRead.text).toMatch(/paused/);
    expect(await asked(text)).toHaveLength(0);
    expect((await auditOf(f.target.fleetDbUrl, paused)).outcome).toBe('error');

    await slack.clear();
    await waitUntil(
      'the Slack breaker closes',
      async () => (await breakerState(f.target.urls.communication!, 'slack')) === 0,
      { timeoutMs: HALF_OPEN_MS + 20_000, poke: () => call(read) },
    );
    const back = `after recovery ${randomUUID()}`;
    expect((await call(post(back))).code).toBe('ok');
    expect(await posted(back)).toBe(1);
  });

  it('a hung Slack: the post ends at its timeout with an unknown outcome, and other tools answer meanwhile', async () => {
    await slack.fault('chat.postMessage', { hang: true }, false);
    const text = `hung ${randomUUID()}`;
    const order: string[] = [];
    const hung = call(post(text)).then((r) => {
      order.push('hung post');
      return r;
    });
    await waitUntil('the post reaches the hung Slack', async () => (await asked(text)).length === 1);
    const others = await Promise.all([
      call({
        server: 'communication',
        tool: 'create_ticket',
        kind: 'write',
        arguments: { project: 'SUP', issue_type: 'Task', summary: `during the hang ${randomUUID()}` },
        idempotencyKey: `slack-fault-${randomUUID()}`,
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
    await slack.clear();
    expect(order).toEqual(['other tools', 'hung post']);
    expect(others.map((o) => o.code)).toEqual(['ok', 'ok']);
    expect(r.code, r.text).toBe('upstream_timeout');
    expect(await posted(text)).toBe(0);
    expect((await auditOf(f.target.fleetDbUrl, r)).outcome).toBe('unknown');
  });

  it('verdict: one record per call, no double send, truthful audit, nothing outside Slack failed', async () => {
    // Slack healthy again: the breaker closes, then the load runs on a little before it stops.
    await waitUntil(
      'the Slack breaker closes',
      async () => (await breakerState(f.target.urls.communication!, 'slack')) === 0,
      { timeoutMs: HALF_OPEN_MS + 20_000, poke: () => call(read) },
    );
    // A post without a key while Slack is healthy (the load sends such posts at random, and not
    // always outside a fault): its marker, in place of MARKER_SLOT, is what reaches the channel.
    const keyless = await call({ ...post(`keyless ${MARKER_SLOT}`), idempotencyKey: undefined });
    expect(keyless.code, keyless.text).toBe('ok');
    const loadResults = await load.finish();
    const all = [...results, ...loadResults];
    expect(loadResults.length).toBeGreaterThan(50);

    const verdict = await settledVerdict(f.target.fleetDbUrl, all);
    expect(verdict.ok, verdictText(verdict)).toBe(true);

    const outsideSlack = all.filter((r) => !r.tool.startsWith('slack_'));
    expect(outsideSlack.length).toBeGreaterThan(20);
    expect(codesOf(outsideSlack)).toEqual({ ok: outsideSlack.length });

    // Every post (the load's and this file's), grouped by idempotency key.
    const posts = all.filter((r) => r.tool === 'slack_post_message');
    const rows = await auditRows(f.target.fleetDbUrl, posts);
    const sent = await outbox(f.hub);
    const byKey = new Map<string, CallResult[]>();
    for (const r of posts) {
      const key = r.idempotencyKey ?? r.marker;
      byKey.set(key, [...(byKey.get(key) ?? []), r]);
    }
    const wrong: string[] = [];
    for (const [key, calls] of byKey) {
      // A post without a key carries its call's marker in place of MARKER_SLOT: match what was sent.
      const text = (sentArguments(calls[0]!) as { text: string }).text;
      const applied = sent.filter((e) => e.system === 'slack' && e.text === text).length;
      const outcomes = calls.flatMap((r) => (rows.get(r.marker) ?? []).map((x) => x.outcome));
      const why = untruthful(outcomes, applied);
      if (why) wrong.push(`${key} ${calls.map((c) => c.code)} [${outcomes}]: ${why}`);
    }
    expect(wrong).toEqual([]);
    expect(codesOf(posts).upstream_unavailable ?? 0).toBeGreaterThan(0);
  });
});
