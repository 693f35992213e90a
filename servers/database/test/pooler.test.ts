// Behind a connection pooler that keeps the startup settings from the server (PgBouncer refuses
// `options` unless told to ignore it, and then drops it) or hides the backend's pid (PgBouncer sends
// its own BackendKeyData), sessions stay read-only and time-boxed: the warehouse notices and runs
// every call in its own READ ONLY transaction, and cancels the backend that really runs it.
import net from 'node:net';
import { type BootedServer, connectClient } from '@mcp-fleet/testkit';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Warehouse } from '../src/connectors/warehouse.js';
import {
  bootDatabase,
  createWarehouse,
  data,
  eventually,
  neverAborted,
  silentLogger,
  type TestWarehouse,
  textOf,
} from './helpers.js';

type Behaviour = 'drops-options' | 'refuses-options' | 'hides-pid';

const PROTOCOL_3 = 196_608;

/** Startup parameters (after length and protocol version): name\0value\0 ... \0. */
function parseParams(body: Buffer): [string, string][] {
  const parts = body.toString('utf8').split('\0');
  const out: [string, string][] = [];
  for (let i = 0; i + 1 < parts.length && parts[i] !== ''; i += 2) out.push([parts[i]!, parts[i + 1]!]);
  return out;
}

function startupPacket(params: [string, string][]): Buffer {
  const body = Buffer.from(`${params.map(([k, v]) => `${k}\0${v}\0`).join('')}\0`, 'utf8');
  const head = Buffer.alloc(8);
  head.writeInt32BE(8 + body.length, 0);
  head.writeInt32BE(PROTOCOL_3, 4);
  return Buffer.concat([head, body]);
}

/** A FATAL ErrorResponse, as PgBouncer sends for a startup parameter it does not accept. */
function fatal(message: string): Buffer {
  const fields = Buffer.from(`SFATAL\0VFATAL\0C08P01\0M${message}\0\0`, 'utf8');
  const head = Buffer.alloc(5);
  head.write('E', 0);
  head.writeInt32BE(4 + fields.length, 1);
  return Buffer.concat([head, fields]);
}

/**
 * Rewrites the pid in BackendKeyData ('K') messages of a server stream until its first
 * ReadyForQuery ('Z'), then passes everything through.
 */
function pidRewriter(out: net.Socket, pid: () => number): (chunk: Buffer) => void {
  let pending: Buffer = Buffer.alloc(0);
  let rewriting = true;
  return (chunk) => {
    if (!rewriting) {
      out.write(chunk);
      return;
    }
    pending = Buffer.concat([pending, chunk]);
    let done = 0;
    while (rewriting && pending.length - done >= 5) {
      const length = pending.readInt32BE(done + 1);
      if (pending.length - done < 1 + length) break;
      const type = String.fromCharCode(pending[done]!);
      if (type === 'K') pending.writeInt32BE(pid(), done + 5);
      done += 1 + length;
      if (type === 'Z') rewriting = false;
    }
    const upTo = rewriting ? done : pending.length;
    out.write(pending.subarray(0, upTo));
    pending = pending.subarray(upTo);
  };
}

/**
 * A TCP pooler stand-in on loopback: it forwards the PostgreSQL protocol unchanged except for the
 * startup packet's `options` (which it drops or refuses) or the backend pid it reports (which it
 * replaces with `fake.pid`).
 */
async function startPooler(
  target: string,
  behaviour: Behaviour,
  fake: { pid: number } = { pid: 0 },
): Promise<{ url(u: string): string; close(): Promise<void> }> {
  const upstream = new URL(target);
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.on('error', () => client.destroy());
    let buffered = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      if (buffered.length < 8 || buffered.length < buffered.readInt32BE(0)) return;
      client.off('data', onData);
      const length = buffered.readInt32BE(0);
      let first: Buffer = buffered.subarray(0, length);
      const rest = buffered.subarray(length);
      if (first.readInt32BE(4) === PROTOCOL_3) {
        const params = parseParams(first.subarray(8));
        if (behaviour !== 'hides-pid' && params.some(([k]) => k === 'options')) {
          if (behaviour === 'refuses-options') {
            client.end(fatal('unsupported startup parameter: options'));
            return;
          }
          first = startupPacket(params.filter(([k]) => k !== 'options'));
        }
      }
      const backend = net.connect(Number(upstream.port || 5432), upstream.hostname);
      sockets.add(backend);
      backend.on('close', () => {
        sockets.delete(backend);
        client.destroy();
      });
      backend.on('error', () => backend.destroy());
      client.on('close', () => backend.destroy());
      backend.write(first);
      if (rest.length > 0) backend.write(rest);
      client.pipe(backend);
      if (behaviour === 'hides-pid')
        backend.on(
          'data',
          pidRewriter(client, () => fake.pid),
        );
      else backend.pipe(client);
    };
    client.on('data', onData);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    url(u: string) {
      const x = new URL(u);
      x.hostname = '127.0.0.1';
      x.port = String(port);
      return x.toString();
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** What a session's read-only mode and statement timeout are while a call runs. */
const SETTINGS =
  "SELECT current_setting('transaction_read_only') AS ro, current_setting('statement_timeout') AS timeout";

let wh: TestWarehouse;

beforeAll(async () => {
  wh = await createWarehouse();
});
afterAll(async () => {
  await wh?.cleanup();
});

describe.each<Behaviour>(['drops-options', 'refuses-options', 'hides-pid'])(
  'behind a pooler that %s',
  (behaviour) => {
    let pooler: Awaited<ReturnType<typeof startPooler>>;
    beforeAll(async () => {
      pooler = await startPooler(wh.adminUrl, behaviour);
    });
    afterAll(async () => {
      await pooler?.close();
    });

    it('a superuser session still cannot write, and its timeout still holds', async () => {
      // The admin role could write anything: read-only is the only barrier tested here.
      const w = new Warehouse({ url: pooler.url(wh.adminUrl), poolMax: 1, logger: silentLogger });
      try {
        await w.init();
        const call = { signal: neverAborted, timeoutMs: 1_234 };
        const [settings] = await w.readOnly(call, (s) => s.query<{ ro: string; timeout: string }>(SETTINGS));
        expect(settings).toEqual({ ro: 'on', timeout: '1234ms' });

        await expect(w.readOnly(call, (s) => s.query('CREATE TABLE pooler_probe (id int)'))).rejects.toThrow(
          /read-only transaction/,
        );
        const exists = await wh.admin<{ t: string | null }>(
          "SELECT to_regclass('public.pooler_probe')::text AS t",
        );
        expect(exists[0]?.t).toBeNull();

        // A 10 s sleep that ends in an error was stopped by the server-side timeout (finished, it
        // would return a row); no duration is measured.
        await expect(
          w.readOnly({ signal: neverAborted, timeoutMs: 300 }, (s) => s.query('SELECT pg_sleep(10)')),
        ).rejects.toThrow(/cancelled after 300 ms \(statement timeout\)/);

        // The next call on the same connection starts clean: read-only, with its own timeout.
        const [again] = await w.readOnly(call, (s) => s.query<{ ro: string; timeout: string }>(SETTINGS));
        expect(again).toEqual({ ro: 'on', timeout: '1234ms' });
      } finally {
        await w.close();
      }
    });

    describe('the server through it', () => {
      let s: BootedServer;
      beforeAll(async () => {
        s = await bootDatabase(wh, { url: pooler.url(wh.readerUrl) });
      });
      afterAll(async () => {
        await s?.close();
      });

      it('starts, answers run_query, and every query runs read-only with its timeout', async () => {
        const client = await connectClient(
          'modern',
          s.url,
          await s.token({ sub: 'analyst-1', roles: ['analyst'] }),
        );
        try {
          const r = await client.callTool('run_query', {
            sql: "SELECT current_setting('transaction_read_only') AS ro, current_setting('statement_timeout') AS timeout, count(*)::int AS n FROM sales.customers",
            timeout_ms: 4_321,
          });
          expect(r.isError, textOf(r)).toBeFalsy();
          const [[ro, timeout, n]] = data(r).rows as [[string, string, number]];
          expect(ro).toBe('on');
          expect(timeout).toBe('4321ms');
          expect(n).toBeGreaterThan(0);

          // Without timeout_ms: the server's default (30 s), not the role's 5 minutes.
          const plain = await client.callTool('run_query', {
            sql: "SELECT current_setting('statement_timeout') AS timeout",
          });
          expect(data(plain).rows).toEqual([['30s']]);
        } finally {
          await client.close();
        }
      });

      it("carries the token's tenant into each call's transaction, and nothing of it into the next", async () => {
        const byTenant = 'SELECT tenant, count(*)::int AS n FROM sales.customers GROUP BY 1 ORDER BY 1';
        const all = (
          await wh.admin<{ tenant: string; n: number }>(
            'SELECT tenant, count(*)::int AS n FROM sales.customers GROUP BY 1 ORDER BY 1',
          )
        ).map((r) => [r.tenant, r.n]);
        const acme = await connectClient(
          'modern',
          s.url,
          await s.token({ sub: 'support-acme', roles: ['support'], tenant: 'acme' }),
        );
        const analyst = await connectClient(
          'modern',
          s.url,
          await s.token({ sub: 'analyst-2', roles: ['analyst'] }),
        );
        try {
          for (let i = 0; i < 3; i++) {
            const mine = await acme.callTool('run_query', { sql: `${byTenant} -- acme ${i}` });
            expect(data(mine).rows).toEqual(all.filter(([t]) => t === 'acme'));
            const everyone = await analyst.callTool('run_query', { sql: `${byTenant} -- all ${i}` });
            expect(data(everyone).rows).toEqual(all);
          }
        } finally {
          await acme.close();
          await analyst.close();
        }
      });
    });
  },
);

describe('behind a pooler that reports another backend as its pid', () => {
  let pooler: Awaited<ReturnType<typeof startPooler>>;
  const fake = { pid: 1 };
  beforeAll(async () => {
    pooler = await startPooler(wh.adminUrl, 'hides-pid', fake);
  });
  afterAll(async () => {
    await pooler?.close();
  });

  it('a cancelled call ends its own backend, never the one the pooler named', async () => {
    const bystander = new pg.Client({ connectionString: wh.adminUrl });
    await bystander.connect();
    const w = new Warehouse({ url: pooler.url(wh.adminUrl), poolMax: 1, logger: silentLogger });
    const running = async () =>
      (
        await wh.admin<{ n: number }>(
          "SELECT count(*)::int AS n FROM pg_stat_activity WHERE state = 'active' AND query LIKE '%pooler-cancel-probe%' AND pid <> pg_backend_pid()",
        )
      )[0]?.n;
    try {
      fake.pid = (await bystander.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
      await w.init();
      const bystanderSleep = bystander.query('SELECT pg_sleep(1.5) AS slept');
      const caller = new AbortController();
      const call = w.readOnly({ signal: caller.signal, timeoutMs: 30_000 }, (s) =>
        s.query('SELECT pg_sleep(20) /* pooler-cancel-probe */'),
      );
      expect(await eventually(async () => (await running()) === 1)).toBe(true);
      caller.abort(new Error('the caller went away'));
      await expect(call).rejects.toThrow('the caller went away');
      expect(await eventually(async () => (await running()) === 0)).toBe(true);
      // The bystander whose pid the pooler reported finishes its own query undisturbed.
      await expect(bystanderSleep).resolves.toMatchObject({ rowCount: 1 });
    } finally {
      await w.close();
      await bystander.end();
    }
  });
});
