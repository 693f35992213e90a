// `pnpm start --replicas 2` with REDIS_URL: each server runs as two processes behind its one port, so
// the shared state (rate limits, cache) is exercised on one machine (issue 16). Proved from the
// fleet's own records: each replica's /metrics (on its internal port) counts the calls it served,
// the audit trail says which calls were refused or answered from the cache, and the fleet's output
// reports a replica that died. Without REDIS_URL the command refuses, before starting anything.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { callOutcome, connectClient, eventually, testRedisUrl } from '@mcp-fleet/testkit';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { EXAMPLE_POLICY, ROOT } from '../../packages/cli/src/layout.js';
import { type LocalFleet, startLocalFleet } from './local-fleet.js';

const run = promisify(execFile);
const CLI = ['--conditions=mcp-fleet-source', '--import', 'tsx', join(ROOT, 'packages/cli/src/main.ts')];

/** The limit the test policy sets on support's get_file_info: calls per minute per caller. */
const LIMIT = 4;

/** The example policy with support's get_file_info limited to LIMIT calls a minute. */
function limitedPolicy(): string {
  const policy = parse(readFileSync(EXAMPLE_POLICY, 'utf8')) as {
    roles: { support: { limits: { perTool: Record<string, number> } } };
  };
  policy.roles.support.limits.perTool['files/get_file_info'] = LIMIT;
  const file = join(mkdtempSync(join(tmpdir(), 'fleet-replicas-policy-')), 'policy.yaml');
  writeFileSync(file, stringify(policy));
  return file;
}

/** The sum of a metric's series on one process, over the series whose labels include `match`. */
async function metric(base: string, name: string, match: string): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text();
  return text
    .split('\n')
    .filter((l) => l.startsWith(`${name}{`) && l.includes(match))
    .reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
}

/** `fleet start` with `args` and `env` (over a clean copy of this environment) that must refuse. */
async function refused(args: string[], env: Record<string, string>) {
  const fleetDir = mkdtempSync(join(tmpdir(), 'fleet-replicas-refused-'));
  const full: Record<string, string> = { ...(process.env as Record<string, string>), FLEET_DIR: fleetDir };
  delete full.REDIS_URL;
  delete full.FLEET_REPLICAS;
  Object.assign(full, env);
  try {
    await run(process.execPath, [...CLI, 'start', '--only', 'files', ...args], { cwd: ROOT, env: full });
    return { code: 0, stderr: '', fleetDir };
  } catch (e) {
    const err = e as { code: number; stderr: string };
    return { code: err.code, stderr: err.stderr, fleetDir };
  }
}

describe('fleet start --replicas without Redis', () => {
  it('refuses more than one replica without REDIS_URL, and a count out of range, starting nothing', async () => {
    const cases: [string[], Record<string, string>, RegExp][] = [
      [['--replicas', '2'], {}, /--replicas 2 needs REDIS_URL/],
      [[], { FLEET_REPLICAS: '3' }, /FLEET_REPLICAS 3 needs REDIS_URL/],
      [['--replicas', '9'], { REDIS_URL: testRedisUrl() }, /--replicas "9": a whole number from 1 to 4/],
    ];
    for (const [args, env, says] of cases) {
      const r = await refused(args, env);
      expect(r.code, r.stderr).not.toBe(0);
      expect(r.stderr).toMatch(says);
      // Nothing was started: no embedded PostgreSQL, no logs.
      expect(existsSync(join(r.fleetDir, 'pg'))).toBe(false);
      expect(existsSync(join(r.fleetDir, 'logs'))).toBe(false);
    }
  });
});

describe('fleet start --replicas 2 with REDIS_URL', () => {
  let fleet: LocalFleet;
  let db: pg.Client;
  /** The public /mcp URL of files, and each replica's own base URL (internal port). */
  let url: string;
  let replicas: string[];
  /** Each replica's process id, as `fleet start` prints it. */
  let pids: number[];
  const agent = `replicas-${process.pid}-${Date.now()}`;

  beforeAll(async () => {
    fleet = await startLocalFleet({
      env: {
        REDIS_URL: testRedisUrl(),
        REDIS_KEY_PREFIX: `e2e-replicas-${process.pid}-${Date.now()}`,
        POLICY_FILE: limitedPolicy(),
      },
      args: ['--only', 'files', '--replicas', '2'],
    });
    url = fleet.urls.files!;
    const line = fleet
      .output()
      .match(/files\s+ready \(2 replicas\) (\S+)\s+\(replicas 1: (\S+) pid (\d+), 2: (\S+) pid (\d+);/);
    expect(line, fleet.output()).not.toBeNull();
    expect(line![1]).toBe(url);
    replicas = [`http://${line![2]}`, `http://${line![4]}`];
    pids = [Number(line![3]), Number(line![5])];
    db = new pg.Client({
      connectionString: `postgres://fleet:fleet@127.0.0.1:${fleet.env.FLEET_PG_PORT}/fleet`,
    });
    await db.connect();
  }, 240_000);
  afterAll(async () => {
    await db?.end();
    if (fleet) expect(await fleet.stop()).toBe(0);
  }, 60_000);

  // `fleet token` as a user runs it, once (each run starts a CLI process).
  let minted: Promise<string> | undefined;
  const token = () => {
    minted ??= fleet
      .fleet('token', '--agent', agent, '--role', 'support', '--server', 'files')
      .then((t) => t.trim());
    return minted;
  };

  /** The audit records of this test's agent for `tool`, once `n` of them are final. */
  async function records(tool: string, n: number): Promise<{ outcome: string }[]> {
    const read = async () =>
      (
        await db.query<{ outcome: string }>(
          `SELECT outcome FROM audit_records WHERE agent_id = $1 AND tool = $2 AND outcome <> 'started' ORDER BY ts`,
          [agent, tool],
        )
      ).rows;
    await eventually(async () => (await read()).length >= n, 15_000);
    return read();
  }

  it('answers /readyz on the public port once both replicas are ready, each using Redis', async () => {
    const res = await fetch(new URL('/readyz', url));
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      status: string;
      replicas: Record<string, string>;
      checks: Record<string, string>;
    };
    expect(body.replicas).toEqual({ 1: 'ready', 2: 'ready' });
    expect(body.status).toBe('ready');
    // Each replica logs to its own file.
    for (const i of [1, 2])
      expect(readFileSync(join(fleet.env.FLEET_DIR!, 'logs', `files-${i}.log`), 'utf8')).toContain(
        'files listening',
      );
    for (const base of replicas) {
      const own = (await (await fetch(`${base}/readyz`)).json()) as { checks: Record<string, string> };
      expect(own.checks.redis).toBe('ok');
      expect(await metric(base, 'mcp_redis_up', 'server="files"')).toBe(1);
    }
  });

  it('streams event-stream answers through the proxy, Host kept (the replicas check it)', async () => {
    const res = await fetch(url, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${await token()}`,
        'content-type': 'application/json',
        accept: 'text/event-stream, application/json',
      },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'initialize',
        params: {
          protocolVersion: '2025-06-18',
          capabilities: {},
          clientInfo: { name: 'sse', version: '1' },
        },
      }),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const text = await res.text();
    expect(text).toMatch(/^event: message$/m);
    expect(text).toContain('"serverInfo":{"name":"mcp-fleet-files"');
  });

  it('passes a bad Host through to the replicas, which refuse it (403, their own refusal)', async () => {
    // fetch cannot set Host: a raw request to the public port, naming another host.
    const bearer = await token();
    const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const u = new URL(url);
      const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' });
      const req = request(
        {
          host: u.hostname,
          port: u.port,
          path: u.pathname,
          method: 'POST',
          headers: {
            host: 'attacker.example',
            authorization: `Bearer ${bearer}`,
            'content-type': 'application/json',
            accept: 'application/json, text/event-stream',
            'content-length': Buffer.byteLength(body),
          },
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (c) => {
            text += c;
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
        },
      );
      req.on('error', reject);
      req.end(body);
    });
    expect(answer.status, answer.body).toBe(403);
    // The replica's refusal (the server's JSON-RPC error code; the proxy has none of its own).
    expect(answer.body).toContain('FLEET_ERR_HOST_REJECTED');
  });

  it('holds one rate limit across both replicas: calls over it through the one port are refused at the limit, not twice it', async () => {
    const client = await connectClient('legacy', url, await token());
    const outcomes: (string | undefined)[] = [];
    try {
      // Distinct paths, so that no call is answered from the cache.
      const paths = [
        'docs/README.md',
        'docs/handbook',
        'docs/handbook/employee-handbook.md',
        'docs/handbook/remote-work-policy.md',
        'docs/support',
        'docs/products',
        'docs/security',
        'docs',
      ];
      for (const path of paths) {
        const r = await callOutcome(client, 'get_file_info', { path });
        outcomes.push(r.isError ? r.code : 'ok');
      }
    } finally {
      await client.close();
    }
    expect(outcomes.filter((o) => o === 'ok')).toHaveLength(LIMIT);
    expect(outcomes.filter((o) => o !== 'ok')).toEqual(Array(8 - LIMIT).fill('rate_limited'));
    // Both replicas served some of them (each counts the calls it ran), and the audit agrees.
    for (const base of replicas)
      expect(await metric(base, 'mcp_tool_calls_total', 'tool="get_file_info"'), base).toBeGreaterThan(0);
    const audited = (await records('get_file_info', 8)).map((r) => r.outcome);
    expect(audited.filter((o) => o === 'ok')).toHaveLength(LIMIT);
    expect(audited.filter((o) => o === 'rate_limited')).toHaveLength(8 - LIMIT);
    expect(audited).toHaveLength(8);
  });

  it('shares the result cache: a read made on one replica is answered from the cache on the other', async () => {
    const t = await token();
    for (const base of replicas) {
      const client = await connectClient('legacy', `${base}/mcp`, t);
      try {
        const r = await callOutcome(client, 'read_document', { path: 'docs/handbook/remote-work-policy.md' });
        expect(r.isError, r.text).toBe(false);
      } finally {
        await client.close();
      }
    }
    expect((await records('read_document', 2)).map((r) => r.outcome)).toEqual(['ok', 'cached']);
    expect(await metric(replicas[1]!, 'mcp_cache_hits_total', '')).toBeGreaterThan(0);
  });

  it('keeps serving through the other replica when one dies, and reports it', async () => {
    // The second replica, killed as the machine's OOM killer would, while idle: what the callers that
    // come after see. A replica killed with a call in flight (the caller told outcome_unknown, nothing
    // retried on the other replica, counted at the Slack simulator) is start-replicas-proxy.test.ts's.
    process.kill(pids[1]!, 'SIGKILL');
    expect(await eventually(() => /\[files\] replica 2 is down/.test(fleet.output()), 15_000)).toBe(true);
    expect(fleet.output()).toMatch(/1 of 2 replicas serve/);

    const client = await connectClient('legacy', url, await token());
    try {
      for (let i = 0; i < 4; i++) {
        const r = await callOutcome(client, 'list_folder', { path: i % 2 ? 'docs' : 'docs/support' });
        expect(r.isError, r.text).toBe(false);
      }
    } finally {
      await client.close();
    }
    // Served by the replica left: the first read of each folder ran, the second came from the cache.
    expect((await records('list_folder', 4)).map((r) => r.outcome)).toEqual(['ok', 'ok', 'cached', 'cached']);
    const ready = await fetch(new URL('/readyz', url));
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: 'degraded', replicas: { 1: 'ready', 2: 'down' } });
  });
});
