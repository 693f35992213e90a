// Issue 15 (the re-ask attack): the caller's idempotency key changes what runs (a tool derives its
// upstream's de-duplication key from it: with a fresh key the same arguments are a NEW refund), so an
// approval binds and shows it. The approver sees the arguments plus `"idempotency_key": "<as sent>"`
// (nothing extra without one), that text's SHA-256 is what the request binds, an open request is only
// reused for the same key, and a resume that adds, drops or changes the key is refused as different
// arguments, runs nothing and does not spend the approval. Generated over where the key travels
// (arguments or _meta) at the ask and at the resume.
import { defineTool, type ServerDefinition } from '@mcp-fleet/core';
import {
  type BootedServer,
  bootServer,
  connectClient,
  createTestDatabase,
  DevIssuer,
} from '@mcp-fleet/testkit';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { sha256 } from '../../src/kernel/fingerprint.js';
import { textOf } from '../governance/harness.js';

/** What each run of the test tools received: its arguments and the caller key core passed on. */
const ran: { args: unknown; key: string | undefined }[] = [];

const payOut = defineTool({
  name: 'pay_out',
  title: 'Pay out',
  description: 'Pays out money. Destructive: every call waits for a human approval first.',
  input: z.object({ account: z.string(), amount: z.number().int().positive() }),
  governance: { readOnly: false, destructive: true },
  handler: async (args, ctx) => {
    ran.push({ args, key: ctx.idempotencyKey });
    return { text: `paid ${args.amount} to ${args.account}` };
  },
});

/** A tool that declares `idempotency_key` itself (it is then its own argument, passed through). */
const ownKey = defineTool({
  name: 'own_key',
  title: 'Own key',
  description: 'Declares idempotency_key itself. Destructive.',
  input: z.object({ account: z.string(), idempotency_key: z.string().optional() }),
  governance: { readOnly: false, destructive: true },
  handler: async (args, ctx) => {
    ran.push({ args, key: ctx.idempotencyKey });
    return { text: 'done' };
  },
});

const keyServer: ServerDefinition<undefined> = {
  name: 'keytest',
  version: '0.0.1',
  defaultPort: 7496,
  tools: [payOut, ownKey],
};
const policy = { version: 1, roles: { operator: { grants: [{ servers: ['keytest'], tools: ['*'] }] } } };

let issuer: DevIssuer;
let server: BootedServer;
let db: { url: string; drop: () => Promise<void> };
beforeAll(async () => {
  db = await createTestDatabase('fleet_appr_idem_key');
  issuer = await DevIssuer.create();
  await issuer.listen();
  server = await bootServer(keyServer, { policy, issuer, databaseUrl: db.url });
});
afterAll(async () => {
  await server?.close();
  await issuer?.close();
  await db?.drop();
});

let agents = 0;
const agent = async () =>
  connectClient(
    'modern',
    server.url,
    await server.token({ sub: `agent-k${agents++}`, roles: ['operator'], tenant: 'acme', user: 'carol' }),
  );
const approverToken = () =>
  issuer.mintApprover({ sub: 'human-vera', aud: `${server.baseUrl}/approvals`, tenant: 'acme' });
async function api(method: 'GET' | 'POST', path: string) {
  const res = await fetch(`${server.baseUrl}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${await approverToken()}`,
      ...(method === 'POST' ? { 'content-type': 'application/json' } : {}),
    },
    ...(method === 'POST' ? { body: '{}' } : {}),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}
const idOf = (r: unknown) => /Approval id: ([0-9a-f-]{36})/.exec(textOf(r as never))?.[1];

/** How a call carries its key: none, in the arguments, or in _meta. */
type Via = 'args' | 'meta';
type Key = { key: string; via: Via } | null;
const IDEM_META = 'io.mcp-fleet/idempotencyKey';
function send(args: Record<string, unknown>, k: Key, extra: Record<string, unknown> = {}) {
  const a = { ...args, ...extra, ...(k?.via === 'args' ? { idempotency_key: k.key } : {}) };
  const meta = k?.via === 'meta' ? { [IDEM_META]: k.key } : undefined;
  return [a, meta] as const;
}

const via = fc.constantFrom<Via>('args', 'meta');
// The key at the ask, and at the resume: the same key (either transport), a changed one, added, dropped.
const variant = fc.record({
  ask: fc.option(via, { nil: null }),
  resume: fc.oneof(
    fc.record({ kind: fc.constant('same' as const), via }),
    fc.record({ kind: fc.constant('other' as const), via }),
    fc.record({ kind: fc.constant('none' as const) }),
  ),
});

describe('an approval binds and shows the caller idempotency key', () => {
  it('generated: same key runs once; a key added, dropped or changed at the resume is refused', async () => {
    let n = 0;
    const seen = { ran: 0, refused: 0 };
    await fc.assert(
      fc.asyncProperty(variant, fc.integer({ min: 1, max: 10_000 }), async (v, amount) => {
        n++;
        const c = await agent();
        const args = { account: `acct-${n}`, amount };
        const askKey: Key = v.ask === null ? null : { key: `k-${n}-a`, via: v.ask };
        const resumeKey: Key =
          v.resume.kind === 'none'
            ? null
            : v.resume.kind === 'same'
              ? askKey === null
                ? null
                : { key: askKey.key, via: v.resume.via }
              : { key: `k-${n}-b`, via: v.resume.via };
        const sameKey = (askKey?.key ?? null) === (resumeKey?.key ?? null);

        const held = await c.callTool('pay_out', ...send(args, askKey));
        const id = idOf(held);
        expect(id, textOf(held)).toBeDefined();
        // What the approver is shown: the arguments plus the key as sent, and it is what is bound.
        const one = await api('GET', `/approvals/${id}`);
        const shown = askKey === null ? args : { ...args, idempotency_key: askKey.key };
        expect(one.body.arguments).toEqual(shown);
        expect(JSON.parse(one.body.argumentsJson as string)).toEqual(shown);
        expect(sha256(one.body.argumentsJson as string)).toBe(one.body.argsHash);
        // An open request is reused only for the same key (whichever way it travels).
        const again = await c.callTool('pay_out', ...send(args, askKey && { key: askKey.key, via: 'args' }));
        expect(idOf(again)).toBe(id);
        if (!sameKey) {
          const other = await c.callTool('pay_out', ...send(args, resumeKey));
          expect(idOf(other)).toBeDefined();
          expect(idOf(other)).not.toBe(id);
        }

        expect((await api('POST', `/approvals/${id}/approve`)).status).toBe(200);
        const before = ran.length;
        const out = await c.callTool('pay_out', ...send(args, resumeKey, { approval_id: id }));
        if (sameKey) {
          seen.ran++;
          expect(textOf(out)).toBe(`paid ${amount} to ${args.account}`);
          expect(ran.length).toBe(before + 1);
          expect(ran.at(-1)).toEqual({ args, key: askKey?.key });
        } else {
          seen.refused++;
          expect(out.isError).toBe(true);
          expect(textOf(out)).toMatch(/was given for different arguments/);
          expect(ran.length).toBe(before);
          // Not spent: the approved call, with the approved key, still runs, once.
          expect((await api('GET', `/approvals/${id}`)).body.status).toBe('approved');
          const right = await c.callTool('pay_out', ...send(args, askKey, { approval_id: id }));
          expect(textOf(right)).toBe(`paid ${amount} to ${args.account}`);
          expect(ran.length).toBe(before + 1);
          expect(ran.at(-1)?.key).toBe(askKey?.key);
        }
        await c.close();
      }),
      { numRuns: 30 },
    );
    expect(seen.ran).toBeGreaterThan(0);
    expect(seen.refused).toBeGreaterThan(0);
  });

  it('a tool that declares idempotency_key itself: bound once in the arguments; only in _meta is refused', async () => {
    const c = await agent();
    const held = await c.callTool('own_key', { account: 'acct-own', idempotency_key: 'own-1' });
    const id = idOf(held);
    const one = await api('GET', `/approvals/${id}`);
    expect(one.body.argumentsJson).toBe('{"account":"acct-own","idempotency_key":"own-1"}');
    const before = ran.length;
    const metaOnly = await c.callTool('own_key', { account: 'acct-own' }, { [IDEM_META]: 'own-1' });
    expect(metaOnly.isError).toBe(true);
    expect(textOf(metaOnly)).toMatch(/declares `idempotency_key` itself; send it in the arguments/);
    expect((await api('POST', `/approvals/${id}/approve`)).status).toBe(200);
    const resumedMetaOnly = await c.callTool(
      'own_key',
      { account: 'acct-own', approval_id: id },
      { [IDEM_META]: 'own-1' },
    );
    expect(resumedMetaOnly.isError).toBe(true);
    expect(ran.length).toBe(before);
    const ok = await c.callTool('own_key', {
      account: 'acct-own',
      idempotency_key: 'own-1',
      approval_id: id,
    });
    expect(textOf(ok)).toBe('done');
    expect(ran.at(-1)).toEqual({ args: { account: 'acct-own', idempotency_key: 'own-1' }, key: 'own-1' });
    await c.close();
  });
});
