// The warehouse role's own limits, which hold whatever the SQL guard lets through: the dangerous
// built-ins (SQL from text, signals, locks, sleeps, files, large objects, settings) are not
// executable by it, temporary files are capped, and the server refuses to start on a role that can
// still call them, bypasses row-level security, or has no temp_file_limit.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createFleetServer } from '@mcp-fleet/core';
import { type BootedServer, connectClient } from '@mcp-fleet/testkit';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DANGEROUS_FUNCTION_NAMES } from '../src/connectors/role-check.js';
import definition from '../src/definition.js';
import { bootDatabase, createWarehouse, data, type TestWarehouse, textOf } from './helpers.js';

let wh: TestWarehouse;
let s: BootedServer;

beforeAll(async () => {
  // A small temp_file_limit, so the spill test stops within a moment.
  wh = await createWarehouse(0.05, { tempFileLimit: '8MB' });
  s = await bootDatabase(wh, { definition: { queryTimeoutMs: 20_000 } });
});
afterAll(async () => {
  await s?.close();
  await wh?.cleanup();
});

const start = (url: string) =>
  createFleetServer(definition, {
    env: {
      LOG_LEVEL: 'silent',
      AUDIT_STDOUT: 'false',
      AUTH_ISSUER: 'http://127.0.0.1:9',
      AUTH_JWKS_URL: 'http://127.0.0.1:9/jwks.json',
      WAREHOUSE_URL: url,
    },
  }).then(
    async (server) => {
      await (server as unknown as { close?: () => Promise<void> }).close?.();
      return null;
    },
    (e: Error) => e,
  );

/** Typed by hand, independently of the catalog pattern the grants derive their list from. */
const dangerous = [
  "SELECT ts_stat('SELECT to_tsvector(''x'')')",
  "SELECT ts_rewrite('a'::tsquery, 'SELECT ''a''::tsquery, ''b''::tsquery')",
  "SELECT query_to_xml('SELECT 1', true, true, '')",
  "SELECT table_to_xml('sales.customers', true, true, '')",
  "SELECT cursor_to_xml('c', 1, true, true, '')",
  'SELECT pg_terminate_backend(pg_backend_pid())',
  'SELECT pg_advisory_lock(42)',
  'SELECT pg_try_advisory_xact_lock(42)',
  'SELECT pg_advisory_unlock_all()',
  "SELECT pg_read_file('/etc/hostname')",
  "SELECT pg_read_binary_file('/etc/hostname')",
  "SELECT pg_ls_dir('.')",
  "SELECT pg_stat_file('.')",
  "SELECT lo_import('/etc/hostname')",
  "SELECT lo_export(1, '/tmp/x')",
  "SELECT lo_from_bytea(0, '\\x00')",
  'SELECT lo_create(0)',
  "SELECT lo_put(1, 0, '\\x00')",
  "SELECT set_config('fleet.tenant', '*', false)",
  'SELECT pg_sleep(0)',
  "SELECT pg_sleep_for('0 s')",
  "SELECT pg_notify('c', 'x')",
  'SELECT txid_current()',
  "SELECT pg_logical_emit_message(true, 'x', 'y')",
  'SELECT pg_reload_conf()',
  'SELECT pg_rotate_logfile()',
  "SELECT brin_summarize_new_values('sales.customers_pkey')",
  "SELECT gin_clean_pending_list('sales.customers_pkey')",
];

describe('dangerous built-ins', () => {
  it.each(dangerous)('the demo reader role may not run %s', async (sql) => {
    const c = new pg.Client({ connectionString: wh.readerUrl });
    await c.connect();
    try {
      const err = await c.query(sql).then(
        () => null,
        (e: Error & { code?: string }) => e,
      );
      expect(err?.code, `${sql}: ${err?.message}`).toBe('42501');
      expect(err?.message).toMatch(/permission denied for function/);
    } finally {
      await c.end();
    }
  });

  it("docs/database.md's script revokes exactly what the start-up check looks for", () => {
    const docs = readFileSync(new URL('../../../docs/database.md', import.meta.url), 'utf8');
    expect(docs).toContain(`p.proname ~ '${DANGEROUS_FUNCTION_NAMES}'`);
  });

  it('the server refuses a reader that can still run one, naming it and the fix', async () => {
    await wh.admin('GRANT EXECUTE ON FUNCTION pg_catalog.ts_stat(text) TO PUBLIC');
    try {
      const err = await start(wh.readerUrl);
      expect(err?.message).toMatch(/ts_stat\(text\)/);
      expect(err?.message).toMatch(/docs\/database\.md/);
    } finally {
      await wh.admin('REVOKE EXECUTE ON FUNCTION pg_catalog.ts_stat(text) FROM PUBLIC');
    }
  });
});

describe('role attributes and resource limits', () => {
  const role = `wh_odd_${randomBytes(4).toString('hex')}`;
  const password = `pw-${randomBytes(8).toString('hex')}`;
  let url: string;
  beforeAll(async () => {
    // A password: the embedded PostgreSQL (unlike CI's trust-auth service) asks for one.
    await wh.admin(`CREATE ROLE ${role} LOGIN NOINHERIT PASSWORD '${password}'`);
    await wh.admin(`GRANT CONNECT ON DATABASE "${wh.database}" TO ${role}`);
    const u = new URL(wh.readerUrl);
    u.username = role;
    u.password = password;
    url = u.toString();
  });
  afterAll(async () => {
    await wh?.admin(`DROP OWNED BY ${role}`).catch(() => {});
    await wh?.admin(`DROP ROLE IF EXISTS ${role}`).catch(() => {});
  });

  it('refuses a role without temp_file_limit', async () => {
    const err = await start(url);
    expect(err?.message).toMatch(/temp_file_limit/);
  });

  it('refuses a role with BYPASSRLS', async () => {
    await wh.admin(`ALTER ROLE ${role} BYPASSRLS`);
    await wh.admin(`ALTER ROLE ${role} SET temp_file_limit = '1GB'`);
    try {
      const err = await start(url);
      expect(err?.message).toMatch(/BYPASSRLS/);
      expect(err?.message).not.toMatch(/has no temp_file_limit/);
    } finally {
      await wh.admin(`ALTER ROLE ${role} NOBYPASSRLS`);
      await wh.admin(`ALTER ROLE ${role} RESET temp_file_limit`);
    }
  });

  it('the demo reader role has its bounds', async () => {
    const c = new pg.Client({ connectionString: wh.readerUrl });
    await c.connect();
    try {
      const { rows } = await c.query(
        "SELECT current_setting('temp_file_limit') AS t, current_setting('work_mem') AS w, current_setting('idle_in_transaction_session_timeout') AS i",
      );
      expect(rows[0]).toEqual({ t: '8MB', w: '16MB', i: '10min' });
    } finally {
      await c.end();
    }
  });

  // Each spills far past 8MB (a 5-million-row sort; a 400-million-row join sorted), and stays
  // under the guard's own bounds (generate_series is capped at 10 million rows).
  it.each([
    'SELECT g FROM generate_series(1, 5000000) AS g ORDER BY g DESC',
    'SELECT a.id, b.id FROM product.events a CROSS JOIN product.events b ORDER BY a.occurred_at, b.id',
  ])(
    'a sort that spills past temp_file_limit ends as a clear error, and the server goes on: %s',
    async (sql) => {
      const client = await connectClient(
        'modern',
        s.url,
        await s.token({ sub: 'analyst-1', roles: ['analyst'] }),
      );
      try {
        const r = await client.callTool('run_query', { sql });
        expect(r.isError).toBe(true);
        expect(textOf(r)).toMatch(/temp_file_limit|temporary file size exceeds/);
        const after = await client.callTool('run_query', { sql: 'SELECT 1 AS one' });
        expect(data(after).rows).toEqual([[1]]);
      } finally {
        await client.close();
      }
    },
  );
});
