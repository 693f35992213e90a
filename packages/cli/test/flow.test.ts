// `fleet flow learn` and `fleet flow anomalies` against a real PostgreSQL: the trail's sessions are
// learned (and the counts are in flow_baseline), and the scored records are listed highest first, each
// with its session's earlier calls, the baseline that judged it and whether it was held; a session's
// control characters are shown escaped; bad options are usage errors.
import { randomUUID } from 'node:crypto';
import { ANOMALY_MIGRATIONS } from '@mcp-fleet/core/approvals';
import { CORE_MIGRATIONS, createLogger, migrate } from '@mcp-fleet/core/internal';
import { createTestDatabase } from '@mcp-fleet/testkit';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { flowCommand } from '../src/commands/flow.js';

const logger = createLogger({ level: 'silent' });
let db: { url: string; drop: () => Promise<void> };
let pool: pg.Pool;

async function record(o: {
  tool: string;
  session: string;
  at: number;
  agent?: string;
  outcome?: string;
  anomaly?: unknown;
  holds?: unknown;
}): Promise<string> {
  const id = randomUUID();
  await pool.query(
    `INSERT INTO audit_records (id, ts, server, request_id, method, tool, agent_id, agent_session, tenant, roles,
                                decision, outcome, details)
     VALUES ($1, now() - make_interval(secs => $2), 'srv', 'r', 'tools/call', $3, $8, $4, 'acme',
             '{support}', $5, $6, $7)`,
    [
      id,
      600 - o.at,
      o.tool,
      o.session,
      o.outcome === 'awaiting_approval' ? 'deny' : 'allow',
      o.outcome ?? 'ok',
      o.anomaly ? { anomaly: o.anomaly, ...(o.holds ? { flow: { holds: o.holds } } : {}) } : null,
      o.agent ?? 'agent-7',
    ],
  );
  return id;
}

function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  return flowCommand(argv, {
    env: { DATABASE_URL: db.url },
    stdout: (t) => {
      out += t;
    },
    stderr: (t) => {
      err += t;
    },
  }).then((code) => ({ code, out, err }));
}

beforeAll(async () => {
  db = await createTestDatabase('fleet_cli_flow');
  pool = new pg.Pool({ connectionString: db.url, max: 2 });
  await migrate(pool, [...CORE_MIGRATIONS, ...ANOMALY_MIGRATIONS], logger);
});
afterAll(async () => {
  await pool?.end();
  await db?.drop();
});

describe('fleet flow', () => {
  it('learn counts the sessions of the trail (a role learns what two or more of its agents did)', async () => {
    await record({ tool: 'get_ticket', session: 's1', at: 1 });
    await record({ tool: 'add_comment', session: 's1', at: 2 });
    await record({ tool: 'get_ticket', session: 's9', at: 3, agent: 'agent-8' });
    await record({ tool: 'get_ticket', session: 's8', at: 4, agent: 'agent-9' });
    const r = await run(['learn', '--days', '3']);
    expect(r).toMatchObject({ code: 0, err: '' });
    expect(r.out).toContain('learned 4 transitions');
    const rows = await pool.query(
      `SELECT scope, from_key, to_key, count::int FROM flow_baseline ORDER BY scope, from_key`,
    );
    expect(rows.rows).toEqual([
      { scope: 'agent:agent-7', from_key: '^', to_key: 'srv/get_ticket', count: 1 },
      { scope: 'agent:agent-7', from_key: 'srv/get_ticket', to_key: 'srv/add_comment', count: 1 },
      { scope: 'agent:agent-8', from_key: '^', to_key: 'srv/get_ticket', count: 1 },
      { scope: 'agent:agent-9', from_key: '^', to_key: 'srv/get_ticket', count: 1 },
      // get_ticket → add_comment: one agent only, so not (yet) what the role does.
      // ^ → get_ticket: three agents once each; the one that did it most is left out.
      { scope: 'role:support', from_key: '^', to_key: 'srv/get_ticket', count: 2 },
    ]);
  });

  it('anomalies lists the highest scores first, with the session before each and whether it was held', async () => {
    const score = (s: number, from: string, to: string) => ({
      score: s,
      p: 2 ** -s,
      from,
      to,
      count: 0,
      total: 80,
      baseline: 'role:support',
    });
    await record({ tool: 'get_ticket', session: 's2\u001b[31m', at: 10 });
    await record({
      tool: 'run_query',
      session: 's2\u001b[31m',
      at: 11,
      anomaly: score(3, 'srv/get_ticket', 'srv/run_query'),
    });
    const held = await record({
      tool: 'send_email',
      session: 's2\u001b[31m',
      at: 12,
      outcome: 'awaiting_approval',
      anomaly: score(9.5, 'srv/run_query', 'srv/send_email'),
      holds: [{ kind: 'anomaly', name: 'anomaly', action: 'approval', reason: 'x' }],
    });
    const r = await run(['anomalies', '--hours', '1', '--limit', '5']);
    expect(r.code).toBe(0);
    const blocks = r.out.trim().split('\n  fleet audit show ');
    expect(blocks[0]).toMatch(/^9\.5 bits .* outcome=awaiting_approval HELD \(for its score\)/);
    expect(blocks[0]).toContain('srv/get_ticket → srv/run_query → [srv/send_email]');
    expect(blocks[0]).toContain("0 of 80 transitions from srv/run_query in role:support's baseline");
    expect(r.out).toContain(`fleet audit show ${held}`);
    expect(r.out).not.toContain('\u001b');
    const json = await run(['anomalies', '--json', '--limit', '1']);
    const [top] = JSON.parse(json.out);
    expect(top).toMatchObject({ id: held, held: true, heldForScore: true, anomaly: { score: 9.5 } });
    expect(top.before.map((s: { call: string }) => s.call)).toEqual(['srv/get_ticket', 'srv/run_query']);
  });

  it('refuses bad options', async () => {
    expect((await run(['anomalies', '--limit', '0'])).code).toBe(2);
    expect((await run(['learn', '--days', '0'])).code).toBe(2);
    expect((await run(['nonsense'])).code).toBe(2);
  });
});
