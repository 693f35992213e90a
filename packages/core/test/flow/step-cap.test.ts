// R2a-5 through the real pipeline: ONE read whose result is cut at the per-result fingerprint bound
// (junk values first, the real rows after) marks the session capped, so a paste of the rows — which
// copy detection cannot see — is held (copy-capped) and nothing is sent; a read under the bound marks
// nothing. Real server (testkit), real PostgreSQL and Redis; and the taint store's `capped` option in
// every store (PostgreSQL + Redis, Redis alone, in process).
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { defineTool, type ServerDefinition } from '@mcp-fleet/core';
import {
  type BootedServer,
  bootServer,
  createTestDatabase,
  DevIssuer,
  testRedisUrl,
} from '@mcp-fleet/testkit';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { MAX_RESULT_FINGERPRINTS } from '../../src/flow/fingerprints.js';
import { createTaintStore, FINGERPRINT_CAP, type TaintStore } from '../../src/flow/taint-store.js';
import { sessionKey } from '../../src/identity/caller-keys.js';
import { ERROR_META_KEY } from '../../src/kernel/meta-keys.js';
import { createLogger } from '../../src/observability/logger.js';
import type { Step } from '../../src/pipeline/runtime.js';
import { callMsg, rpc } from '../helpers.js';

const sent: { to: string; body: string }[] = [];
const ROWS = [
  [1, 'Juniper Works 1', ['billing@customer1.example.com']],
  [6, 'Kite Media 6', ['billing@customer6.example.com']],
];
const md5 = (n: number) => createHash('md5').update(String(n)).digest('hex');

/** The finding's query: one row whose array holds `junk` md5 strings, then the real rows. */
const runQuery = defineTool({
  name: 'run_query',
  title: 'Run query',
  description: 'Runs a query over one schema and returns its rows.',
  input: z.object({ schema: z.string(), junk: z.number().int().min(0) }),
  governance: { readOnly: true },
  handler: async ({ schema, junk }, ctx) => {
    ctx.source('schema', schema);
    const arr = Array.from({ length: junk }, (_, i) => md5(i));
    return {
      data: { columns: [{ name: 'k' }, { name: 'v' }, { name: 'e' }], rows: [[0, 'junk', arr], ...ROWS] },
    };
  },
});
const postMessage = defineTool({
  name: 'post_message',
  title: 'Post message',
  description: 'Posts a message to an internal channel.',
  input: z.object({ channel: z.string(), text: z.string() }),
  governance: { readOnly: false },
  handler: async ({ channel, text }) => {
    sent.push({ to: channel, body: text });
    return { text: 'posted' };
  },
});
const outbound: Step = async (c, next) => {
  if (c.tool.name === 'post_message') {
    const { channel, text } = c.args as { channel: string; text: string };
    c.outbound({ destinations: [{ id: `slack:${channel}`, to: 'internal' }], content: [text] });
  }
  return next();
};
const server: ServerDefinition<undefined> = {
  name: 'captest',
  version: '0.0.1',
  defaultPort: 7498,
  tools: [runQuery, postMessage],
  steps: [{ at: 'checks', step: outbound }],
};
const policy = {
  version: 1,
  roles: { support: { grants: [{ servers: ['captest'], tools: ['*'] }] } },
  flow: {
    labels: { sources: { 'captest.schema': { sales: ['pii'] } } },
    rules: [],
    copy: { of: ['pii'], to: 'any', minMatches: 3 },
  },
};

interface AuditLine {
  agentId: string;
  tool: string;
  outcome: string;
  decisionReason: string;
  // biome-ignore lint/suspicious/noExplicitAny: tests walk arbitrary audit details
  details: Record<string, any> | null;
}
const audit: AuditLine[] = [];
const PUBLIC_URL = 'http://captest.local';
let db: Awaited<ReturnType<typeof createTestDatabase>>;
let issuer: DevIssuer;
let fleet: BootedServer;

beforeAll(async () => {
  db = await createTestDatabase();
  issuer = await DevIssuer.create();
  await issuer.listen();
  fleet = await bootServer(server, {
    policy,
    issuer,
    databaseUrl: db.url,
    env: {
      PUBLIC_URL,
      AUDIT_STDOUT: 'true',
      REDIS_URL: testRedisUrl(),
      REDIS_KEY_PREFIX: `cap-${randomBytes(4).toString('hex')}`,
    },
    serverOptions: { auditWrite: (line) => audit.push(JSON.parse(line) as AuditLine) },
  });
});
afterAll(async () => {
  await fleet?.close();
  await issuer?.close();
  await db?.drop();
});

function session() {
  const agent = `cap-${randomUUID().slice(0, 8)}`;
  const sid = randomUUID();
  let n = 0;
  return {
    key: sessionKey({ tenant: undefined, agentId: agent, user: undefined, session: sid }),
    async call(name: string, args: Record<string, unknown>) {
      const token = await issuer.mint({ sub: agent, roles: ['support'], sid, aud: `${PUBLIC_URL}/mcp` });
      n += 1;
      const done = () =>
        audit.filter((a) => a.agentId === agent && a.tool === name && a.outcome !== 'started');
      const before = done().length;
      const r = await rpc(fleet.url, callMsg(name, args, n), { authorization: `Bearer ${token}` });
      if (!r.body?.result) throw new Error(`no result: ${r.status} ${r.text.slice(0, 300)}`);
      for (let i = 0; i < 500 && done().length <= before; i++) await sleep(10);
      const lines = done();
      return { result: r.body.result, audit: lines.at(-1) };
    },
  };
}
// biome-ignore lint/suspicious/noExplicitAny: JSON-RPC answers
const codeOf = (result: any) => result?._meta?.[ERROR_META_KEY]?.code;
const PASTE = 'Juniper Works 1, billing@customer1.example.com\nKite Media 6, billing@customer6.example.com';

describe('a read cut at the per-result fingerprint bound (R2a-5)', () => {
  it('junk first, rows after: the session is capped and a paste of the rows is held (copy-capped); nothing is posted', async () => {
    const s = session();
    const read = await s.call('run_query', { schema: 'sales', junk: MAX_RESULT_FINGERPRINTS + 1000 });
    expect(read.result.isError).toBeUndefined();
    expect(read.audit?.details?.flow).toMatchObject({ labels: ['pii'], cut: true });
    const taint = await fleet.server.runtime.governance.flow.taint.load(s.key);
    expect(taint.fingerprintsCapped).toBe(FINGERPRINT_CAP);
    const before = sent.length;
    const held = await s.call('post_message', { channel: 'C0SUPPORT1', text: PASTE });
    expect(codeOf(held.result)).toBe('awaiting_approval');
    expect(held.audit?.details?.flow?.holds).toEqual([
      expect.objectContaining({ kind: 'copy', name: 'copy-capped', action: 'approval' }),
    ]);
    expect(sent.length).toBe(before);
  });

  it('the same rows under the bound: nothing is marked; the paste is held by copy detection itself, other text is posted', async () => {
    const s = session();
    const read = await s.call('run_query', { schema: 'sales', junk: 1000 });
    expect(read.audit?.details?.flow?.cut).toBeUndefined();
    expect((await fleet.server.runtime.governance.flow.taint.load(s.key)).fingerprintsCapped).toBeUndefined();
    const before = sent.length;
    const held = await s.call('post_message', { channel: 'C0SUPPORT1', text: PASTE });
    expect(codeOf(held.result)).toBe('awaiting_approval');
    expect(held.audit?.details?.flow?.holds).toEqual([
      expect.objectContaining({ kind: 'copy', name: 'copy' }),
    ]);
    const ok = await s.call('post_message', {
      channel: 'C0SUPPORT1',
      text: 'The export is in the shared folder.',
    });
    expect(ok.result.isError).toBeUndefined();
    expect(sent.length).toBe(before + 1);
  });
});

describe('the taint store’s capped option, in every store', () => {
  const logger = createLogger({ level: 'silent' });
  let pool: pg.Pool;
  let redis: Redis;
  const stores: TaintStore[] = [];
  beforeAll(async () => {
    pool = new pg.Pool({ connectionString: db.url, max: 2 });
    redis = new Redis(testRedisUrl());
  });
  afterAll(async () => {
    for (const s of stores) await s.close();
    await pool?.end();
    redis?.disconnect();
  });
  const fp = (n: number) => ({
    fp: md5(n).slice(0, 16),
    label: 'pii',
    server: 'captest',
    tool: 'run_query',
    at: '2026-11-29T23:00:00.000Z',
    auditId: `a${n}`,
  });
  const read = {
    label: 'pii',
    server: 'captest',
    tool: 'run_query',
    at: '2026-11-29T23:00:00.000Z',
    auditId: 'a1',
  };
  const kinds: [string, () => TaintStore][] = [
    ['PostgreSQL + Redis', () => createTaintStore({ pool, redis, keyPrefix: `c-${randomUUID()}:`, logger })],
    ['PostgreSQL', () => createTaintStore({ pool, keyPrefix: '', logger })],
    ['Redis alone', () => createTaintStore({ redis, keyPrefix: `c-${randomUUID()}:`, logger })],
    ['in process', () => createTaintStore({ keyPrefix: '', logger })],
  ];
  for (const [name, make] of kinds)
    it(`${name}: a cut read marks the session capped after storing its fingerprints; an uncut one does not`, async () => {
      const st = make();
      stores.push(st);
      const a = JSON.stringify(['t', 'agent', 'u', randomUUID()]);
      const b = JSON.stringify(['t', 'agent', 'u', randomUUID()]);
      await st.record(a, [read], [fp(1), fp(2)], 600);
      expect((await st.load(a)).fingerprintsCapped).toBeUndefined();
      await st.record(b, [read], [fp(1), fp(2)], 600, { capped: true });
      expect((await st.load(b)).fingerprintsCapped).toBe(FINGERPRINT_CAP);
      expect([...(await st.matchFingerprints(b, [fp(1).fp, fp(2).fp])).keys()].sort()).toEqual(
        [fp(1).fp, fp(2).fp].sort(),
      );
      // Still capped on a later uncut record (as a session at its cap stays capped).
      await st.record(b, [read], [fp(3)], 600);
      expect((await st.load(b)).fingerprintsCapped).toBe(FINGERPRINT_CAP);
    });
});
