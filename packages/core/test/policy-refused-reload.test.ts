// A refused policy reload on a running server (issue 16, defect 5): the policy in force stays in force
// and is the version /readyz and every audit record name; /readyz and /metrics say the last reload was
// refused, until a valid file is picked up again.
import { createHash } from 'node:crypto';
import { type BootedServer, bootServer, createTestDatabase } from '@mcp-fleet/testkit';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { fixturePolicy, fixtureServer } from './fixtures.js';
import { callMsg, rpc } from './helpers.js';

let s: BootedServer;
let db: Awaited<ReturnType<typeof createTestDatabase>>;
beforeAll(async () => {
  db = await createTestDatabase();
  s = await bootServer(fixtureServer, { policy: fixturePolicy, databaseUrl: db.url });
});
afterAll(async () => {
  await s?.close();
  await db?.drop();
});

const short = (text: string) => createHash('sha256').update(text).digest('hex').slice(0, 12);

// biome-ignore lint/suspicious/noExplicitAny: /readyz answers arbitrary JSON
const readyz = async (): Promise<{ status: number; body: any }> => {
  const res = await fetch(`${s.baseUrl}/readyz`);
  return { status: res.status, body: await res.json() };
};

/** The value of the first series of `name` (whatever its labels, e.g. the default `server`). */
const metric = async (name: string): Promise<number | undefined> => {
  const text = await (await fetch(`${s.baseUrl}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
};

/** Polls until `pred` holds (the server reloads on its own timer); fails after about 15 s. */
async function until(pred: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 150; i++) {
    if (await pred()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function auditedVersion(requestId: string): Promise<string | null> {
  await s.server.runtime.audit.flush();
  const c = new pg.Client({ connectionString: db.url });
  await c.connect();
  try {
    const rows = (
      await c.query<{ policy_version: string | null }>(
        "SELECT policy_version FROM audit_records WHERE details->>'clientRequestId' = $1",
        [requestId],
      )
    ).rows;
    expect(rows).toHaveLength(1);
    return rows[0]!.policy_version;
  } finally {
    await c.end();
  }
}

async function call(requestId: string): Promise<void> {
  const token = await s.token({ sub: 'agent-reload', roles: ['reader'] });
  const res = await rpc(s.url, callMsg('echo_text', { text: 'hi' }), {
    authorization: `Bearer ${token}`,
    'x-request-id': requestId,
  });
  expect(res.body.result?.isError).not.toBe(true);
}

describe('a refused policy reload', () => {
  it('keeps naming the policy in force, says the reload was refused, and clears once a valid file is in force', async () => {
    const original = stringify(fixturePolicy);
    const inForce = short(original);
    expect((await readyz()).body.checks.policy).toBe(`ok (${inForce})`);
    expect(await metric('mcp_policy_reload_failed')).toBe(0);
    const run = `refused-${Date.now()}`;
    await call(`${run}-before`);
    expect(await auditedVersion(`${run}-before`)).toBe(inForce);

    // An invalid file (a typo'd grant key): refused, the old policy stays in force.
    const broken = `${original}\n  typo_role:\n    grants:\n      - servers: [fixture]\n        typo: true\n`;
    const refusedHash = short(broken);
    s.writePolicy(broken);
    await until(async () => (await metric('mcp_policy_reload_failed')) === 1, 'the reload to be refused');

    const r = await readyz();
    expect(r.status).toBe(200); // the policy in force still serves: not a reason to leave the pool
    expect(r.body.checks.policy).toBe(`ok (${inForce})`);
    expect(r.body.checks.policy).not.toContain(refusedHash);
    expect(r.body.checks.policy_reload).toMatch(new RegExp(`^refused \\(${refusedHash}\\): policy invalid`));
    expect(r.body.status).toBe('degraded');
    await call(`${run}-after-refusal`);
    expect(await auditedVersion(`${run}-after-refusal`)).toBe(inForce);

    // A valid file again: picked up, the refusal cleared.
    const next = { ...fixturePolicy, roles: { ...fixturePolicy.roles, extra: { grants: [] } } };
    const nextText = stringify(next);
    s.writePolicy(nextText);
    await until(
      async () => (await readyz()).body.checks.policy === `ok (${short(nextText)})`,
      'the new policy',
    );
    const after = await readyz();
    expect(after.body.checks.policy_reload).toBeUndefined();
    expect(after.body.status).toBe('ready');
    expect(await metric('mcp_policy_reload_failed')).toBe(0);
    await call(`${run}-after-fix`);
    expect(await auditedVersion(`${run}-after-fix`)).toBe(short(nextText));
  });
});
