// Start-up: the server refuses a warehouse role that can write (clearly, without echoing the URL
// or password) unless overridden; the demo warehouse set-up is idempotent and its role read-only.
import { randomBytes } from 'node:crypto';
import { createFleetServer } from '@mcp-fleet/core';
import { bootServer, connectClient } from '@mcp-fleet/testkit';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findWriteCapabilities } from '../src/connectors/role-check.js';
import definition from '../src/definition.js';
import { buildDemoWarehouse } from '../src/demo/build-warehouse.js';
import { createWarehouse, examplePolicy, type TestWarehouse } from './helpers.js';

let wh: TestWarehouse;
const writer = `wh_writer_${randomBytes(4).toString('hex')}`;
const password = `pw-${randomBytes(8).toString('hex')}`;
let writerUrl: string;

beforeAll(async () => {
  wh = await createWarehouse();
  await wh.admin(`CREATE ROLE ${writer} LOGIN PASSWORD '${password}'`);
  await wh.admin(`GRANT CONNECT ON DATABASE ${wh.database} TO ${writer}`);
  await wh.admin(`GRANT USAGE ON SCHEMA support TO ${writer}`);
  await wh.admin(`GRANT SELECT, UPDATE ON support.tickets TO ${writer}`);
  const u = new URL(wh.readerUrl);
  u.username = writer;
  u.password = password;
  writerUrl = u.toString();
});
afterAll(async () => {
  await wh?.admin(`DROP OWNED BY ${writer}`).catch(() => {});
  await wh?.cleanup();
  const c = new pg.Client({ connectionString: process.env.FLEET_TEST_PG_URL });
  await c.connect();
  await c.query(`DROP ROLE IF EXISTS ${writer}`).finally(() => c.end());
});

const start = (url: string, extra: Record<string, string> = {}) =>
  createFleetServer(definition, {
    env: {
      LOG_LEVEL: 'silent',
      AUDIT_STDOUT: 'false',
      AUTH_ISSUER: 'http://127.0.0.1:9',
      AUTH_JWKS_URL: 'http://127.0.0.1:9/jwks.json',
      WAREHOUSE_URL: url,
      ...extra,
    },
  });

describe('start-up checks of the warehouse role', () => {
  it('refuses a role that can write, naming the privilege and the fix, never the password', async () => {
    const err = await start(writerUrl).then(
      () => null,
      (e: Error) => e,
    );
    expect(err?.message).toMatch(
      /Refusing to start: the warehouse role in WAREHOUSE_URL can change the warehouse/,
    );
    expect(err?.message).toMatch(/UPDATE on support\.tickets/);
    expect(err?.message).toMatch(/docs\/database\.md/);
    expect(err?.message).not.toContain(password);
  });

  it('refuses a superuser', async () => {
    const err = await start(wh.adminUrl).then(
      () => null,
      (e: Error) => e,
    );
    expect(err?.message).toMatch(/is a superuser/);
  });

  it('starts with the explicit override, and queries stay read-only', async () => {
    const s = await bootServer(definition, {
      policy: examplePolicy,
      env: { WAREHOUSE_URL: writerUrl, WAREHOUSE_ALLOW_WRITABLE_ROLE: 'true' },
    });
    try {
      expect((await fetch(`${s.baseUrl}/readyz`)).status).toBe(200);
      const before = await wh.checksum();
      const client = await connectClient(
        'modern',
        s.url,
        await s.token({ sub: 'admin-1', roles: ['admin'] }),
      );
      const r = await client.callTool('run_query', {
        sql: "WITH u AS (UPDATE support.tickets SET status = 'closed' RETURNING 1) SELECT count(*) FROM u",
      });
      await client.close();
      expect(r.isError).toBe(true);
      expect(await wh.checksum()).toBe(before);
    } finally {
      await s.close();
    }
  });

  it('says clearly when the warehouse cannot be reached, without the password', async () => {
    // A role that does not exist fails under any pg_hba method (the CI service trusts loopback, so a
    // wrong password alone would be accepted there).
    const bad = new URL(wh.readerUrl);
    bad.username = 'no_such_reader';
    bad.password = 'wrong-secret-value';
    const err = await start(bad.toString()).then(
      () => null,
      (e: Error) => e,
    );
    expect(err?.message).toMatch(
      /cannot use the warehouse in WAREHOUSE_URL: (password authentication failed|role "no_such_reader" does not exist)/,
    );
    expect(err?.message).not.toContain('wrong-secret-value');
  });

  it('requires WAREHOUSE_URL', async () => {
    await expect(start('')).rejects.toThrow(/WAREHOUSE_URL is required/);
  });
});

describe('demo warehouse set-up', () => {
  it('is idempotent and leaves a role that can only read', async () => {
    const before = await wh.checksum();
    const again = await buildDemoWarehouse({
      adminUrl: process.env.FLEET_TEST_PG_URL as string,
      database: wh.database,
      readerRole: wh.readerRole,
      scale: 0.05,
    });
    expect(again.rebuilt).toBe(false);
    expect(await wh.checksum()).toBe(before);
    const c = new pg.Client({ connectionString: again.readerUrl });
    await c.connect();
    try {
      expect(await findWriteCapabilities(c as unknown as pg.PoolClient)).toEqual([]);
      // Outside the fleet (no fleet.tenant in the transaction) row-level security shows no row;
      // with the setting the fleet gives a token without a tenant claim, every row.
      const outside = await c.query('SELECT count(*)::int AS n FROM product.events');
      expect(outside.rows[0].n).toBe(0);
      await c.query('BEGIN');
      await c.query("SET LOCAL fleet.tenant = '*'");
      const { rows } = await c.query('SELECT count(*)::int AS n FROM product.events');
      await c.query('ROLLBACK');
      expect(rows[0].n).toBe(20_000);
    } finally {
      await c.end();
    }
  });

  it('generates the same data on every build', async () => {
    const rows = await wh.admin<{ h: string }>(
      "SELECT md5(string_agg(t::text, ',' ORDER BY id)) AS h FROM support.tickets t WHERE id <= 5",
    );
    const fresh = await createWarehouse();
    try {
      expect(
        await fresh.admin(
          "SELECT md5(string_agg(t::text, ',' ORDER BY id)) AS h FROM support.tickets t WHERE id <= 5",
        ),
      ).toEqual(rows);
    } finally {
      await fresh.cleanup();
    }
  });
});
