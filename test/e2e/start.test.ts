// The quick start, end to end: `fleet start` brings up every server on the embedded defaults, `fleet
// token` mints a token it accepts, real clients of both eras use it, and Ctrl-C stops everything.
import { connectClient } from '@mcp-fleet/testkit';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalFleet, startLocalFleet } from './local-fleet.js';

let fleet: LocalFleet;
beforeAll(async () => {
  fleet = await startLocalFleet();
}, 240_000);
afterAll(async () => {
  await fleet?.stop();
});

describe('fleet start', () => {
  it('reports every server ready', () => {
    for (const name of Object.keys(fleet.urls))
      expect(fleet.output()).toMatch(new RegExp(`${name}\\s+ready`));
  });

  // One read call per server that a support agent (or the role named) may make, with what its answer
  // must show. A server added to the fleet must be added here, or the first test below fails.
  const FIRST_CALLS: Record<
    string,
    { tool: string; args: Record<string, unknown>; shows: string; role?: string }
  > = {
    database: { tool: 'list_schemas', args: {}, shows: 'support' },
    files: { tool: 'list_folder', args: { path: '' }, shows: 'docs' },
    communication: { tool: 'get_ticket', args: { issue_key: 'SUP-1' }, shows: 'SUP-1' },
    'vendor-apis': {
      tool: 'stripe_search_customers',
      args: { email: 'billing@customer1.example.com' },
      shows: 'billing@customer1.example.com',
    },
    // Support reaches no admin tool (the example policy); an admin reads a person from the directory.
    admin: { tool: 'get_user', args: { user_name: 'alice' }, shows: 'alice', role: 'admin' },
  };

  it('serves every server to a support token from `fleet token`, over both eras, and audits each call once', async () => {
    expect(Object.keys(fleet.urls).sort()).toEqual(Object.keys(FIRST_CALLS).sort());
    const made: { agent: string; server: string; tool: string }[] = [];
    for (const [name, url] of Object.entries(fleet.urls)) {
      const first = FIRST_CALLS[name]!;
      for (const era of ['modern', 'legacy'] as const) {
        // One agent per server and era, so each call's audit record can be told apart.
        const agent = `e2e-agent-${name}-${era}`;
        const token = (
          await fleet.fleet('token', '--agent', agent, '--role', first.role ?? 'support', '--server', name)
        ).trim();
        const client = await connectClient(era, url, token);
        try {
          const { tools } = await client.listTools();
          expect(tools.map((t) => t.name)).toContain(first.tool);
          const result = await client.callTool(first.tool, first.args);
          expect(result.isError, `${name} ${first.tool}: ${JSON.stringify(result.content)}`).toBeFalsy();
          expect(JSON.stringify(result.structuredContent)).toContain(first.shows);
        } finally {
          await client.close();
        }
        made.push({ agent, server: name, tool: first.tool });
      }
    }
    // Each call is in the audit trail exactly once, as allowed and served (records reach
    // PostgreSQL in batches of ~200 ms, so read until they are all there).
    type Row = { agent_id: string | null; server: string; tool: string; decision: string; outcome: string };
    let rows: Row[] = [];
    for (let i = 0; i < 20; i++) {
      const all: Row[] = JSON.parse(await fleet.fleet('audit', '--limit', '1000', '--json'));
      rows = all.filter((r) => r.agent_id?.startsWith('e2e-agent-'));
      if (made.every((m) => rows.some((r) => r.agent_id === m.agent && r.outcome !== 'started'))) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    for (const m of made) {
      const mine = rows.filter((r) => r.agent_id === m.agent);
      expect(mine, m.agent).toHaveLength(1);
      expect(mine[0]).toMatchObject({ server: m.server, tool: m.tool, decision: 'allow' });
      // The second era's identical read may be served from the shared result cache.
      expect(['ok', 'cached']).toContain(mine[0]!.outcome);
    }
  }, 300_000); // each `fleet token` and `fleet audit` is a CLI process compiling through tsx

  it('lets a support agent answer "how many open tickets by priority" on the demo warehouse', async () => {
    const url = fleet.urls.database;
    expect(url, 'the database server is part of the fleet').toBeDefined();
    const token = (
      await fleet.fleet('token', '--agent', 'e2e-support', '--role', 'support', '--server', 'database')
    ).trim();
    const client = await connectClient('modern', url!, token);
    try {
      const tables = await client.callTool('list_tables', { schema: 'support' });
      expect(JSON.stringify(tables.structuredContent)).toContain('tickets');
      const answer = await client.callTool('run_query', {
        sql: "SELECT priority::text, count(*) AS n FROM support.tickets WHERE status IN ('new','open','pending','on_hold') GROUP BY 1 ORDER BY 1",
      });
      expect(answer.isError).toBeFalsy();
      const got = Object.fromEntries(
        (answer.structuredContent!.rows as [string, number][]).map(([p, n]) => [p, Number(n)]),
      );
      // The same question asked of the embedded warehouse directly, for the token's tenant
      // (`fleet token` mints tenant acme unless told otherwise): an agent sees its tenant's tickets.
      const direct = new pg.Client({
        connectionString: `postgres://fleet:fleet@127.0.0.1:${fleet.env.FLEET_PG_PORT}/warehouse`,
      });
      await direct.connect();
      const { rows } = await direct.query<{ priority: string; n: string }>(
        `SELECT t.priority::text, count(*) AS n FROM support.tickets t
           JOIN sales.customers c ON c.id = t.customer_id AND c.tenant = 'acme'
          WHERE t.status IN ('new','open','pending','on_hold') GROUP BY 1`,
      );
      await direct.end();
      expect(got).toEqual(Object.fromEntries(rows.map((r) => [r.priority, Number(r.n)])));
      expect(Object.keys(got).length).toBeGreaterThan(1);
    } finally {
      await client.close();
    }
  });

  it('refuses a token minted for another server', async () => {
    const names = Object.keys(fleet.urls);
    // The checkout ships two servers; the check needs both (it used to pass silently with one).
    expect(names).toEqual(expect.arrayContaining(['database', 'files']));
    const token = (
      await fleet.fleet('token', '--agent', 'e2e', '--role', 'support', '--server', names[0]!)
    ).trim();
    const res = await fetch(fleet.urls[names[1]!]!, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${token}`,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
    });
    expect(res.status).toBe(401);
  });

  it('explains the example policy from the servers’ own decision function', async () => {
    const out = await fleet.fleet('policy', 'explain', '--role', 'support', '--json');
    const rows = JSON.parse(out) as { server: string; tool: string; allowed: boolean; readOnly: boolean }[];
    expect(rows.length).toBeGreaterThan(0);
    for (const r of rows)
      if (r.allowed && !r.readOnly)
        expect([
          'create_ticket',
          'add_ticket_comment',
          'slack_post_message',
          'hubspot_create_note',
        ]).toContain(r.tool);
    expect((await fleet.fleet('policy', 'check')).trim()).toMatch(/valid/);
  });

  it('keeps the audit trail readable with `fleet audit`, filtered by agent', async () => {
    // The support question above made two calls as e2e-support (records arrive in batches).
    let rows: { agent_id: string; tool: string }[] = [];
    for (let i = 0; i < 10 && rows.length < 2; i++) {
      rows = JSON.parse(await fleet.fleet('audit', '--agent', 'e2e-support', '--limit', '50', '--json'));
      if (rows.length < 2) await new Promise((r) => setTimeout(r, 500));
    }
    expect(rows.map((r) => r.tool).sort()).toEqual(['list_tables', 'run_query']);
    expect(rows.every((r) => r.agent_id === 'e2e-support')).toBe(true);
  });
});
