// A fleet database that hangs (accepts, then never answers) while agents are suspended: the reload
// fails instead of waiting forever, /readyz says so (agent_suspensions: failing, degraded), and the
// suspension loaded before stays in force: an outage never resumes anyone.
import { randomUUID } from 'node:crypto';
import { createServer, Socket } from 'node:net';
import { bootServer, createTestDatabase } from '@mcp-fleet/testkit';
import { expect, it } from 'vitest';
import { callMsg, rpc } from './helpers.js';
import {
  APPROVALS_AUDIENCE,
  eventually,
  PUBLIC_URL,
  ran,
  suspPolicy,
  suspServer,
} from './suspension-harness.js';

/** A TCP proxy to PostgreSQL that can be frozen: it then keeps every connection open and forwards nothing. */
async function freezableProxy(target: URL) {
  const sockets = new Set<Socket>();
  let frozen = false;
  const server = createServer((client) => {
    const upstream = new Socket();
    sockets.add(client).add(upstream);
    upstream.connect(Number(target.port || 5432), target.hostname);
    client.on('data', (d) => frozen || upstream.write(d));
    upstream.on('data', (d) => frozen || client.write(d));
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('close', end).on('error', end);
    upstream.on('close', end).on('error', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  const url = new URL(target);
  url.hostname = '127.0.0.1';
  url.port = String(port);
  return {
    url: url.toString(),
    freeze: () => {
      frozen = true;
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

it('keeps refusing a suspended agent while the fleet database hangs, and /readyz says the reload fails', async () => {
  const db = await createTestDatabase('fleet_susp_hang');
  const proxy = await freezableProxy(new URL(db.url));
  const booted = await bootServer(suspServer, {
    policy: suspPolicy,
    databaseUrl: proxy.url,
    env: { PUBLIC_URL, SUSPENSION_POLL_MS: '100' },
  });
  const agent = `hang-${randomUUID().slice(0, 8)}`;
  const token = await booted.token({ sub: agent, roles: ['operator'], aud: `${PUBLIC_URL}/mcp` });
  const code = async () => {
    const r = await rpc(booted.url, callMsg('read_note', { id: randomUUID() }), {
      authorization: `Bearer ${token}`,
    });
    return r.body.result._meta?.['io.mcp-fleet/error']?.code as string | undefined;
  };
  const readyz = async () =>
    (await (await fetch(`${booted.baseUrl}/readyz`, { signal: AbortSignal.timeout(30_000) })).json()) as {
      status: string;
      checks: Record<string, string>;
    };
  try {
    const approver = await booted.issuer.mintApprover({ sub: 'alice', aud: APPROVALS_AUDIENCE });
    const r = await fetch(`${booted.baseUrl}/agents/${agent}/suspend`, {
      method: 'POST',
      headers: { authorization: `Bearer ${approver}`, 'content-type': 'application/json' },
      body: '{}',
    });
    expect(r.status).toBe(200);
    expect(await code()).toBe('agent_suspended');
    expect((await readyz()).checks.agent_suspensions).toBe('ok');

    proxy.freeze();
    await eventually(async () => expect((await readyz()).checks.agent_suspensions).toBe('failing'), 60_000);
    expect((await readyz()).status).toBe('degraded');
    const before = ran.total;
    expect(await code()).toBe('agent_suspended');
    expect(ran.total).toBe(before);
  } finally {
    await proxy.close();
    await booted.close();
    await db.drop();
  }
});
