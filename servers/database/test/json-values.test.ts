// json and jsonb values PostgreSQL accepts but that would overflow a recursive walker (nested
// thousands deep) or become millions of objects (megabytes of JSON) come back as the text PostgreSQL
// sent, and the server keeps answering. Found by the second round of adversarial testing: a json
// value nested 20,000 deep ended the process from inside node-postgres's data handler.
import { type BootedServer, connectClient, type TestClient } from '@mcp-fleet/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_JSON_DEPTH } from '../src/connectors/values.js';
import { bootDatabase, createWarehouse, data, type TestWarehouse, textOf } from './helpers.js';

let wh: TestWarehouse;
let s: BootedServer;
let client: TestClient;

beforeAll(async () => {
  wh = await createWarehouse(0.01);
  s = await bootDatabase(wh, { env: { WAREHOUSE_MAX_BYTES: String(8 * 1_048_576) } });
  client = await connectClient('modern', s.url, await s.token({ sub: 'json-depth', roles: ['analyst'] }));
});
afterAll(async () => {
  await client?.close();
  await s?.close();
  await wh?.cleanup();
});

const nested = (depth: number, type: 'json' | 'jsonb') =>
  `select (string_agg('[', '') || string_agg(']', ''))::${type} as v from generate_series(1, ${depth})`;

describe('json values', () => {
  it.each(['json', 'jsonb'] as const)('a %s value nested 10,000 deep comes back as text', async (type) => {
    const r = await client.callTool('run_query', { sql: nested(10_000, type) });
    expect(r.isError, textOf(r)).toBeFalsy();
    const v = (data(r) as { rows: unknown[][] }).rows[0]![0];
    expect(typeof v).toBe('string');
    expect((v as string).length).toBe(20_000);
    // The same process still answers.
    const next = await client.callTool('run_query', { sql: 'select 1 as one' });
    expect(next.isError, textOf(next)).toBeFalsy();
  });

  it('a shallow value is structure, and the depth bound is exact', async () => {
    const atBound = await client.callTool('run_query', { sql: nested(MAX_JSON_DEPTH, 'jsonb') });
    expect(Array.isArray((data(atBound) as { rows: unknown[][] }).rows[0]![0])).toBe(true);
    const past = await client.callTool('run_query', { sql: nested(MAX_JSON_DEPTH + 1, 'jsonb') });
    expect(typeof (data(past) as { rows: unknown[][] }).rows[0]![0]).toBe('string');
    const obj = await client.callTool('run_query', { sql: `select '{"a":[1,{"b":"]]]"}]}'::json as v` });
    expect((data(obj) as { rows: unknown[][] }).rows[0]![0]).toEqual({ a: [1, { b: ']]]' }] });
  });

  it('a multi-megabyte json value is not turned into objects', async () => {
    const r = await client.callTool('run_query', {
      sql: `select ('[' || string_agg('{}', ',') || ']')::json as v from generate_series(1, 400000)`,
    });
    expect(r.isError, textOf(r)).toBeFalsy();
    const v = (data(r) as { rows: unknown[][] }).rows[0]![0];
    expect(typeof v).toBe('string');
  });
});
