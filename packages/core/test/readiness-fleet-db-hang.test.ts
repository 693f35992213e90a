// /readyz while the fleet database hangs (accepts, then never answers): the fleet_db check gives up
// after its timeout and /readyz answers promptly, degraded, `fleet_db: failing` (issue 16, defect 4:
// `SELECT 1` had no timeout and /readyz hung with the database).
import { createServer, Socket } from 'node:net';
import { bootServer, createTestDatabase } from '@mcp-fleet/testkit';
import { expect, it } from 'vitest';
import { fixturePolicy, fixtureServer } from './fixtures.js';

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

it('answers /readyz promptly with fleet_db failing while the fleet database hangs', async () => {
  const db = await createTestDatabase('fleet_ready_hang');
  const proxy = await freezableProxy(new URL(db.url));
  const booted = await bootServer(fixtureServer, { policy: fixturePolicy, databaseUrl: proxy.url });
  try {
    const before = await fetch(`${booted.baseUrl}/readyz`);
    expect(await before.json()).toMatchObject({ status: 'ready', checks: { fleet_db: 'ok' } });

    proxy.freeze(); // the pooled connection stays open; nothing answers on it, nor on a new one
    // An upper bound only (the check's own timeout is a few seconds): before the fix this never answered.
    const during = await fetch(`${booted.baseUrl}/readyz`, { signal: AbortSignal.timeout(15_000) });
    expect(during.status).toBe(200);
    expect(await during.json()).toMatchObject({ status: 'degraded', checks: { fleet_db: 'failing' } });
  } finally {
    await proxy.close();
    await booted.close();
    await db.drop();
  }
});
