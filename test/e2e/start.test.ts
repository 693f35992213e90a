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

  it('serves every server to a support token from `fleet token`, over both eras', async () => {
    for (const [name, url] of Object.entries(fleet.urls)) {
      const token = (
        await fleet.fleet('token', '--agent', 'e2e-agent', '--role', 'support', '--server', name)
      ).trim();
      for (const era of ['modern', 'legacy'] as const) {
        const client = await connectClient(era, url, token);
        const { tools } = await client.listTools();
        expect(tools.length, `${name} lists tools for support`).toBeGreaterThan(0);
        // Empty arguments: whatever the tool, the call is admitted and audited.
        await client.callTool(tools[0]!.name, {}).catch(() => undefined);
        await client.close();
      }
    }
  });

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
      // The same question asked of the embedded warehouse directly.
      const direct = new pg.Client({
        connectionString: `postgres://fleet:fleet@127.0.0.1:${fleet.env.FLEET_PG_PORT}/warehouse`,
      });
      await direct.connect();
      const { rows } = await direct.query<{ priority: string; n: string }>(
        "SELECT priority::text, count(*) AS n FROM support.tickets WHERE status IN ('new','open','pending','on_hold') GROUP BY 1",
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
    if (names.length < 2) return;
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
    for (const r of rows) if (r.allowed && !r.readOnly) expect(r.tool).toBe('create_ticket');
    expect((await fleet.fleet('policy', 'check')).trim()).toMatch(/valid/);
  });

  it('keeps the audit trail readable with `fleet audit`', async () => {
    // The calls of the tests above were audited (records reach PostgreSQL in batches of ~200 ms).
    let rows: { agent_id: string }[] = [];
    for (let i = 0; i < 5 && rows.length === 0; i++) {
      rows = JSON.parse(await fleet.fleet('audit', '--agent', 'e2e-agent', '--limit', '5', '--json'));
      if (rows.length === 0) await new Promise((r) => setTimeout(r, 500));
    }
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.every((r) => r.agent_id === 'e2e-agent')).toBe(true);
  });
});
