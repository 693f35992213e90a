// A real server with every signal the ops dashboard and alerts read: the governance test server plus
// one tool whose upstream (a closed loopback port) fails behind a real circuit breaker, with a fleet
// database, Redis, and the audit retention job on. `provokeAll` makes every series appear on /metrics
// by ordinary calls (used by ops-metrics.test.ts and by test/helm's dashboard/alert name checks).
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import {
  breakerCheck,
  defineTool,
  type ServerDefinition,
  UpstreamBreaker,
  UpstreamFailure,
} from '@mcp-fleet/core';
import { type BootedServer, bootServer, createTestDatabase } from '@mcp-fleet/testkit';
import pg from 'pg';
import { z } from 'zod';
import { ANOMALY_MIGRATIONS } from '../src/flow/anomaly-learner.js';
import { govPolicy, govServer, redisPrefix } from './governance/harness.js';
import { callMsg, rpc } from './helpers.js';

/** A port nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** Boots the ops server; `close` stops it and drops its database. */
export async function startOpsServer(o: { redisUrl?: string } = {}) {
  const port = await closedPort();
  const breaker = new UpstreamBreaker('ledger', { threshold: 2, halfOpenAfterMs: 600_000 });
  const ledger = defineTool({
    name: 'ledger_balance',
    title: 'Ledger balance',
    description: 'Reads a balance from the ledger upstream (down in this test). Read-only.',
    input: z.object({ account: z.string() }),
    governance: { readOnly: true },
    handler: async ({ account }) =>
      breaker.execute(async () => {
        try {
          const r = await fetch(`http://127.0.0.1:${port}/balance/${encodeURIComponent(account)}`);
          return { text: await r.text() };
        } catch (err) {
          throw new UpstreamFailure('ledger', 'unavailable', 'the ledger did not answer', { cause: err });
        }
      }),
  });
  const def: ServerDefinition<undefined> = {
    ...govServer,
    tools: [...(govServer.tools as never[]), ledger],
    readiness: () => [breakerCheck(breaker, 'Ledger')],
  };
  const db = await createTestDatabase('fleet_ops');
  // Anomaly scores (issue 17): the role `watched` has a learned baseline in which its sessions start
  // with echo_caller, and its changes and sends are held above 1 bit (reads are scored, never held);
  // the other roles are scored, never held.
  const seed = new pg.Client({ connectionString: db.url });
  await seed.connect();
  try {
    for (const m of ANOMALY_MIGRATIONS) await seed.query(m.sql);
    await seed.query(
      `INSERT INTO flow_baseline (scope, from_key, to_key, count, learned_at)
       VALUES ('role:watched', '^', 'govtest/echo_caller', 100, now())`,
    );
  } finally {
    await seed.end();
  }
  const policy = {
    ...govPolicy,
    roles: {
      ...govPolicy.roles,
      watched: { grants: [{ servers: ['govtest'], tools: ['echo_caller', 'write_ledger'] }] },
    },
    flow: { anomaly: { holdAbove: 1, minBaseline: 1, roles: ['watched'] } },
  };
  const server: BootedServer = await bootServer(def, {
    policy,
    databaseUrl: db.url,
    env: {
      AUDIT_RETENTION_DAYS: '30',
      ...(o.redisUrl ? { REDIS_URL: o.redisUrl, REDIS_KEY_PREFIX: redisPrefix() } : {}),
    },
  });
  const call = async (roles: string[], name: string, args: Record<string, unknown>, agent?: string) => {
    const token = await server.token({ sub: agent ?? `ops-${randomUUID().slice(0, 8)}`, roles });
    return rpc(server.url, callMsg(name, args), { authorization: `Bearer ${token}` });
  };
  const scrape = async () => (await fetch(`${server.baseUrl}/metrics`)).text();
  return {
    server,
    breaker,
    dbUrl: db.url,
    call,
    scrape,
    /**
     * Makes every series the dashboard and alerts read appear: calls, refusals, cache, approvals,
     * breaker, policy denials and reloads, authentication failures, anomaly scores and a call held for
     * its score (retention runs at start).
     */
    async provokeAll(): Promise<void> {
      await call(['reader'], 'echo_caller', { text: 'hi' });
      await call(['reader'], 'find_customer', { id: 'c-1' }); // cache miss
      await call(['reader'], 'find_customer', { id: 'c-1' }); // cache hit
      await call(['reader'], 'echo_caller', { text: 5 }); // invalid_arguments
      const throttled = `ops-throttled-${randomUUID().slice(0, 8)}`;
      for (let i = 0; i < 4; i++) await call(['throttled'], 'echo_caller', {}, throttled); // rate_limited
      const spender = `ops-spender-${randomUUID().slice(0, 8)}`;
      for (let i = 0; i < 5; i++) await call(['spender'], 'run_expensive_query', { q: 'x' }, spender); // budget
      await call(['operator'], 'refund_payment', { payment: 'p-ops', amount: 1 }); // awaiting approval
      for (let i = 0; i < 3; i++) await call(['reader'], 'ledger_balance', { account: 'a' }); // breaker opens
      await call(['reader'], 'transfer_funds', { account: 'a', amount: 1 }); // denied by policy
      // A change scored against the watched role's baseline (it starts with echo_caller): held as unusual.
      await call(['watched'], 'write_ledger', { entry: 'ops-anomaly', holdMs: 0, commitFirst: false });
      await rpc(server.url, callMsg('echo_caller', {})); // no token: an authentication failure
      // A broken policy file is refused (the previous policy stays), then the good one is back.
      server.writePolicy('version: 1\nroles: [not, a, map]\n');
      for (
        let i = 0;
        i < 400 && !sample(await scrape(), 'mcp_policy_reloads_total', { result: 'rejected' });
        i++
      )
        await new Promise((r) => setTimeout(r, 25));
      server.writePolicy(policy);
      for (let i = 0; i < 400 && sample(await scrape(), 'mcp_policy_reload_failed') !== 0; i++)
        await new Promise((r) => setTimeout(r, 25));
    },
    async close() {
      await server.close();
      await db.drop();
    },
  };
}

/** The value of one sample line of `name` whose labels include every one given, or undefined. */
export function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (!Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) continue;
    return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}
