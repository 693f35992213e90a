// Ctrl-C of `pnpm start`: the terminal sends SIGINT to the whole foreground process group. The
// fleet must stop its servers first, let them drain and flush their audit records, and stop its
// embedded PostgreSQL only then (issue 16, defect 2: PostgreSQL shared the group and stopped at
// once, and 32 of 40 calls in flight lost their audit records).
import { join } from 'node:path';
import { connectClient, startEmbeddedPostgres } from '@mcp-fleet/testkit';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { startLocalFleet } from './local-fleet.js';

describe('Ctrl-C of fleet start', () => {
  it('keeps the audit record of every call answered while the fleet was interrupted', async () => {
    const fleet = await startLocalFleet({ args: ['--only', 'files'], ownGroup: true });
    const url = fleet.urls.files!;
    const WORKERS = 8;
    const agents = Array.from({ length: WORKERS }, (_, i) => `interrupt-agent-${i}`);
    const tokens = await Promise.all(
      agents.map(async (agent) =>
        (await fleet.fleet('token', '--agent', agent, '--role', 'support', '--server', 'files')).trim(),
      ),
    );
    const answered = new Map<string, number>(agents.map((a) => [a, 0]));
    /** Each answered call's query (unique per call: it finds the call's record). */
    const answeredQueries = new Set<string>();
    // Each worker calls until the fleet stops answering it; every answer it got must be audited.
    const workers = agents.map(async (agent, i) => {
      const client = await connectClient('modern', url, tokens[i]!);
      try {
        for (let n = 0; ; n++) {
          // Distinct arguments: no answer comes from the result cache, each one is a served call.
          const query = `policy ${agent} ${n}`;
          await client.callTool('search_documents', { query });
          answered.set(agent, answered.get(agent)! + 1);
          answeredQueries.add(query);
        }
      } catch {
        // the fleet stopped answering (refused, reset or closed)
      } finally {
        await client.close().catch(() => {});
      }
    });
    // Interrupt under load, as a terminal does: SIGINT to the process group of `pnpm start`.
    while ([...answered.values()].reduce((a, b) => a + b, 0) < 100)
      await new Promise((r) => setTimeout(r, 20));
    process.kill(-fleet.pid, 'SIGINT');
    await Promise.all(workers);
    const code = await fleet.exited;

    // Read the fleet database once the fleet is gone: its PostgreSQL again, on the same data directory.
    const db = await startEmbeddedPostgres({
      dir: join(fleet.env.FLEET_DIR!, 'pg'),
      port: Number(fleet.env.FLEET_PG_PORT),
      persistent: true,
      log: () => {},
    });
    try {
      const client = new pg.Client({ connectionString: db.url.replace(/\/postgres$/, '/fleet') });
      await client.connect();
      const { rows } = await client.query<{ agent_id: string; query: string; n: number }>(
        `SELECT agent_id, arguments->>'query' AS query, count(*)::int AS n FROM audit_records
          WHERE agent_id LIKE 'interrupt-agent-%' AND outcome <> 'started' GROUP BY 1, 2`,
      );
      await client.end();
      const recorded = new Map(rows.map((r) => [r.query, r.n]));
      // Exactly one record per answered call (found by its query), never two for any call.
      expect(answeredQueries.size).toBeGreaterThanOrEqual(100);
      expect(
        [...answeredQueries].filter((q) => recorded.get(q) !== 1).map((q) => `${q}: ${recorded.get(q) ?? 0}`),
        'answered calls without exactly one record',
      ).toEqual([]);
      expect(
        rows.filter((r) => r.n !== 1),
        'calls with more than one record',
      ).toEqual([]);
      // A call the worker sent but got no answer to (the stop cut it) may have its record: one per
      // worker at most, its last.
      for (const agent of agents)
        expect(
          rows.filter((r) => r.agent_id === agent && !answeredQueries.has(r.query)).length,
          `${agent}: records of calls it got no answer to`,
        ).toBeLessThanOrEqual(1);
    } finally {
      await db.stop();
    }
    // A clean stop, not the exit code of a process killed by the signal (130).
    expect(code).toBe(0);
  }, 240_000);
});
