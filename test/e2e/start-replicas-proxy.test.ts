// The `pnpm start --replicas N` proxy under abuse and under a replica's death or drain (issue 16):
// - H-2: slow unauthenticated uploads must not lock authenticated callers out (the proxy is no narrower
//   a pipe than one server: no per-replica socket cap), the proxy cuts requests whose headers or body
//   do not arrive in time (while a long answer is not cut), and it refuses a body over BODY_LIMIT_BYTES
//   as the servers do.
// - H-3: a replica killed while a Slack post it sent is held by the simulator: the caller is told the
//   outcome is unknown (the catalogue's outcome_unknown, retry only with the same idempotency key), not
//   a failure; the post reached Slack once and was not retried on another replica.
// - M-6: a replica draining after SIGTERM gets no new calls: every new call through the proxy is
//   answered by another replica, and the call in flight on the draining one finishes.
// Verdicts from the Slack simulator's recorded requests, each replica's own /metrics (on its internal
// port) and what the proxy's clients received.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  callOutcome,
  connectClient,
  eventually,
  examplePolicy,
  freePort,
  testRedisUrl,
} from '@mcp-fleet/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { ReplicaProxy } from '../../packages/cli/src/replicas.js';
import { type LocalFleet, startLocalFleet } from './local-fleet.js';

/** The servers' body limit in this fleet (BODY_LIMIT_BYTES): the proxy must apply the same. */
const BODY_LIMIT = 64 * 1024;
/** Replicas of communication: one is killed (H-3), one drained (M-6), one serves on. */
const REPLICAS = 3;
/** The proxy's former cap on sockets to each replica. */
const OLD_CAP = 256;

interface Replica {
  index: number;
  port: number;
  pid: number;
  base: string;
}

/** The sum of a metric's series on one replica (its own /metrics), over series whose labels include `match`. */
async function metric(base: string, name: string, match = ''): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text();
  return text
    .split('\n')
    .filter((l) => (l.startsWith(`${name}{`) || l.startsWith(`${name} `)) && l.includes(match))
    .reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
}

/** A raw TCP client of `port` that sends `head` and then, every `everyMs`, one more byte of `trickle`. */
function slowClient(port: number, head: string, trickle: string, everyMs: number) {
  const socket: Socket = connect({ port, host: '127.0.0.1' });
  let answer = '';
  let closed = false;
  let timer: NodeJS.Timeout | undefined;
  socket.setEncoding('utf8');
  socket.on('data', (d: string) => {
    answer += d;
  });
  socket.on('error', () => {});
  socket.once('close', () => {
    closed = true;
    clearInterval(timer);
  });
  socket.once('connect', () => {
    socket.write(head);
    let i = 0;
    timer = setInterval(() => {
      if (!socket.destroyed) socket.write(trickle[i++ % trickle.length]!);
    }, everyMs);
  });
  return {
    socket,
    answer: () => answer,
    closed: () => closed,
    destroy: () => {
      clearInterval(timer);
      socket.destroy();
    },
  };
}

describe('the --replicas proxy', () => {
  let fleet: LocalFleet;
  let url: string;
  let port: number;
  let hub: string;
  let replicas: Replica[];
  const agent = `replicas-proxy-${process.pid}-${Date.now()}`;
  let token: string;

  beforeAll(async () => {
    // The example policy without its rate limits: the test makes hundreds of calls a minute.
    const policy = join(mkdtempSync(join(tmpdir(), 'fleet-replicas-proxy-')), 'policy.yaml');
    writeFileSync(policy, stringify(examplePolicy()));
    fleet = await startLocalFleet({
      env: {
        REDIS_URL: testRedisUrl(),
        REDIS_KEY_PREFIX: `e2e-replicas-proxy-${process.pid}-${Date.now()}`,
        BODY_LIMIT_BYTES: String(BODY_LIMIT),
        SHUTDOWN_GRACE_MS: '30000',
        POLICY_FILE: policy,
      },
      args: ['--only', 'communication', '--replicas', String(REPLICAS)],
    });
    url = fleet.urls.communication!;
    port = Number(new URL(url).port);
    const line = fleet.output().match(/^communication\s+ready \(\d+ replicas\).*$/m)?.[0];
    expect(line, fleet.output()).toBeDefined();
    replicas = [...line!.matchAll(/(\d+): 127\.0\.0\.1:(\d+) pid (\d+)/g)].map((m) => ({
      index: Number(m[1]),
      port: Number(m[2]),
      pid: Number(m[3]),
      base: `http://127.0.0.1:${m[2]}`,
    }));
    expect(replicas).toHaveLength(REPLICAS);
    hub = /what agents sent: (http:\/\/127\.0\.0\.1:\d+)/.exec(fleet.output())![1]!;
    token = (
      await fleet.fleet('token', '--agent', agent, '--role', 'support', '--server', 'communication')
    ).trim();
  }, 240_000);

  afterAll(async () => {
    if (fleet) await fleet.stop();
  }, 60_000);

  /** An authenticated tools/list through `target` (default: the public port), as JSON-RPC over HTTP. */
  async function toolsList(signal: AbortSignal) {
    const res = await fetch(url, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${token}`,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'mcp-protocol-version': '2025-06-18',
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} }),
      signal,
    });
    return { status: res.status, text: await res.text() };
  }

  /** The Slack posts the simulator took whose text includes `marker`. */
  async function slackPosts(marker: string): Promise<number> {
    const res = await fetch(`${hub}/slack/_simulator/requests`);
    const { requests } = (await res.json()) as { requests: { operation?: string; params?: unknown }[] };
    return requests.filter(
      (r) => r.operation === 'chat.postMessage' && JSON.stringify(r.params ?? {}).includes(marker),
    ).length;
  }

  async function holdNextSlackPost(ms: number) {
    const res = await fetch(`${hub}/slack/_simulator/faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ operation: 'chat.postMessage', fault: { delayAfterCommit: ms } }),
    });
    expect(res.status).toBe(200);
  }

  /** The live replica running a tool call right now (its mcp_inflight_calls), once there is one. */
  async function replicaRunningACall(among: Replica[]): Promise<Replica> {
    let found: Replica | undefined;
    const ok = await eventually(async () => {
      for (const r of among) if ((await metric(r.base, 'mcp_inflight_calls')) >= 1) found = r;
      return found !== undefined;
    }, 15_000);
    expect(ok, 'a replica runs the held call').toBe(true);
    return found!;
  }

  it('answers an authenticated call while more slow unauthenticated uploads are held open than the old per-replica cap', async () => {
    // More than the old cap on every replica's sockets together, each a POST whose 60 kB body comes a
    // byte at a time: they never finish on their own.
    const count = OLD_CAP * REPLICAS + 60;
    const head = `POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\ncontent-type: application/json\r\ncontent-length: 60000\r\n\r\n`;
    const slow = Array.from({ length: count }, () => slowClient(port, head, '{', 2_000));
    try {
      // The replicas refuse them (no token) before their bodies: at least as many as the old cap let
      // through are answered before the authenticated call is made.
      const reached = await eventually(
        () => slow.filter((s) => s.answer().startsWith('HTTP/1.1 401')).length >= OLD_CAP * REPLICAS,
        60_000,
      );
      expect(
        reached,
        JSON.stringify(
          slow.reduce<Record<string, number>>((n, s) => {
            const first = s.answer().split('\r\n')[0] ?? '';
            n[first] = (n[first] ?? 0) + 1;
            return n;
          }, {}),
        ),
      ).toBe(true);
      // A locked proxy never answers it: the slow uploads it waits behind do not end.
      const answer = await toolsList(AbortSignal.timeout(20_000)).catch((e: Error) => ({
        status: 0,
        text: e.message,
      }));
      expect(answer.status, answer.text).toBe(200);
      expect(answer.text).toContain('slack_post_message');
      // Not because they had been cut meanwhile: every one of them was still open.
      expect(slow.filter((s) => s.closed())).toHaveLength(0);
    } finally {
      for (const s of slow) s.destroy();
    }
  }, 120_000);

  it('cuts requests whose headers or body do not arrive within its timeouts, not a long answer', async () => {
    // A proxy with short timeouts in front of the fleet's first replica (the start command's one has
    // the default timeouts, too long for a test).
    const proxy = new ReplicaProxy('communication', [{ index: 1, port: replicas[0]!.port }], {
      requestTimeoutMs: 2_000,
      headersTimeoutMs: 1_000,
    });
    const own = await freePort();
    await proxy.listen(own, '127.0.0.1');
    const marker = `h2-long-${Date.now()}`;
    const bodies = Array.from({ length: 8 }, () =>
      slowClient(
        own,
        `POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\ncontent-type: application/json\r\ncontent-length: 60000\r\n\r\n`,
        '{',
        300,
      ),
    );
    const headers = Array.from({ length: 4 }, () =>
      slowClient(
        own,
        `POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n`,
        'x-slow: aaaaaaaaaaaaaaaaaaaa',
        300,
      ),
    );
    try {
      // A Slack post the simulator answers only after longer than the request timeout: its answer is
      // not cut (the public Host header: the replica checks it).
      await holdNextSlackPost(4_000);
      const body = JSON.stringify({
        jsonrpc: '2.0',
        id: 7,
        method: 'tools/call',
        params: {
          name: 'slack_post_message',
          arguments: { channel: '#support-escalations', text: marker, idempotency_key: marker },
        },
      });
      const long = new Promise<{ status: number; text: string }>((resolve, reject) => {
        const req = request(
          {
            host: '127.0.0.1',
            port: own,
            method: 'POST',
            path: '/mcp',
            headers: {
              host: `127.0.0.1:${port}`,
              authorization: `Bearer ${token}`,
              'content-type': 'application/json',
              accept: 'application/json, text/event-stream',
              'mcp-protocol-version': '2025-06-18',
              'content-length': Buffer.byteLength(body),
            },
          },
          (res) => {
            let text = '';
            res.setEncoding('utf8');
            res.on('data', (d: string) => {
              text += d;
            });
            res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
            res.on('error', reject);
          },
        );
        req.on('error', reject);
        req.end(body);
      });
      const cut = await eventually(() => [...bodies, ...headers].every((s) => s.closed()), 20_000);
      expect(
        cut,
        `${bodies.filter((s) => !s.closed()).length} slow bodies, ${headers.filter((s) => !s.closed()).length} slow headers still open`,
      ).toBe(true);
      // Slow headers: the proxy's own 408; slow bodies: answered (401) by the replica, then cut.
      for (const s of headers) expect(s.answer()).toMatch(/^HTTP\/1\.1 408/);
      const answer = await long;
      expect(answer.status, answer.text).toBe(200);
      expect(answer.text).toContain('Posted to #support-escalations');
      expect(answer.text).not.toContain('"isError":true');
      expect(await slackPosts(marker)).toBe(1);
    } finally {
      for (const s of [...bodies, ...headers]) s.destroy();
      await proxy.close();
    }
  }, 60_000);

  it('refuses a body over BODY_LIMIT_BYTES itself, without waiting for it', async () => {
    // Declared over the limit, no body sent: the proxy answers at once, as the servers would (413).
    const client = slowClient(
      port,
      `POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\ncontent-type: application/json\r\ncontent-length: ${BODY_LIMIT + 1}\r\n\r\n`,
      ' ',
      60_000,
    );
    try {
      expect(await eventually(() => /\r\n\r\n\{.*\}$/s.test(client.answer()), 15_000), client.answer()).toBe(
        true,
      );
      expect(client.answer()).toMatch(/^HTTP\/1\.1 413/);
      const body = JSON.parse(client.answer().slice(client.answer().indexOf('\r\n\r\n') + 4)) as {
        error: { data: { code: string } };
      };
      expect(body.error.data.code).toBe('FLEET_ERR_BODY_TOO_LARGE');
    } finally {
      client.destroy();
    }
  }, 30_000);

  it('tells the caller the outcome is unknown when the replica running a post dies, and never retries it', async () => {
    const key = `h3-${Date.now()}`;
    const client = await connectClient('legacy', url, token);
    try {
      // Slack commits the post and holds its answer; the replica running the call is then killed.
      await holdNextSlackPost(60_000);
      const call = callOutcome(client, 'slack_post_message', {
        channel: '#support-escalations',
        text: `post ${key}`,
        idempotency_key: key,
      });
      expect(await eventually(async () => (await slackPosts(key)) === 1, 15_000)).toBe(true);
      const running = await replicaRunningACall(replicas);
      const others = replicas.filter((r) => r !== running);
      const callsBefore = await Promise.all(
        others.map((r) => metric(r.base, 'mcp_tool_calls_total', 'tool="slack_post_message"')),
      );
      process.kill(running.pid, 'SIGKILL');
      replicas = others;
      const outcome = await call;
      expect(outcome.isError, outcome.text).toBe(true);
      expect(outcome.code, outcome.text).toBe('outcome_unknown');
      expect(outcome.text).toMatch(/may or may not have/);
      expect(outcome.text).toMatch(/same idempotency_key/);
      // The post reached Slack once: no other replica ran it again.
      expect(await slackPosts(key)).toBe(1);
      const callsAfter = await Promise.all(
        others.map((r) => metric(r.base, 'mcp_tool_calls_total', 'tool="slack_post_message"')),
      );
      expect(callsAfter).toEqual(callsBefore);
      for (const r of others) expect(await metric(r.base, 'mcp_inflight_calls')).toBe(0);
      expect(
        await eventually(
          () => new RegExp(`\\[communication\\] replica ${running.index} is down`).test(fleet.output()),
          15_000,
        ),
      ).toBe(true);
    } finally {
      await fetch(`${hub}/slack/_simulator/faults`, { method: 'DELETE' });
      await client.close();
    }
  }, 60_000);

  it('sends no new call to a replica draining after SIGTERM; its call in flight finishes', async () => {
    expect(replicas.length).toBeGreaterThanOrEqual(2);
    const key = `m6-${Date.now()}`;
    const client = await connectClient('legacy', url, token);
    try {
      await holdNextSlackPost(6_000);
      const held = callOutcome(client, 'slack_post_message', {
        channel: '#support-escalations',
        text: `post ${key}`,
        idempotency_key: key,
      });
      expect(await eventually(async () => (await slackPosts(key)) === 1, 15_000)).toBe(true);
      const draining = await replicaRunningACall(replicas);
      const downLine = new RegExp(`\\[communication\\] replica ${draining.index} is down`);
      process.kill(draining.pid, 'SIGTERM');
      // The proxy's /readyz says it is draining (not ready, not down) ...
      const states = async () =>
        ((await (await fetch(new URL('/readyz', url))).json()) as { replicas: Record<string, string> })
          .replicas;
      expect(await eventually(async () => (await states())[draining.index] === 'not_ready', 10_000)).toBe(
        true,
      );
      // ... and new calls, several at once (so that it is as free as the other one), go to the other
      // one: every one is answered, none refused as shutting down, and none tried on the draining one
      // (its port refuses connections: the proxy would have reported it down).
      const outcomes: { isError: boolean; code: string | undefined; text: string }[] = [];
      for (let wave = 0; wave < 5; wave++)
        outcomes.push(
          ...(await Promise.all(
            Array.from({ length: 6 }, () => callOutcome(client, 'slack_list_channels', {})),
          )),
        );
      expect(
        outcomes.filter((o) => o.isError).map((o) => `${o.code}: ${o.text}`),
        'calls refused while one replica drains',
      ).toEqual([]);
      expect(fleet.output()).not.toMatch(downLine);
      const done = await held;
      expect(done.isError, done.text).toBe(false);
      expect(await slackPosts(key)).toBe(1);
      expect(
        await eventually(
          () => new RegExp(`\\[communication-${draining.index}\\] exited \\(0\\)`).test(fleet.output()),
          30_000,
        ),
        fleet.output().slice(-2000),
      ).toBe(true);
    } finally {
      await fetch(`${hub}/slack/_simulator/faults`, { method: 'DELETE' });
      await client.close();
    }
  }, 90_000);
});
