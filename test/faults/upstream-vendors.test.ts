// Fault injection under load, upstreams Stripe (vendor-apis' reads) and SCIM (admin's directory): the
// local fleet (vendor-apis, admin, files) carries a fixed mixed load while the Stripe simulator
// answers 429 with Retry-After, 503 until the breaker opens, and hangs, and the SCIM simulator loses
// a write's answer after applying it, answers a write 429 with Retry-After, and 503s until its
// breaker opens; each recovers. Verdict from the fleet's audit records and the simulators' own
// records (requests received with their times, the directory's state): reads retried no sooner than
// Retry-After, each directory change applied at most once per key and audited as what happened,
// breakers open (nothing reaches the vendor) and close, a hung vendor does not hold up other tools,
// and every call outside a faulted upstream's window answered ok.
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { STRIPE_DEMO } from '../../packages/simulators/src/index.js';
import { type CallResult, type CallSpec, codesOf, type LoadAgent } from '../load/traffic.js';
import { settledVerdict, verdictText } from '../load/verdict.js';
import {
  auditOf,
  breakerState,
  type ScenarioLoad,
  simulator,
  startLoad,
  startUpstreamFleet,
  type UpstreamFleet,
  waitUntil,
} from './upstream-lib.js';

const HALF_OPEN_MS = 5_000;
/** The fleet's per-attempt timeout for Stripe and SCIM in this scenario (the env below). */
const UPSTREAM_TIMEOUT_MS = 1_500;
/** The longest Retry-After a fault below asks for. */
const RETRY_AFTER_MAX_MS = 2_000;
let f: UpstreamFleet;
let stripe: ReturnType<typeof simulator>;
let scim: ReturnType<typeof simulator>;
let support: LoadAgent;
let admin: LoadAgent;
const results: CallResult[] = [];
let load: ScenarioLoad;
/** When each upstream was faulted (until its breaker had closed again): calls on it then may fail. */
const windows: Record<'stripe' | 'scim', [number, number][]> = { stripe: [], scim: [] };
let faultedSince: number | undefined;

const call = async (agent: LoadAgent, spec: CallSpec) => {
  const r = await f.caller.call(agent, spec, { timeoutMs: 40_000 });
  results.push(r);
  return r;
};
/** A Stripe read that no cache answers (a subscription id not asked before; unknown ids answer not found). */
const subscription = (id = `sub_fault${randomUUID().replace(/-/g, '').slice(0, 16)}`): CallSpec => ({
  server: 'vendor-apis',
  tool: 'stripe_get_subscription',
  kind: 'read',
  arguments: { subscription_id: id },
});
const getUser = (name: string): CallSpec => ({
  server: 'admin',
  tool: 'get_user',
  kind: 'read',
  arguments: { user_name: name },
});
const disable = (name: string, key = `scim-fault-${randomUUID()}`): CallSpec => ({
  server: 'admin',
  tool: 'disable_user',
  kind: 'write',
  arguments: { user_name: name },
  idempotencyKey: key,
});
const pathOf = (spec: CallSpec) =>
  `/v1/subscriptions/${(spec.arguments as { subscription_id: string }).subscription_id}`;
const stripeAsked = async (spec: CallSpec) =>
  (await stripe.requests()).filter((r) => r.path === pathOf(spec));
const userState = async (name: string) => {
  const res = await fetch(`${f.scim}/_simulator/state`);
  const state = (await res.json()) as { users: { id: string; userName: string; active: boolean }[] };
  return state.users.find((u) => u.userName === name)!;
};
const scimWrites = async (id: string) =>
  (await scim.requests()).filter((r) => r.method !== 'GET' && r.path.endsWith(`/Users/${id}`));
const fault = async (which: 'stripe' | 'scim', op: string, what: Record<string, unknown>, once = false) => {
  faultedSince ??= Date.now();
  await (which === 'stripe' ? stripe : scim).fault(op, what, once);
};
const closed = (which: 'stripe' | 'scim', server: string, poke: () => Promise<unknown>) =>
  waitUntil(
    `the ${which} breaker closes`,
    async () => (await breakerState(f.target.urls[server]!, which)) === 0,
    {
      timeoutMs: HALF_OPEN_MS + 20_000,
      poke,
    },
  );
/**
 * Ends an upstream's fault window. Attempts the load sent before the fault was cleared can still fail
 * afterwards (a hung one ends only at its timeout, a 429's retry waits out Retry-After) and count
 * toward the breaker, which may open again: seen in CI, where two load reads that started after the
 * window was closed found the breaker open. So the window ends only once every such attempt is over
 * (the upstream timeout and the longest Retry-After have passed) and the breaker is closed.
 */
const recovered = async (which: 'stripe' | 'scim') => {
  await (which === 'stripe' ? stripe : scim).clear();
  await sleep(UPSTREAM_TIMEOUT_MS + RETRY_AFTER_MAX_MS);
  await (which === 'stripe'
    ? closed('stripe', 'vendor-apis', () => call(support, subscription()))
    : closed('scim', 'admin', () => call(admin, getUser(`nobody-${randomUUID().slice(0, 8)}`))));
  if (faultedSince !== undefined) windows[which].push([faultedSince, Date.now()]);
  faultedSince = undefined;
};

beforeAll(async () => {
  f = await startUpstreamFleet(['vendor-apis', 'admin', 'files'], {
    VENDOR_APIS_STRIPE_TIMEOUT_MS: String(UPSTREAM_TIMEOUT_MS),
    VENDOR_APIS_READ_RETRIES: '2',
    VENDOR_APIS_BREAKER_THRESHOLD: '5',
    VENDOR_APIS_BREAKER_HALF_OPEN_MS: String(HALF_OPEN_MS),
    VENDOR_APIS_PROBE_TTL_MS: '0',
    SCIM_TIMEOUT_MS: String(UPSTREAM_TIMEOUT_MS),
    SCIM_BREAKER_THRESHOLD: '5',
    SCIM_BREAKER_HALF_OPEN_MS: String(HALF_OPEN_MS),
  });
  expect(f.stripe, f.fleet.output()).not.toBe('');
  expect(f.scim, f.fleet.output()).not.toBe('');
  stripe = simulator(f.stripe);
  scim = simulator(f.scim);
  support = await f.caller.agent('support');
  admin = await f.caller.agent('admin');
  load = startLoad(f, {
    ratePerSecond: 4,
    durationMs: 150_000,
    agents: 6,
    kinds: ['read', 'cached-read', 'write'],
    callTimeoutMs: 40_000,
  });
}, 120_000);

// A failed assertion must not leave a simulator broken for the next scenario (nor its window open).
afterEach(async () => {
  if (faultedSince === undefined) return;
  const since = faultedSince;
  await recovered('stripe');
  faultedSince = since;
  await recovered('scim');
});

afterAll(async () => {
  await load?.abort();
  await f?.close();
});

describe('Stripe failing under load (vendor-apis reads)', () => {
  it('429 with Retry-After: each retry reaches Stripe no sooner than Retry-After, and the answer says when to retry', async () => {
    await fault('stripe', 'subscriptions.retrieve', { rateLimit: 1 });
    const spec = subscription();
    const r = await call(support, spec);
    await recovered('stripe');
    expect(r.code, r.text).toBe('upstream_rate_limited');
    expect(r.text).toMatch(/retry after \d+ s/);
    const tries = (await stripeAsked(spec)).map((x) => Date.parse(x.at));
    expect(tries.length).toBeGreaterThanOrEqual(2);
    for (let i = 1; i < tries.length; i++) expect(tries[i]! - tries[i - 1]!).toBeGreaterThanOrEqual(1_000);
  });

  it('503s open the breaker (reads fail fast, nothing reaches Stripe), which closes once Stripe answers', async () => {
    await fault('stripe', '*', { status: 503 });
    await waitUntil(
      'the stripe breaker opens',
      async () => (await breakerState(f.target.urls['vendor-apis']!, 'stripe')) === 2,
      { poke: () => call(support, subscription()) },
    );
    const spec = subscription();
    const paused = await call(support, spec);
    expect(paused.code, paused.text).toBe('upstream_unavailable');
    expect(paused.text).toMatch(/paused/);
    expect(await stripeAsked(spec)).toHaveLength(0);
    expect((await auditOf(f.target.fleetDbUrl, paused)).outcome).toBe('error');
    await recovered('stripe');
    const back = await call(support, subscription(STRIPE_DEMO.subscriptions.pastDue));
    expect(back.code, back.text).toBe('ok');
  });

  it('a hung Stripe: the read ends at its timeout, and the directory and files answer meanwhile', async () => {
    await fault('stripe', 'subscriptions.retrieve', { hang: true });
    const spec = subscription();
    const order: string[] = [];
    const hung = call(support, spec).then((r) => {
      order.push('hung read');
      return r;
    });
    await waitUntil('the read reaches the hung Stripe', async () => (await stripeAsked(spec)).length > 0);
    const others = await Promise.all([
      call(admin, getUser('frank')),
      call(support, {
        server: 'files',
        tool: 'read_document',
        kind: 'read',
        arguments: { path: 'docs/support/faq.txt' },
      }),
    ]);
    order.push('other tools');
    const r = await hung;
    await recovered('stripe');
    expect(order).toEqual(['other tools', 'hung read']);
    expect(others.map((o) => o.code)).toEqual(['ok', 'ok']);
    // It reached the hung Stripe (awaited above) and ended there: at its timeout, or — when the load's
    // own reads, hanging on the same fault, made the breaker open during its retries (5 failures in a
    // row at 1.5 s each; seen in CI) — on the open breaker. Either way it ended, and nothing changed.
    expect(['upstream_timeout', 'upstream_unavailable'], r.text).toContain(r.code);
    if (r.code === 'upstream_timeout') expect(r.text).toMatch(/nothing was changed/);
  });
});

describe('the SCIM directory failing under load (admin writes)', () => {
  it('a change applied whose answer is lost: audited unknown, applied once, the same key changes nothing more', async () => {
    const before = await userState('dave');
    expect(before.active).toBe(true);
    await fault('scim', 'users.patch', { dropAfterCommit: true });
    const spec = disable('dave');
    const lost = await call(admin, spec);
    await recovered('scim');
    expect(lost.code, lost.text).toBe('upstream_uncertain');
    expect((await userState('dave')).active).toBe(false);
    expect(await scimWrites(before.id)).toHaveLength(1);
    expect((await auditOf(f.target.fleetDbUrl, lost)).outcome).toBe('unknown');
    const again = await call(admin, spec);
    expect(again.code, again.text).toBe('idempotency_unknown');
    expect(await scimWrites(before.id)).toHaveLength(1);
  });

  it('a write answered 429 with Retry-After: nothing applied, a retry hint, and the same key applies it once afterwards', async () => {
    const before = await userState('erin');
    expect(before.active).toBe(true);
    await fault('scim', 'users.patch', { rateLimit: 2 });
    const spec = disable('erin');
    const limited = await call(admin, spec);
    await recovered('scim');
    expect(limited.code, limited.text).toBe('upstream_rate_limited');
    expect(limited.text).toMatch(/retry after 2 s/);
    expect((await userState('erin')).active).toBe(true);
    expect((await auditOf(f.target.fleetDbUrl, limited)).outcome).toBe('error');
    const later = await call(admin, spec);
    expect(later.code, later.text).toBe('ok');
    expect((await userState('erin')).active).toBe(false);
    // Two PATCHes reached the directory: the refused one (429) and the one that applied.
    expect(await scimWrites(before.id)).toHaveLength(2);
  });

  it('503s open the directory breaker (nothing reaches it), which closes once it answers', async () => {
    await fault('scim', '*', { status: 503 });
    await waitUntil(
      'the scim breaker opens',
      async () => (await breakerState(f.target.urls.admin!, 'scim')) === 2,
      { poke: () => call(admin, getUser(`nobody-${randomUUID().slice(0, 8)}`)) },
    );
    const seen = (await scim.requests()).length;
    const paused = await call(admin, disable('ceo'));
    expect(paused.code, paused.text).toBe('upstream_unavailable');
    expect(paused.text).toMatch(/paused/);
    expect((await scim.requests()).length).toBe(seen);
    expect((await userState('ceo')).active).toBe(true);
    expect((await auditOf(f.target.fleetDbUrl, paused)).outcome).toBe('error');
    await recovered('scim');
    const back = await call(admin, getUser('grace'));
    expect(back.code, back.text).toBe('ok');
  });
});

describe('verdict', () => {
  it('one record per call, and every call outside a faulted upstream’s window answered ok', async () => {
    const loadResults = await load.finish();
    const all = [...results, ...loadResults];
    expect(loadResults.length).toBeGreaterThan(50);
    const verdict = await settledVerdict(f.target.fleetDbUrl, all);
    expect(verdict.ok, verdictText(verdict)).toBe(true);

    const upstreamOf = (r: CallResult) =>
      r.server === 'vendor-apis' && r.tool.startsWith('stripe_')
        ? 'stripe'
        : r.server === 'admin'
          ? 'scim'
          : undefined;
    const faulted = (r: CallResult) => {
      const u = upstreamOf(r);
      return u !== undefined && windows[u].some(([s, e]) => r.startedAt <= e && r.startedAt + r.ms >= s);
    };
    const unaffected = loadResults.filter((r) => !faulted(r));
    expect(unaffected.length).toBeGreaterThan(20);
    expect(codesOf(unaffected)).toEqual({ ok: unaffected.length });
  });
});
