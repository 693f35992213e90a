// `fleet audit`, as an operator uses it: reads the trail the servers wrote (here: the AuditLog
// itself), filters it, pages with the cursor it prints, shows one record, and refuses bad input.
import { AuditLog, type AuditRecord } from '@mcp-fleet/core/approvals';
import {
  CORE_MIGRATIONS,
  createFleetPool,
  createLogger,
  createMetrics,
  migrate,
} from '@mcp-fleet/core/internal';
import { createTestDatabase } from '@mcp-fleet/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditCommand } from '../src/commands/audit.js';

const logger = createLogger({ level: 'silent' });
let db: { url: string; drop: () => Promise<void> };
const records: AuditRecord[] = [];
/** The trace id two calls' records share (a traced request that made a nested call, say). */
const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';

const rec = (i: number, o: Partial<AuditRecord>): AuditRecord => ({
  id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
  ts: new Date(Date.parse('2026-05-01T10:00:00Z') + i * 60_000).toISOString(),
  server: 'database',
  requestId: `req-${i}`,
  method: 'tools/call',
  tool: 'run_query',
  agentId: 'agent-42',
  agentSession: 'sess-1',
  userInvoker: 'jane',
  tenant: 'acme',
  roles: ['analyst'],
  arguments: { sql: 'select 1' },
  decision: 'allow',
  decisionReason: 'granted',
  outcome: 'ok',
  resultSummary: `${i} rows`,
  durationMs: 12,
  policyVersion: 'p1',
  protocolVersion: '2025-11-25',
  details: null,
  ...o,
});

beforeAll(async () => {
  db = await createTestDatabase('fleet_cli_audit');
  const pool = createFleetPool(db.url, logger, 2);
  await migrate(pool, CORE_MIGRATIONS, logger);
  const log = new AuditLog({
    pool,
    logger,
    metrics: createMetrics('cli-audit'),
    stdout: false,
    flushMs: 10_000,
    queueMax: 1000,
  });
  records.push(
    rec(1, {}),
    rec(2, { outcome: 'denied', decision: 'deny', tenant: 'globex', resultSummary: null }),
    rec(3, { agentId: 'agent-7', tool: 'read_file', server: 'files', durationMs: null, traceId: TRACE }),
    rec(4, { outcome: 'denied', decision: 'deny', agentSession: 'sess-2', traceId: 'f'.repeat(32) }),
    rec(5, { traceId: TRACE }),
  );
  for (const r of records) log.record(r);
  await log.close();
  await pool.end();
});
afterAll(async () => {
  await db?.drop();
});

async function fleetAudit(...argv: string[]) {
  let stdout = '';
  let stderr = '';
  const code = await auditCommand(argv, {
    env: { DATABASE_URL: db.url },
    stdout: (t) => {
      stdout += t;
    },
    stderr: (t) => {
      stderr += t;
    },
  });
  return { code, stdout, stderr };
}

describe('fleet audit', () => {
  it('prints the trail newest first, one line per record, as before', async () => {
    const r = await fleetAudit();
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n').filter(Boolean)).toEqual([
      '2026-05-01T10:05:00.000Z database/run_query agent=agent-42 outcome=ok 12ms 5 rows',
      '2026-05-01T10:04:00.000Z database/run_query agent=agent-42 outcome=denied 12ms 4 rows',
      '2026-05-01T10:03:00.000Z files/read_file agent=agent-7 outcome=ok -ms 3 rows',
      '2026-05-01T10:02:00.000Z database/run_query agent=agent-42 outcome=denied 12ms ',
      '2026-05-01T10:01:00.000Z database/run_query agent=agent-42 outcome=ok 12ms 1 rows',
    ]);
  });

  it('filters by agent, tool, outcome, session, tenant, server and time', async () => {
    const ids = async (...argv: string[]) =>
      (JSON.parse((await fleetAudit(...argv, '--json')).stdout) as { id: string }[]).map((x) =>
        Number(x.id.slice(-2)),
      );
    expect(await ids('--agent', 'agent-42', '--outcome', 'denied')).toEqual([4, 2]);
    expect(await ids('--tool', 'read_file')).toEqual([3]);
    expect(await ids('--server', 'files')).toEqual([3]);
    expect(await ids('--session', 'sess-2')).toEqual([4]);
    expect(await ids('--tenant', 'globex')).toEqual([2]);
    expect(await ids('--from', '2026-05-01T10:02:00Z', '--to', '2026-05-01T10:04:00Z')).toEqual([3, 2]);
  });

  it('--trace finds every record of one trace (the id a log line or span names), any case', async () => {
    const ids = async (...argv: string[]) =>
      (JSON.parse((await fleetAudit(...argv, '--json')).stdout) as { id: string }[]).map((x) =>
        Number(x.id.slice(-2)),
      );
    expect(await ids('--trace', TRACE)).toEqual([5, 3]);
    expect(await ids('--trace', TRACE.toUpperCase(), '--agent', 'agent-7')).toEqual([3]);
    expect(await ids('--trace', `${'0'.repeat(31)}1`)).toEqual([]);
    for (const bad of ['not-a-trace', TRACE.slice(1), `${TRACE}0`, `00-${TRACE}-00f067aa0ba902b7-01`]) {
      const r = await fleetAudit('--trace', bad);
      expect(r, bad).toMatchObject({ code: 2, stdout: '' });
      expect(r.stderr).toMatch(/--trace is a trace id: 32 hexadecimal characters/);
    }
  });

  it('keeps the --json columns', async () => {
    const rows = JSON.parse((await fleetAudit('--json', '--limit', '1')).stdout) as Record<string, unknown>[];
    expect(rows).toEqual([
      {
        id: records[4]!.id,
        ts: '2026-05-01T10:05:00.000Z',
        server: 'database',
        tool: 'run_query',
        agent_id: 'agent-42',
        agent_session: 'sess-1',
        user_invoker: 'jane',
        tenant: 'acme',
        decision: 'allow',
        outcome: 'ok',
        duration_ms: 12,
        result_summary: '5 rows',
      },
    ]);
  });

  it('pages with the cursor it prints, and shows one record', async () => {
    const first = await fleetAudit('--limit', '2');
    const more = /more: --after (\S+)/.exec(first.stdout)?.[1];
    expect(first.stdout.split('\n').filter((l) => l.startsWith('2026'))).toHaveLength(2);
    expect(more).toBeDefined();
    const second = await fleetAudit('--limit', '2', '--after', more!);
    expect(second.stdout).toMatch(/^2026-05-01T10:03:00.000Z /);
    const shown = await fleetAudit('show', records[2]!.id, '--json');
    expect(shown.code).toBe(0);
    expect(JSON.parse(shown.stdout)).toMatchObject({
      id: records[2]!.id,
      agentId: 'agent-7',
      tool: 'read_file',
    });
    const missing = await fleetAudit('show', '00000000-0000-4000-8000-999999999999');
    expect(missing.code).toBe(1);
  });

  it('refuses a time that is not one, a forged cursor and a stray word (exit 2)', async () => {
    expect(await fleetAudit('--from', 'last tuesday')).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/from is not a time/),
    });
    expect((await fleetAudit('--after', 'abc')).code).toBe(2);
    expect((await fleetAudit('list')).code).toBe(2);
  });
});
