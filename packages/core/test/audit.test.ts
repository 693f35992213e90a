// One audit record per call, whatever the outcome; no mutation without a stored record; and the
// server rides out a PostgreSQL outage (reads answer, mutations refuse, everything recovers).
import { createHash } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuditLog, type AuditRecord } from '@mcp-fleet/core/approvals';
import { createLogger, createMetrics } from '@mcp-fleet/core/internal';
import {
  type BootedServer,
  bootServer,
  freePort,
  type PostgresHandle,
  startEmbeddedPostgres,
} from '@mcp-fleet/testkit';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixturePolicy, fixtureServer, upstream } from './fixtures.js';
import { callMsg, rpc } from './helpers.js';

let pgDir: string;
let pgPort: number;
let database: PostgresHandle;
let s: BootedServer;
const lines: string[] = [];
let dbUrl: string;

async function query<T extends pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<T[]> {
  const c = new pg.Client({ connectionString: dbUrl });
  await c.connect();
  try {
    return (await c.query<T>(sql, params)).rows;
  } finally {
    await c.end();
  }
}

beforeAll(async () => {
  // Our own PostgreSQL, so this test can stop and restart it.
  pgDir = mkdtempSync(join(tmpdir(), 'fleet-audit-pg-'));
  pgPort = await freePort();
  database = await startEmbeddedPostgres({ dir: pgDir, port: pgPort, persistent: true });
  dbUrl = database.url;
  s = await bootServer(fixtureServer, {
    policy: fixturePolicy,
    databaseUrl: dbUrl,
    env: { AUDIT_STDOUT: 'true', AUDIT_FLUSH_MS: '50' },
    serverOptions: { auditWrite: (line) => lines.push(line) },
  });
}, 120_000);
afterAll(async () => {
  await s?.close();
  await database?.stop();
});

const call = async (roles: string[], name: string, args: Record<string, unknown>, requestId: string) =>
  rpc(s.url, callMsg(name, args), {
    authorization: `Bearer ${await s.token({ sub: 'auditor-agent', roles, sid: 'session-9', user: 'alice', tenant: 'acme' })}`,
    'x-request-id': requestId,
  });

describe('audit records', () => {
  it('writes exactly one record per call, for every outcome, to stdout and PostgreSQL', async () => {
    const run = `r${Date.now()}`;
    await call(['reader'], 'echo_text', { text: 'ok', api_key: 'sk_live_SECRET123' }, `${run}-ok`);
    await call(['reader'], 'write_note', { note: 'nope' }, `${run}-denied`);
    await call(['reader'], 'echo_text', { text: 123 }, `${run}-invalid`);
    await call(['reader'], 'lookup_record', { schema: 'x', id: 5000 }, `${run}-error`);
    await call(['reader'], 'wait_slowly', { ms: 5000 }, `${run}-timeout`);
    await call(['narrow'], 'lookup_record', { schema: 'secret', id: 1 }, `${run}-constraint`);
    await call(['writer'], 'write_note', { note: 'hello', password: 'hunter2' }, `${run}-write`);
    await s.server.runtime.audit.flush();

    const rows = await query<{
      request_id: string;
      outcome: string;
      decision: string;
      agent_id: string;
      agent_session: string;
      user_invoker: string;
      tenant: string;
      arguments: unknown;
      duration_ms: number;
      tool: string;
      client_id: string;
    }>(
      "SELECT *, details->>'clientRequestId' AS client_id FROM audit_records WHERE details->>'clientRequestId' LIKE $1 ORDER BY ts",
      [`${run}-%`],
    );
    const byRequest = Object.fromEntries(rows.map((r) => [r.client_id.slice(run.length + 1), r]));
    expect(rows).toHaveLength(7);
    expect(
      Object.fromEntries(Object.entries(byRequest).map(([k, r]) => [k, `${r.decision}/${r.outcome}`])),
    ).toEqual({
      ok: 'allow/ok',
      denied: 'deny/denied',
      invalid: 'allow/invalid',
      error: 'allow/error',
      timeout: 'allow/timeout',
      constraint: 'deny/denied',
      write: 'allow/ok',
    });
    const ok = byRequest.ok!;
    expect(ok).toMatchObject({
      agent_id: 'auditor-agent',
      agent_session: 'session-9',
      user_invoker: 'alice',
      tenant: 'acme',
      tool: 'echo_text',
    });
    expect(ok.duration_ms).toBeGreaterThanOrEqual(0);
    expect(ok.arguments).toEqual({ text: 'ok', api_key: '[redacted]' });
    expect(JSON.stringify(rows)).not.toContain('sk_live_SECRET123');
    expect(JSON.stringify(rows)).not.toContain('hunter2');

    const stdout = lines
      .map((l) => JSON.parse(l))
      .filter((r) => String(r.details?.clientRequestId).startsWith(run));
    expect(stdout).toHaveLength(7);
    expect(stdout.every((r) => r.audit === true)).toBe(true);
    expect(lines.join('')).not.toContain('sk_live_SECRET123');
  });
});

describe('what a record says', () => {
  const token = () => s.token({ sub: 'auditor-agent', roles: ['writer'], sid: 'session-9', user: 'alice' });

  it('stores the hash of the exact arguments in args_hash', async () => {
    await rpc(s.url, callMsg('write_note', { note: 'hash me', idempotency_key: 'hk-1' }), {
      authorization: `Bearer ${await token()}`,
      'x-request-id': 'args-hash-1',
    });
    await s.server.runtime.audit.flush();
    const rows = await query<{ args_hash: string }>(
      "SELECT args_hash FROM audit_records WHERE details->>'clientRequestId' = 'args-hash-1'",
    );
    const exact = '{"idempotency_key":"hk-1","note":"hash me"}';
    expect(rows).toEqual([{ args_hash: createHash('sha256').update(exact).digest('base64url') }]);
  });

  it('cuts wide objects and arrays with an explicit marker and bounds the whole record', async () => {
    const wide: Record<string, unknown> = { text: 'w' };
    for (let i = 0; i < 20_000; i++) wide[`junk${i}`] = i;
    wide.list = Array.from({ length: 5_000 }, (_, i) => i);
    const fat: Record<string, unknown> = { text: 'f' };
    for (let i = 0; i < 100; i++) fat[`k${i}`] = 'x'.repeat(1_900);
    for (const [id, args] of [
      ['wide-1', wide],
      ['fat-1', fat],
    ] as const) {
      await rpc(s.url, callMsg('echo_text', args), {
        authorization: `Bearer ${await token()}`,
        'x-request-id': id,
      });
    }
    await s.server.runtime.audit.flush();
    const rows = await query<{ id: string; arguments: Record<string, unknown>; size: number }>(
      "SELECT details->>'clientRequestId' AS id, arguments, length(row_to_json(a)::text) AS size FROM audit_records a WHERE details->>'clientRequestId' IN ('wide-1', 'fat-1')",
    );
    const wideRow = rows.find((r) => r.id === 'wide-1')!;
    expect(Object.keys(wideRow.arguments)).toHaveLength(101);
    expect(wideRow.arguments['…']).toBe('19902 more keys');
    const fatRow = rows.find((r) => r.id === 'fat-1')!;
    expect(fatRow.arguments['…']).toMatch(/^arguments too large to store/);
    for (const r of rows) expect(r.size).toBeLessThan(40_000);
  });

  it("keeps the server's own request id; the client's x-request-id is a detail", async () => {
    const a = await rpc(s.url, callMsg('echo_text', { text: 'a' }), {
      authorization: `Bearer ${await token()}`,
      'x-request-id': 'same-client-id',
    });
    const b = await rpc(s.url, callMsg('echo_text', { text: 'b' }), {
      authorization: `Bearer ${await s.token({ sub: 'other-agent', roles: ['reader'], sid: 'other' })}`,
      'x-request-id': 'same-client-id',
    });
    await s.server.runtime.audit.flush();
    const rows = await query<{ request_id: string }>(
      "SELECT request_id FROM audit_records WHERE details->>'clientRequestId' = 'same-client-id' ORDER BY ts",
    );
    expect(rows).toHaveLength(2);
    expect(rows.map((r) => r.request_id)).toEqual([
      a.headers.get('x-request-id'),
      b.headers.get('x-request-id'),
    ]);
    expect(rows[0]!.request_id).not.toBe(rows[1]!.request_id);
    expect(rows[0]!.request_id).not.toBe('same-client-id');
  });
});

describe('hostile argument bytes', () => {
  it('refuses a mutation whose arguments carry NUL bytes as invalid_arguments (no tool could store them), and stores its record', async () => {
    const res = await call(['writer'], 'write_note', { note: 'a\u0000b', 'k\u0000': 1 }, 'nul-write');
    expect(res.body.result.isError).toBe(true);
    expect(res.body.result._meta['io.mcp-fleet/error']).toEqual({ code: 'invalid_arguments' });
    await s.server.runtime.audit.flush();
    const rows = await query<{ outcome: string; arguments: { note: string } }>(
      "SELECT outcome, arguments FROM audit_records WHERE details->>'clientRequestId' = 'nul-write'",
    );
    expect(rows).toHaveLength(1);
    expect(rows[0]!.outcome).toBe('invalid');
    // The audit store spells NUL out rather than failing on it.
    expect(rows[0]!.arguments.note).toBe('a\\u0000b');
  });
});

/** An audit log of its own on the fleet database, flushed only by close(). */
function standaloneLog(name: string, queueMax: number) {
  const metrics = createMetrics(name);
  const log = new AuditLog({
    pool: s.server.fleetDb,
    logger: createLogger({ level: 'silent' }),
    metrics,
    stdout: false,
    flushMs: 60_000,
    queueMax,
  });
  return { log, metrics };
}

/** A finished call's record, as callTool would write it. */
function auditRecord(requestId: string, fields: Partial<AuditRecord> = {}): AuditRecord {
  return {
    id: crypto.randomUUID(),
    ts: new Date().toISOString(),
    server: 'fixture',
    requestId,
    method: 'tools/call',
    tool: 'echo_text',
    agentId: 'a',
    agentSession: null,
    userInvoker: null,
    tenant: null,
    roles: [],
    arguments: {},
    decision: 'allow',
    decisionReason: 'test',
    outcome: 'ok',
    resultSummary: null,
    durationMs: 1,
    policyVersion: null,
    protocolVersion: null,
    details: null,
    ...fields,
  };
}

describe('records PostgreSQL would refuse', () => {
  it('stores the record of a call with lone UTF-16 surrogates in its arguments (as U+FFFD; the call is refused) instead of blocking the queue', async () => {
    await call(['reader'], 'echo_text', { text: 'x', note: 'a\udc00b' }, 'surrogate-read');
    await call(['reader'], 'echo_text', { text: 'after' }, 'surrogate-after');
    await s.server.runtime.audit.flush();
    const rows = await query<{ request_id: string; arguments: { note?: string } }>(
      "SELECT details->>'clientRequestId' AS request_id, arguments FROM audit_records WHERE details->>'clientRequestId' IN ('surrogate-read', 'surrogate-after')",
    );
    expect(rows.map((r) => r.request_id).sort()).toEqual(['surrogate-after', 'surrogate-read']);
    expect(rows.find((r) => r.request_id === 'surrogate-read')!.arguments.note).toBe('a\ufffdb');
  });

  it('drops only a record PostgreSQL rejects, and keeps writing the ones around it', async () => {
    const { log, metrics } = standaloneLog('poison-test', 100);
    log.record(auditRecord('poison-before'));
    log.record(auditRecord('poison-bad', { ts: 'the day before yesterday' })); // not a timestamptz: SQLSTATE 22007
    // NUL and a lone surrogate in any field are stored, spelled out / as U+FFFD, not refused.
    log.record(auditRecord('poison-nul', { tenant: 'nul\u0000here', decisionReason: 'lone \udc00' }));
    log.record(auditRecord('poison-after'));
    await log.close();
    const rows = await query<{ request_id: string; tenant: string | null; decision_reason: string }>(
      "SELECT request_id, tenant, decision_reason FROM audit_records WHERE request_id LIKE 'poison-%' ORDER BY request_id",
    );
    expect(rows.map((r) => r.request_id)).toEqual(['poison-after', 'poison-before', 'poison-nul']);
    expect(rows[2]).toMatchObject({ tenant: 'nul\\u0000here', decision_reason: 'lone \ufffd' });
    expect(log.pending).toBe(0);
    expect(await metrics.registry.getSingleMetricAsString('mcp_audit_dropped_total')).toMatch(/ 1$/m);
  });
});

describe('a full audit queue', () => {
  it('drops the oldest records, counts them, and writes the newest', async () => {
    const { log, metrics } = standaloneLog('overflow-test', 5);
    for (let i = 1; i <= 8; i++) log.record(auditRecord(`overflow-${i}`, { roles: ['r'], arguments: { i } }));
    expect(log.pending).toBe(5);
    await log.close();
    expect(log.pending).toBe(0);
    const rows = await query<{ request_id: string; roles: string[]; arguments: { i: number } }>(
      "SELECT request_id, roles, arguments FROM audit_records WHERE request_id LIKE 'overflow-%' ORDER BY request_id",
    );
    expect(rows.map((r) => r.request_id)).toEqual([
      'overflow-4',
      'overflow-5',
      'overflow-6',
      'overflow-7',
      'overflow-8',
    ]);
    expect(rows[0]).toMatchObject({ roles: ['r'], arguments: { i: 4 } });
    expect(await metrics.registry.getSingleMetricAsString('mcp_audit_dropped_total')).toMatch(/ 3$/m);
  });
});

describe('a PostgreSQL outage', () => {
  it('keeps reads answering, refuses mutations without running them, and recovers', async () => {
    await database.stop();
    const writesBefore = upstream.writes;

    const read = await call(['reader'], 'echo_text', { text: 'during outage' }, 'outage-read');
    expect(read.body.result.structuredContent.text).toBe('during outage');

    const write = await call(['writer'], 'write_note', { note: 'must not run' }, 'outage-write');
    expect(write.body.result.isError).toBe(true);
    expect(write.body.result.content[0].text).toMatch(/audit store is unavailable/);
    expect(upstream.writes).toBe(writesBefore);

    const ready = (await (await fetch(`${s.baseUrl}/readyz`)).json()) as {
      status: string;
      checks: Record<string, string>;
    };
    expect(ready.status).toBe('degraded');
    expect(ready.checks.fleet_db).toMatch(/^failing/);

    database = await startEmbeddedPostgres({ dir: pgDir, port: pgPort, persistent: true });
    let after: Awaited<ReturnType<typeof call>> | undefined;
    for (let i = 0; i < 40; i++) {
      after = await call(['writer'], 'write_note', { note: 'after recovery' }, `recovered-${i}`);
      if (!after.body.result.isError) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(after!.body.result.content[0].text).toBe('stored: after recovery');
    expect(upstream.writes).toBe(writesBefore + 1);

    // The read made during the outage was queued and reaches PostgreSQL after recovery.
    await s.server.runtime.audit.flush();
    for (let i = 0; i < 40 && s.server.runtime.audit.pending > 0; i++) {
      await new Promise((r) => setTimeout(r, 250));
      await s.server.runtime.audit.flush();
    }
    const rows = await query<{ request_id: string; outcome: string }>(
      "SELECT details->>'clientRequestId' AS request_id, outcome FROM audit_records WHERE details->>'clientRequestId' IN ('outage-read', 'outage-write')",
    );
    expect(rows.find((r) => r.request_id === 'outage-read')?.outcome).toBe('ok');
    // The refused write was never stored (there was nowhere to store it) but was logged to stdout.
    expect(
      lines.some((l) => l.includes('"clientRequestId":"outage-write"') && l.includes('audit_unavailable')),
    ).toBe(true);
  });
});
