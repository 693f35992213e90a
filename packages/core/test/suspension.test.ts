// The kill switch (issue 15): a person suspends an agent through the agents API; every server sharing
// the fleet database refuses every tools/call of it (code agent_suspended, one audit record, nothing
// runs) once its watcher reloads, before limits, cache, idempotency replay and approvals; tools/list
// shows it nothing; a resume lets it in again. Two replicas on one real PostgreSQL; every wait is for
// an event (a refusal seen, a check flipping), never a duration.
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createFleetServer } from '@mcp-fleet/core';
import { connectClient } from '@mcp-fleet/testkit';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERROR_META_KEY, REPLAYED_META_KEY } from '../src/kernel/meta-keys.js';
import { callMsg, rpc } from './helpers.js';
import {
  type AuditLine,
  eventually,
  ran,
  relayGate,
  SuspFleet,
  suspPolicy,
  suspServer,
} from './suspension-harness.js';

let fleet: SuspFleet;
beforeAll(async () => {
  fleet = await SuspFleet.start({ count: 2 });
});
afterAll(async () => {
  await fleet?.close();
});

// biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON-RPC answers
type Result = any;
let rpcSeq = 0;

/** One tools/call on replica `i`; its result, error code, and the rpc id that names its audit record. */
async function call(i: number, token: string, name: string, args: Record<string, unknown> = {}) {
  const rpcId = `c-${++rpcSeq}-${randomUUID().slice(0, 8)}`;
  const r = await rpc(fleet.servers[i]!.url, callMsg(name, args, rpcId), {
    authorization: `Bearer ${token}`,
  });
  const result: Result = r.body.result;
  return {
    rpcId,
    result,
    code: result?._meta?.[ERROR_META_KEY]?.code as string | undefined,
    text: (result?.content?.[0]?.text ?? '') as string,
  };
}

/** The audit records of one call (by its rpc id). */
const recordsOf = (rpcId: string): AuditLine[] =>
  fleet.audit.filter((a) => a.method === 'tools/call' && a.details?.rpcId === rpcId);

/** Suspends on replica `i` as `person`; the replica's own watcher holds it at once. */
async function suspend(i: number, agent: string, person = 'alice', reason = 'runaway agent') {
  const r = await fleet.api(
    i,
    'POST',
    `/agents/${encodeURIComponent(agent)}/suspend`,
    await fleet.approverToken(person),
    {
      reason,
    },
  );
  expect(r.status).toBe(200);
  return r.body;
}

async function resume(i: number, agent: string, person = 'alice') {
  const r = await fleet.api(
    i,
    'POST',
    `/agents/${encodeURIComponent(agent)}/resume`,
    await fleet.approverToken(person),
    {
      reason: 'fixed',
    },
  );
  expect(r.status).toBe(200);
  return r.body;
}

/** Waits until replica `i` refuses the agent (each probe is a real call, refused without running). */
const refusedOn = (i: number, token: string) =>
  eventually(async () => {
    const r = await call(i, token, 'read_note', { id: 'probe' });
    expect(r.code).toBe('agent_suspended');
  });

const acceptedOn = (i: number, token: string) =>
  eventually(async () => {
    const r = await call(i, token, 'read_note', { id: `probe-${randomUUID()}` });
    expect(r.code).toBeUndefined();
  });

describe('agent suspension', () => {
  it('suspended through the API, every replica refuses every call of the agent; one record per call; resume lets it in', async () => {
    const agent = `agent-${randomUUID().slice(0, 8)}`;
    const token = await fleet.agentToken(agent, { tenant: 'acme', user: 'carol' });
    const other = await fleet.agentToken(`other-${randomUUID().slice(0, 8)}`, { tenant: 'acme' });
    for (const i of [0, 1]) expect((await call(i, token, 'read_note', { id: `n${i}` })).code).toBeUndefined();

    const body = await suspend(0, agent);
    expect(body).toMatchObject({
      event: 'suspended',
      suspension: { agentId: agent, tenant: null, active: true },
    });
    const audits = fleet.records('agents/suspend').filter((a) => a.details?.agentId === agent);
    expect(audits).toHaveLength(1);
    expect(audits[0]).toMatchObject({
      server: 'susptest',
      outcome: 'ok',
      decision: 'allow',
      agentId: 'alice',
    });
    expect(audits[0]!.arguments).toEqual({ agentId: agent, reason: 'runaway agent' });

    await refusedOn(0, token);
    await refusedOn(1, token); // the other replica, through the fleet database

    // Every tool, read or write or destructive, known or not, valid arguments or not: refused, nothing runs.
    const before = { ...ran };
    const attempts = [
      ['read_note', { id: 'a' }],
      ['write_note', { id: 'a', text: 'x', idempotency_key: `k-${randomUUID()}` }],
      ['delete_note', { id: 'a' }],
      ['relay_notes', { id: 'a' }],
      ['no_such_tool', {}],
      ['write_note', { bogus: 1 }],
    ] as const;
    const rpcIds: string[] = [];
    for (const i of [0, 1]) {
      for (const [name, args] of attempts) {
        const r = await call(i, token, name, args);
        expect(r.code).toBe('agent_suspended');
        expect(r.result.isError).toBe(true);
        expect(r.text).toMatch(/suspended/);
        rpcIds.push(r.rpcId);
      }
    }
    expect(ran).toEqual(before);
    for (const id of rpcIds) {
      const records = recordsOf(id);
      expect(records).toHaveLength(1);
      expect(records[0]).toMatchObject({
        decision: 'deny',
        decisionReason: 'agent_suspended',
        outcome: 'denied',
        agentId: agent,
      });
      expect(records[0]!.details).toMatchObject({ errorCode: 'agent_suspended' });
      expect(records[0]!.details).not.toHaveProperty('cost');
    }
    // ...and the same one record per call in the fleet database's audit trail.
    const pool = new pg.Pool({ connectionString: fleet.db!.url });
    try {
      await eventually(async () => {
        const { rows } = await pool.query<{ rpc: string; n: number; outcome: string }>(
          `SELECT details->>'rpcId' AS rpc, count(*)::int AS n, min(outcome) AS outcome
             FROM audit_records WHERE details->>'rpcId' = ANY($1) GROUP BY 1`,
          [rpcIds],
        );
        expect(rows).toHaveLength(rpcIds.length);
        for (const row of rows) expect(row).toMatchObject({ n: 1, outcome: 'denied' });
      });
    } finally {
      await pool.end();
    }

    // tools/list shows the suspended agent nothing; another agent is untouched.
    const client = await connectClient('modern', fleet.servers[1]!.url, token);
    expect((await client.listTools()).tools).toEqual([]);
    await client.close();
    const unaffected = await connectClient('modern', fleet.servers[1]!.url, other);
    expect((await unaffected.listTools()).tools.map((t) => t.name).sort()).toEqual([
      'delete_note',
      'read_note',
      'relay_notes',
      'slow_write',
      'staged_write',
      'write_note',
    ]);
    await unaffected.close();
    expect((await call(1, other, 'read_note', { id: 'other' })).code).toBeUndefined();

    // Resume on the other replica: both accept the agent again.
    expect(await resume(1, agent)).toMatchObject({
      event: 'resumed',
      resumed: [{ agentId: agent, active: false }],
    });
    expect(fleet.records('agents/resume').filter((a) => a.details?.agentId === agent)).toHaveLength(1);
    await acceptedOn(1, token);
    await acceptedOn(0, token);
    const listed = await connectClient('modern', fleet.servers[0]!.url, token);
    expect((await listed.listTools()).tools).toHaveLength(6);
    await listed.close();

    // The history keeps both ends of the suspension.
    const list = await fleet.api(0, 'GET', '/agents', await fleet.approverToken('bob'));
    expect(list.status).toBe(200);
    expect((list.body.suspended as { agentId: string }[]).some((s) => s.agentId === agent)).toBe(false);
    expect(list.body.history).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          agentId: agent,
          active: false,
          suspendedBy: 'alice',
          resumedBy: 'alice',
          resumeReason: 'fixed',
        }),
      ]),
    );
  });

  it('beats an idempotency replay: a stored key neither replays nor runs while suspended, and is intact after', async () => {
    const agent = `idem-${randomUUID().slice(0, 8)}`;
    const token = await fleet.agentToken(agent);
    const key = `key-${randomUUID()}`;
    const args = { id: 'n1', text: 'hello', idempotency_key: key };
    const first = await call(0, token, 'write_note', args);
    expect(first.code).toBeUndefined();
    const writes = ran.write;

    await suspend(0, agent);
    await refusedOn(1, token);
    for (const i of [0, 1]) {
      const r = await call(i, token, 'write_note', args);
      expect(r.code).toBe('agent_suspended');
      expect(r.result._meta?.[REPLAYED_META_KEY]).toBeUndefined();
      expect(recordsOf(r.rpcId)).toHaveLength(1);
    }
    expect(ran.write).toBe(writes);

    await resume(0, agent);
    await acceptedOn(1, token);
    const replay = await call(1, token, 'write_note', args);
    expect(replay.code).toBeUndefined();
    expect(replay.result._meta?.[REPLAYED_META_KEY]).toBeTruthy();
    expect(ran.write).toBe(writes);
  });

  it('beats an approved approval: the approved call does not run, and the suspension withdraws the approval (a resume does not bring it back)', async () => {
    const agent = `appr-${randomUUID().slice(0, 8)}`;
    const token = await fleet.agentToken(agent, { user: 'carol' });
    const held = await call(0, token, 'delete_note', { id: 'doomed' });
    const approvalId = held.result._meta?.['io.mcp-fleet/governance']?.approvalId as string;
    expect(approvalId).toMatch(/^[0-9a-f-]{36}$/);
    const approved = await fleet.api(
      0,
      'POST',
      `/approvals/${approvalId}/approve`,
      await fleet.approverToken('bob'),
      {
        note: 'ok',
      },
    );
    expect(approved.status).toBe(200);

    await suspend(1, agent);
    await refusedOn(0, token);
    const destroyed = ran.destroy;
    for (const i of [0, 1]) {
      const r = await call(i, token, 'delete_note', { id: 'doomed', approval_id: approvalId });
      expect(r.code).toBe('agent_suspended');
      expect(recordsOf(r.rpcId)).toHaveLength(1);
    }
    expect(ran.destroy).toBe(destroyed);
    const withdrawn = await fleet.api(0, 'GET', `/approvals/${approvalId}`, await fleet.approverToken('bob'));
    expect(withdrawn.body).toMatchObject({
      status: 'denied',
      revokedBy: 'alice',
      revokeNote: 'agent suspended',
    });

    await resume(1, agent);
    await acceptedOn(0, token);
    const after = await call(0, token, 'delete_note', { id: 'doomed', approval_id: approvalId });
    expect(after.code).toBe('approval_refused');
    expect(ran.destroy).toBe(destroyed);
  });

  it('stops a call that was running when its agent was suspended, and refuses its nested call', async () => {
    const agent = `nest-${randomUUID().slice(0, 8)}`;
    const token = await fleet.agentToken(agent);
    const started = once(relayGate, 'started');
    const pending = call(0, token, 'relay_notes', { id: 'inner', wait: true });
    await started;
    const reads = ran.read;
    await suspend(0, agent); // the desk reloads this replica's watcher before it answers
    const r = await pending; // stopped by the suspension while it waited
    expect(r.code).toBe('agent_suspended');
    const parent = recordsOf(r.rpcId);
    expect(parent).toHaveLength(1);
    expect(parent[0]).toMatchObject({ outcome: 'denied', decisionReason: 'agent_suspended' });
    expect(parent[0]!.details).toMatchObject({ cancelledBy: 'suspension', suspension: { at: 'running' } });
    // The handler, let go, tries its nested read: refused, and nothing is read.
    relayGate.emit('release');
    const nested = await eventually(async () => {
      const n = fleet.audit.filter((a) => a.details?.parentCallId === parent[0]!.id);
      expect(n).toHaveLength(1);
      return n;
    });
    expect(nested[0]).toMatchObject({
      tool: 'read_note',
      outcome: 'denied',
      decisionReason: 'agent_suspended',
    });
    expect(ran.read).toBe(reads);
    await resume(0, agent);
  });

  it('records the cost units of every call that passed the limits, none for one refused before them', async () => {
    const token = await fleet.agentToken(`cost-${randomUUID().slice(0, 8)}`);
    const write = await call(0, token, 'write_note', { id: 'c', text: 'x' });
    const read = await call(0, token, 'read_note', { id: `c-${randomUUID()}` });
    const cached = await call(0, token, 'read_note', { id: 'c-cached' });
    const cachedAgain = await call(0, token, 'read_note', { id: 'c-cached' });
    const invalid = await call(0, token, 'read_note', { nope: true });
    expect(recordsOf(write.rpcId)[0]!.details).toMatchObject({ cost: 4 });
    expect(recordsOf(read.rpcId)[0]!.details).toMatchObject({ cost: 1 });
    expect(recordsOf(cached.rpcId)[0]!.details).toMatchObject({ cost: 1 });
    expect(recordsOf(cachedAgain.rpcId)[0]).toMatchObject({ outcome: 'cached', details: { cost: 1 } });
    expect(recordsOf(invalid.rpcId)[0]!.details).not.toHaveProperty('cost');
  });
});

describe('the agents API', () => {
  it('refuses agent tokens, whatever their scope or audience, and audits the signed attempts', async () => {
    const target = `victim-${randomUUID().slice(0, 8)}`;
    const attacker = `rogue-${randomUUID().slice(0, 8)}`;
    const tokens = [
      await fleet.agentToken(attacker),
      await fleet.agentToken(attacker, { scope: 'mcp:approve' }),
      await fleet.agentToken(attacker, { scope: 'mcp:approve', aud: `${'http://susptest.local'}/approvals` }),
      await fleet.issuer.mint({
        sub: attacker,
        aud: ['http://susptest.local/approvals', 'http://susptest.local/mcp'],
        scope: 'mcp:approve',
      }),
      await fleet.approverToken(attacker, { extra: { act: { sub: 'someone' } } }),
    ];
    for (const t of tokens) {
      for (const path of [`/agents/${target}/suspend`, `/agents/${target}/resume`]) {
        const r = await fleet.api(0, 'POST', path, t, { reason: 'x' });
        expect(r.status).toBe(401);
      }
      expect((await fleet.api(0, 'GET', '/agents', t)).status).toBe(401);
    }
    expect((await fleet.api(0, 'POST', `/agents/${target}/suspend`, undefined)).status).toBe(401);
    expect((await fleet.api(0, 'POST', `/agents/${target}/suspend`, 'garbage')).status).toBe(401);
    const list = await fleet.api(0, 'GET', '/agents', await fleet.approverToken('alice'));
    expect((list.body.history as { agentId: string }[]).some((s) => s.agentId === target)).toBe(false);
    const refused = fleet.audit.filter(
      (a) => a.method.startsWith('agents/') && a.details?.agentId === target,
    );
    expect(refused.length).toBeGreaterThan(0);
    for (const a of refused) {
      expect(a).toMatchObject({ outcome: 'denied', decision: 'deny' });
      expect(a.details?.presentedBy).toMatchObject({ subject: attacker });
    }
  });

  it('never lets anyone lift their own suspension, by any of their names; stopping oneself is allowed; a person may stop the agent acting for them', async () => {
    const agent = `Self-${randomUUID().slice(0, 8)}`;
    const cases = [
      await fleet.approverToken(agent),
      await fleet.approverToken('someone', { extra: { preferred_username: agent.toLowerCase() } }),
      await fleet.approverToken('someone', { extra: { email: `\u200b${agent.toUpperCase()}` } }),
      await fleet.approverToken('someone', { extra: { azp: agent } }),
    ];
    // The kill switch works on oneself: the agent's own approver identity may suspend it...
    expect((await fleet.api(0, 'POST', `/agents/${agent}/suspend`, cases[0]!, {})).status).toBe(200);
    await refusedOn(1, await fleet.agentToken(agent));
    // ...but none of its names may lift it.
    for (const t of cases) {
      const r = await fleet.api(0, 'POST', `/agents/${agent}/resume`, t, {});
      expect(r.status).toBe(403);
      expect(r.body.error).toBe('self_suspension');
    }
    expect(fleet.records('agents/resume').filter((a) => a.details?.agentId === agent)).toHaveLength(
      cases.length,
    );
    await refusedOn(1, await fleet.agentToken(agent));
    await resume(0, agent, 'bob');
    await acceptedOn(1, await fleet.agentToken(agent));
    // carol suspends (and resumes) the agent that acts for her.
    const forCarol = await fleet.agentToken(agent, { user: 'carol' });
    await suspend(0, agent, 'carol');
    await refusedOn(1, forCarol);
    const again = await fleet.api(
      0,
      'POST',
      `/agents/${agent}/resume`,
      await fleet.approverToken(agent.toLowerCase()),
      {},
    );
    expect(again.status).toBe(403);
    await resume(0, agent, 'carol');
    await acceptedOn(1, forCarol);
  });

  it('validates the agent id and the reason; refuses a second suspension and a resume of nothing', async () => {
    const alice = await fleet.approverToken('alice');
    const audited = fleet.audit.length;
    for (const id of ['x'.repeat(257), 'bell%07', 'nul%00', '%20padded', 'lf%0Aid', 'bad%ZZ']) {
      const r = await fleet.api(0, 'POST', `/agents/${id}/suspend`, alice, {});
      expect(r.status).toBe(400);
    }
    expect(fleet.audit.filter((a) => a.method.startsWith('agents/')).length).toBe(
      fleet.audit.slice(0, audited).filter((a) => a.method.startsWith('agents/')).length,
    );
    // The longest id (and one no path parameter could hold) is accepted, any printable character too.
    const longest = `${'l'.repeat(240)}-${randomUUID().slice(0, 8)}/é`.padEnd(256, 'z');
    expect(longest).toHaveLength(256);
    expect((await suspend(1, longest)).suspension).toMatchObject({ agentId: longest });
    await refusedOn(0, await fleet.agentToken(longest));
    await resume(0, longest);
    const agent = `valid-${randomUUID().slice(0, 8)}`;
    for (const reason of ['r'.repeat(501), 'two\nlines', 42, ['a']]) {
      const r = await fleet.api(0, 'POST', `/agents/${agent}/suspend`, alice, { reason });
      expect(r.status).toBe(400);
    }
    const bad = fleet.records('agents/suspend').filter((a) => a.details?.agentId === agent);
    expect(bad).toHaveLength(4);
    for (const a of bad) {
      expect(a).toMatchObject({ outcome: 'denied', details: { errorCode: 'invalid_arguments' } });
      expect(a.arguments).toEqual({ agentId: agent });
    }
    expect((await fleet.api(0, 'POST', `/agents/${agent}/resume`, alice, {})).status).toBe(404);
    await suspend(0, agent, 'alice', 'r'.repeat(500));
    const twice = await fleet.api(
      1,
      'POST',
      `/agents/${agent.toUpperCase()}/suspend`,
      await fleet.approverToken('bob'),
      {},
    );
    expect(twice.status).toBe(409);
    expect(twice.body).toMatchObject({ error: 'already_suspended', suspension: { agentId: agent } });
    // Any spelling that names the agent resumes it.
    await resume(1, agent.toUpperCase(), 'bob');
  });

  it("stops the agent in every tenant; a tenant approver sees and resumes only their tenant's suspensions", async () => {
    const agent = `tenant-${randomUUID().slice(0, 8)}`;
    const inAcme = await fleet.agentToken(agent, { tenant: 'acme' });
    const inGlobex = await fleet.agentToken(agent, { tenant: 'globex' });
    const acme = await fleet.approverToken('ann', { tenant: 'acme' });
    const globex = await fleet.approverToken('gus', { tenant: 'globex' });
    const r = await fleet.api(0, 'POST', `/agents/${agent}/suspend`, acme, {});
    expect(r.body).toMatchObject({ suspension: { tenant: 'acme' } });
    await refusedOn(1, inAcme);
    await refusedOn(1, inGlobex); // the kill switch errs on stopping (suspension-tenants.test.ts)
    const seen = await fleet.api(0, 'GET', '/agents', globex);
    expect((seen.body.suspended as { agentId: string }[]).some((s) => s.agentId === agent)).toBe(false);
    expect((await fleet.api(0, 'POST', `/agents/${agent}/resume`, globex, {})).status).toBe(404);
    expect((await fleet.api(0, 'POST', `/agents/${agent}/resume`, acme, {})).status).toBe(200);
    await acceptedOn(1, inAcme);
    await acceptedOn(1, inGlobex);
  });

  it('keeps the last known set when a reload fails, and says so in /readyz and /metrics', async () => {
    const agent = `outage-${randomUUID().slice(0, 8)}`;
    const token = await fleet.agentToken(agent);
    await suspend(0, agent);
    await refusedOn(1, token);
    const replica = fleet.servers[1]!;
    const readyz = async () =>
      (await (await fetch(`${replica.baseUrl}/readyz`)).json()) as {
        status: string;
        checks: Record<string, string>;
      };
    const metric = async (name: string) => {
      const text = await (await fetch(`${replica.baseUrl}/metrics`)).text();
      const line = text.split('\n').find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
      return Number(line?.slice(line.lastIndexOf(' ') + 1));
    };
    expect((await readyz()).checks.agent_suspensions).toBe('ok');
    expect(await metric('mcp_agents_suspended')).toBeGreaterThanOrEqual(1);
    const pool = new pg.Pool({ connectionString: fleet.db!.url });
    try {
      await pool.query('ALTER TABLE agent_suspensions RENAME TO agent_suspensions_away');
      await eventually(async () => expect((await readyz()).checks.agent_suspensions).toBe('failing'));
      expect((await readyz()).status).toBe('degraded');
      expect(await metric('mcp_suspension_reload_failed')).toBe(1);
      expect((await call(1, token, 'read_note', { id: 'still' })).code).toBe('agent_suspended');
    } finally {
      await pool.query('ALTER TABLE agent_suspensions_away RENAME TO agent_suspensions');
      await pool.end();
    }
    await eventually(async () => expect((await readyz()).checks.agent_suspensions).toBe('ok'));
    expect(await metric('mcp_suspension_reload_failed')).toBe(0);
    await resume(0, agent);
    await acceptedOn(1, token);
  });
});

describe('without a fleet database', () => {
  it('offers no suspension (503) and refuses nothing', async () => {
    const bare = await SuspFleet.start({ count: 1, database: false });
    try {
      const r = await bare.api(0, 'POST', '/agents/anyone/suspend', await bare.approverToken('alice'), {});
      expect(r.status).toBe(503);
      const token = await bare.agentToken('anyone');
      const res = await rpc(bare.servers[0]!.url, callMsg('read_note', { id: 'x' }), {
        authorization: `Bearer ${token}`,
      });
      expect(res.body.result.isError).toBeFalsy();
      const ready = (await (await fetch(`${bare.servers[0]!.baseUrl}/readyz`)).json()) as { checks: object };
      expect(ready.checks).not.toHaveProperty('agent_suspensions');
    } finally {
      await bare.close();
    }
  });

  it('refuses a SUSPENSION_POLL_MS that would break the 10 s promise', async () => {
    await expect(
      createFleetServer(suspServer, {
        policy: suspPolicy as never,
        env: {
          SUSPENSION_POLL_MS: '5001',
          LOG_LEVEL: 'silent',
          AUTH_ISSUER: 'http://127.0.0.1:1',
          AUTH_JWKS_URL: 'http://127.0.0.1:1/jwks',
        },
      }),
    ).rejects.toThrow(/SUSPENSION_POLL_MS/);
  });
});
