// What an approver sees is exactly what will run: the arguments shown by the approvals API (one
// request and the list) deep-equal the arguments the handler receives once approved, whatever their
// shape — long strings with a tail, array item 101, secret-looking keys, deep nesting. Arguments too
// large to show in full are refused before any request is opened, and the refusal is audited.
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
import { runApprovals } from '../../../cli/src/commands/approvals.js';
import { sha256 } from '../../src/kernel/fingerprint.js';
import { MAX_ARGUMENT_DEPTH } from '../../src/pipeline/argument-bounds.js';
import { type AuditLine, textOf } from './harness.js';

const received: unknown[] = [];

const applyChange = defineTool({
  name: 'apply_change',
  title: 'Apply a change',
  description: 'Applies a change to a record. Destructive: every call waits for a human approval first.',
  input: z.object({ target: z.string(), change: z.unknown() }),
  governance: { readOnly: false, destructive: true },
  handler: async (args) => {
    received.push(args);
    return { text: `applied change to ${args.target}` };
  },
});

const viewServer: ServerDefinition<undefined> = {
  name: 'viewtest',
  version: '0.0.1',
  defaultPort: 7497,
  tools: [applyChange],
};
const policy = { version: 1, roles: { operator: { grants: [{ servers: ['viewtest'], tools: ['*'] }] } } };

const MAX_BYTES = 200_000;
let issuer: DevIssuer;
let server: BootedServer;
let db: { url: string; drop: () => Promise<void> };
const audit: AuditLine[] = [];
beforeAll(async () => {
  db = await createTestDatabase('fleet_gov_appr_view');
  issuer = await DevIssuer.create();
  await issuer.listen();
  server = await bootServer(viewServer, {
    policy,
    issuer,
    databaseUrl: db.url,
    env: { AUDIT_STDOUT: 'true', APPROVAL_MAX_ARGUMENT_BYTES: String(MAX_BYTES) },
    serverOptions: { auditWrite: (line) => audit.push(JSON.parse(line) as AuditLine) },
  });
});
afterAll(async () => {
  await server?.close();
  await issuer?.close();
  await db?.drop();
});

const agentToken = () => server.token({ sub: 'agent-v', roles: ['operator'], tenant: 'acme', user: 'carol' });
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

// The shapes `redactArguments` used to cut, drop or hide, generated rather than typed one by one.
const secretKey = fc.constantFrom('x_token', 'passage', 'compass', 'api_key', 'password', 'client_secret');
const tail = fc.constantFrom('; AND ALSO REFUND pay_999 TO ATTACKER', ' tail', '');
const longString = fc
  .tuple(fc.integer({ min: 1_995, max: 2_005 }), tail)
  .map(([n, t]) => `${'0'.repeat(n)}${t}`);
const longArray = fc
  .tuple(fc.array(fc.string({ maxLength: 8 }), { minLength: 100, maxLength: 110 }), fc.string())
  .map(([items, last]) => [...items, `item ${items.length + 1}: ${last}`]);
const secretish = fc.dictionary(secretKey, fc.string({ maxLength: 40 }), { minKeys: 1 });
// Arguments (1) > change (2) > nested (3) > `depth` levels > leaf object: up to the accepted bound exactly.
const DEEPEST = MAX_ARGUMENT_DEPTH - 3;
const deepest = fc.oneof(fc.constant(DEEPEST), fc.integer({ min: 5, max: DEEPEST }));
const deep = fc.tuple(deepest, fc.string({ maxLength: 20 })).map(([depth, leaf]) => {
  let v: unknown = { leaf, beyond: 'the bound redactArguments cut' };
  for (let i = 0; i < depth; i++) v = { [`level${depth - i}`]: v };
  return v;
});
const change = fc.record({
  long: longString,
  list: longArray,
  secrets: secretish,
  nested: deep,
  any: fc.jsonValue({ maxDepth: 3 }),
});

describe('approval view', () => {
  it('shows the approver exactly the arguments the handler receives', async () => {
    const agent = await connectClient('modern', server.url, await agentToken());
    let n = 0;
    await fc.assert(
      fc.asyncProperty(change, async (c) => {
        // The arguments as JSON carries them: fc.jsonValue generates -0, which JSON writes as 0.
        const args = JSON.parse(JSON.stringify({ target: `rec-${n++}`, change: c })) as Record<
          string,
          unknown
        >;
        const held = await agent.callTool('apply_change', args);
        const id = /Approval id: ([0-9a-f-]{36})/.exec(textOf(held))?.[1];
        expect(id, textOf(held)).toBeDefined();
        let approved = false;
        try {
          const one = await api('GET', `/approvals/${id}`);
          expect(one.status).toBe(200);
          expect(one.body.arguments).toEqual(args);
          // The shown text is the very text the approval binds: its SHA-256 is the request's argsHash.
          expect(sha256(one.body.argumentsJson as string)).toBe(one.body.argsHash);
          const listed = (await api('GET', '/approvals?status=pending&limit=1000')).body.approvals as {
            id: string;
            arguments: unknown;
          }[];
          expect(listed.find((a) => a.id === id)?.arguments).toEqual(args);

          expect((await api('POST', `/approvals/${id}/approve`)).status).toBe(200);
          approved = true;
          const ran = await agent.callTool('apply_change', { ...args, approval_id: id });
          expect(textOf(ran)).toBe(`applied change to ${args.target}`);
          // The handler got exactly what the approver saw.
          expect(received.at(-1)).toEqual(one.body.arguments);
        } finally {
          // A failing run (and each of fast-check's shrinks) must not leave its request pending: the
          // caller's pending limit would then refuse the next runs and hide the first failure.
          if (!approved) await api('POST', `/approvals/${id}/deny`);
        }
      }),
      { numRuns: 12 },
    );
    await agent.close();
  });

  it('shows the same full arguments in `fleet approvals show`', async () => {
    const agent = await connectClient('modern', server.url, await agentToken());
    const args = {
      target: 'rec-cli',
      change: {
        payment: `pay_${'0'.repeat(1_996)}; AND ALSO REFUND pay_999`,
        x_token: 'visible',
        // Right-to-left override: a terminal would show this reordered.
        file: 'invoice\u202Efdp.exe',
      },
    };
    const id = /Approval id: ([0-9a-f-]{36})/.exec(textOf(await agent.callTool('apply_change', args)))![1]!;
    let stdout = '';
    const code = await runApprovals(['show', id, '--url', server.url, '--json'], {
      env: { FLEET_APPROVER_TOKEN: await approverToken() },
      stdout: (t) => {
        stdout += t;
      },
      stderr: () => {},
    });
    expect(code).toBe(0);
    expect(JSON.parse(stdout).arguments).toEqual(args);
    let text = '';
    await runApprovals(['show', id, '--url', server.url], {
      env: { FLEET_APPROVER_TOKEN: await approverToken() },
      stdout: (t) => {
        text += t;
      },
      stderr: () => {},
    });
    expect(text).toContain('AND ALSO REFUND pay_999');
    expect(text).toContain('"x_token":"visible"');
    // Invisible and reordering characters are shown as escapes (the same JSON value), not rendered.
    expect(text).toContain('"file":"invoice\\u202efdp.exe"');
    expect(text).not.toContain('\u202E');
    await agent.close();
  });

  it('refuses to open an approval whose arguments cannot be shown in full, and audits the refusal', async () => {
    const agent = await connectClient('modern', server.url, await agentToken());
    const big = { target: 'rec-big', change: 'z'.repeat(MAX_BYTES + 10) };
    const r = await agent.callTool('apply_change', big);
    expect(r.isError).toBe(true);
    expect(textOf(r)).toMatch(/too large to show an approver in full \(\d+ bytes, limit 200000\)/);
    expect(textOf(r)).toMatch(/call with smaller arguments/);
    const all = (await api('GET', '/approvals?status=all&limit=1000')).body.approvals as {
      arguments: { target: string };
    }[];
    expect(all.some((a) => a.arguments.target === 'rec-big')).toBe(false);
    const record = audit.filter((a) => a.tool === 'apply_change' && a.method === 'tools/call').at(-1);
    expect(record).toMatchObject({ outcome: 'denied', details: { approvalRefused: 'arguments_too_large' } });
    expect(received.some((a) => (a as { target: string }).target === 'rec-big')).toBe(false);
    await agent.close();
  });
});
