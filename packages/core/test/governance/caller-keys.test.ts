// Composite caller keys are injective: different (tenant, agent, user, session) tuples never share an
// in-flight call, an idempotency scope, a budget, a rate-limit counter or a session cache entry, however
// the parts are spelled (NUL, '-', ':', '|', '%', empty versus absent). And, over HTTP: another user
// of the same agent cannot cancel your call, and a session id "-" is not "no session".
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildCacheKey } from '../../src/cache/cache-key.js';
import { InflightCalls } from '../../src/cancellation/inflight-calls.js';
import type { ResolvedGovernance } from '../../src/governance/resolve.js';
import { callerKey, inflightKey, sessionKey, userKey } from '../../src/identity/caller-keys.js';
import type { Identity } from '../../src/identity/identity.js';
import { budgetChecks, rateLimitChecks } from '../../src/rate-limit/limit-checks.js';
import type { LimitCheck } from '../../src/rate-limit/limiter-pool.js';
import { rpc } from '../helpers.js';
import { Fleet, textOf, upstream } from './harness.js';

const tricky = fc.constantFrom(
  '',
  '-',
  ':',
  '|',
  '%',
  '%2D',
  '\u0000',
  'a\u0000b',
  'a:b',
  'a|b',
  '%3A',
  '"',
  '\\',
);
const part = fc.oneof(tricky, fc.string({ maxLength: 4 }), fc.string({ maxLength: 3, unit: 'binary' }));
const optional = fc.option(part, { nil: undefined });
const who = fc.record({ tenant: optional, agentId: part, user: optional, session: optional });
type Who = Pick<Identity, 'tenant' | 'agentId' | 'user' | 'session'>;
const rpcId = fc.oneof(fc.integer({ min: -3, max: 3 }), fc.constantFrom('1', '0', '-1', ''), part);

const identity = (w: Who): Identity => ({
  ...w,
  roles: ['r'],
  scopes: [],
  issuer: undefined,
  expiresAt: undefined,
  claims: {},
});
const all: Sourced = (value) => ({ value, source: 'test' });
type Sourced = <T>(value: T) => { value: T; source: string };
const settings = {
  perCallerPerMinute: all(10),
  perCallerToolPerMinute: all(10),
  globalPerMinute: all(10),
  perSession: all({ cost: 10, hours: 1 }),
  perWindow: all({ cost: 10, minutes: 1 }),
  cost: all(1),
} as unknown as ResolvedGovernance;
const limitKeys = (w: Who): string[] => {
  const out: LimitCheck[] = [];
  rateLimitChecks(out, 'srv', 'tool', callerKey(w), settings);
  budgetChecks(out, 'srv', callerKey(w), sessionKey(w), settings);
  return out.filter((c) => c.kind !== 'tool_global').map((c) => `${c.kind}=${c.key}`);
};
const sessionCacheKey = (w: Who) =>
  buildCacheKey({
    server: 'srv',
    tool: 'tool',
    argsHash: 'h',
    identity: identity(w),
    constraints: null,
    scope: 'session',
    session: sessionKey(w),
    extra: undefined,
  });

/** Each key builder and the identity parts it is keyed on. */
const builders: [
  string,
  (w: Who, id: string | number) => string,
  (w: Who, id: string | number) => unknown[],
][] = [
  ['in-flight', (w, id) => InflightCalls.key(w, id), (w, id) => [w.tenant, w.agentId, w.user, w.session, id]],
  ['in-flight (builder)', inflightKey, (w, id) => [w.tenant, w.agentId, w.user, w.session, id]],
  ['session', (w) => sessionKey(w), (w) => [w.tenant, w.agentId, w.user, w.session]],
  ['idempotency scope', (w) => userKey(w), (w) => [w.tenant, w.agentId, w.user]],
  ['caller', (w) => callerKey(w), (w) => [w.tenant, w.agentId]],
  [
    'rate limits and budgets',
    (w) => limitKeys(w).join('\n'),
    (w) => [w.tenant, w.agentId, w.user, w.session],
  ],
  ['session cache', (w) => sessionCacheKey(w), (w) => [w.tenant, w.agentId, w.user, w.session]],
];
// `undefined` and '' must stay apart: spell them differently in the comparison.
const same = (a: unknown[], b: unknown[]) =>
  JSON.stringify(a.map((x) => (x === undefined ? { absent: true } : x))) ===
  JSON.stringify(b.map((x) => (x === undefined ? { absent: true } : x)));

describe('composite caller keys', () => {
  it.each(builders)('%s keys are equal exactly when the identity parts are', (_n, build, parts) => {
    fc.assert(
      fc.property(who, who, rpcId, rpcId, (a, b, ia, ib) => {
        expect(build(a, ia) === build(b, ib)).toBe(same(parts(a, ia), parts(b, ib)));
      }),
      { numRuns: 3000 },
    );
  });

  it.each([
    [
      'NUL in the agent vs the tenant',
      { tenant: 'a\u0000x', agentId: 'y' },
      { tenant: 'a', agentId: 'x\u0000y' },
    ],
    ['session "-" vs none', { tenant: 't', agentId: 'a', session: '-' }, { tenant: 't', agentId: 'a' }],
    ['empty vs absent tenant', { tenant: '', agentId: 'a' }, { agentId: 'a' }],
    ['another user', { agentId: 'a', user: 'alice' }, { agentId: 'a', user: 'bob' }],
    ['":" moved between parts', { tenant: 'a:', agentId: 'b' }, { tenant: 'a', agentId: ':b' }],
  ])('tells apart %s', (_n, x, y) => {
    const a = { tenant: undefined, user: undefined, session: undefined, ...x } as Who;
    const b = { tenant: undefined, user: undefined, session: undefined, ...y } as Who;
    expect(InflightCalls.key(a, 1)).not.toBe(InflightCalls.key(b, 1));
    expect(sessionKey(a)).not.toBe(sessionKey(b));
    expect(sessionCacheKey(a)).not.toBe(sessionCacheKey(b));
  });
});

describe('over HTTP', () => {
  let fleet: Fleet;
  beforeAll(async () => {
    fleet = await Fleet.start({ count: 1 });
  });
  afterAll(async () => {
    await fleet?.close();
  });

  const call = (name: string, args: Record<string, unknown>, id: number) => ({
    jsonrpc: '2.0',
    id,
    method: 'tools/call',
    params: { name, arguments: args },
  });

  it.each([
    [
      'another user of the same agent',
      { sub: 'agent-shared', tenant: 'acme', user: 'alice' },
      { sub: 'agent-shared', tenant: 'acme', user: 'bob' },
    ],
  ])('%s cannot cancel your call', async (_n, victim, attacker) => {
    const s = fleet.replicas[0]!;
    const vt = await fleet.token({ ...victim, roles: ['operator'] });
    const at = await fleet.token({ ...attacker, roles: ['operator'] });
    const id = 700 + Math.floor(Math.random() * 1000);
    const started = upstream.slowStarted;
    const running = rpc(s.url, call('run_long_task', { ms: 400 }, id), { authorization: `Bearer ${vt}` });
    while (upstream.slowStarted === started) await new Promise((r) => setImmediate(r)); // it is running
    const cancel = await rpc(
      s.url,
      { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: id } },
      { authorization: `Bearer ${at}` },
    );
    expect(cancel.status).toBe(202);
    const r = await running;
    expect(r.body.result.isError).toBeFalsy();
    expect(textOf(r.body.result)).not.toMatch(/cancelled/);
  });

  it('a tenant/agent pair that would NUL-join the same is refused at the door, both halves', async () => {
    const s = fleet.replicas[0]!;
    for (const who of [
      { sub: 'y', tenant: 'a\u0000x' },
      { sub: 'x\u0000y', tenant: 'a' },
    ]) {
      const t = await fleet.token({ ...who, roles: ['operator'] });
      const r = await rpc(s.url, call('run_long_task', { ms: 1 }, 1), { authorization: `Bearer ${t}` });
      expect(r.status).toBe(401);
    }
  });

  it('does not serve a session-scoped result of the no-session caller to a token whose sid is "-"', async () => {
    const s = fleet.replicas[0]!;
    const none = await fleet.token({ sub: 'agent-sid', roles: ['operator'], tenant: 'acme' });
    const dash = await fleet.token({ sub: 'agent-sid', roles: ['operator'], tenant: 'acme', sid: '-' });
    const a = await rpc(s.url, call('get_session_view', { name: 'v' }, 1), {
      authorization: `Bearer ${none}`,
    });
    const b = await rpc(s.url, call('get_session_view', { name: 'v' }, 1), {
      authorization: `Bearer ${dash}`,
    });
    expect(b.body.result._meta?.['io.mcp-fleet/cache']).toBeUndefined();
    expect(textOf(b.body.result)).not.toBe(textOf(a.body.result));
  });
});
