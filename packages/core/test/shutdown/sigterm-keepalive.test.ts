// SIGTERM of a real server process while a keep-alive client has a call in flight: the call finishes,
// the connection it leaves idle is closed, a new call is refused, the audit is flushed and the process
// exits 0 before its grace period (issue 16, defect 1: it used to wait for the idle keep-alive
// connection until the grace limit and exit 1, the audit never closed).
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createTestDatabase, DevIssuer, freePort } from '@mcp-fleet/testkit';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { stringify } from 'yaml';

const GRACE_MS = 20_000;
const fixtures = pathToFileURL(join(import.meta.dirname, '..', 'fixtures.ts')).href;

// The child: the fixture server plus a tool that waits (longer than the fixtures' 300 ms timeout),
// run through runServerMain like every server's main.ts. It says on stderr when the slow call started.
const script = `
import { runServerMain } from '@mcp-fleet/core';
import { fixtureServer, waitingTool } from ${JSON.stringify(fixtures)};
const counters = { slowStarted: 0, slowAborted: 0 };
const wait = waitingTool({ name: 'wait_long', title: 'Wait long', description: 'Waits for the given number of milliseconds.', timeoutMs: 30000 }, counters);
const def = { ...fixtureServer, tools: [...fixtureServer.tools, wait] };
def.tools = def.tools.map((t) => t.name !== 'wait_long' ? t : { ...t, handler: async (args, ctx) => {
  process.stderr.write('SLOW_CALL_STARTED\\n');
  return t.handler(args, ctx);
} });
await runServerMain(def, []);
process.on('SIGTERM', () => process.stderr.write('STOPPING\\n')); // after runServerMain's own listener
process.stderr.write('LISTENING\\n');
`;

let issuer: DevIssuer;
let db: { url: string; drop: () => Promise<void> };
let child: ChildProcess | undefined;

beforeAll(async () => {
  issuer = await DevIssuer.create();
  await issuer.listen();
  db = await createTestDatabase('fleet_sigterm');
});

afterAll(async () => {
  if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await issuer.close();
  await db.drop();
});

function post(agent: Agent, url: string, token: string, body: unknown) {
  const payload = JSON.stringify(body);
  return new Promise<{ status: number; headers: Record<string, unknown>; text: string }>(
    (resolve, reject) => {
      const req = request(
        url,
        {
          method: 'POST',
          agent,
          headers: {
            authorization: `Bearer ${token}`,
            'content-type': 'application/json',
            accept: 'application/json, text/event-stream',
            'mcp-protocol-version': '2025-11-25',
            'content-length': String(Buffer.byteLength(payload)),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              headers: res.headers,
              text: Buffer.concat(chunks).toString(),
            }),
          );
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(payload);
    },
  );
}

it('finishes the in-flight call, closes the idle keep-alive connection, flushes audit and exits 0', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'fleet-sigterm-'));
  const policyFile = join(dir, 'policy.yaml');
  writeFileSync(
    policyFile,
    stringify({
      version: 1,
      roles: { waiter: { grants: [{ servers: ['fixture'], tools: ['wait_long', 'echo_text'] }] } },
    }),
  );
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  const url = `${baseUrl}/mcp`;
  child = spawn(
    process.execPath,
    ['--conditions=mcp-fleet-source', '--import', 'tsx', '--input-type=module', '-e', script],
    {
      cwd: import.meta.dirname,
      env: {
        ...process.env,
        HOST: '127.0.0.1',
        PORT: String(port),
        PUBLIC_URL: baseUrl,
        AUTH_ISSUER: issuer.issuer,
        AUTH_JWKS_URL: issuer.jwksUrl,
        POLICY_FILE: policyFile,
        LOG_LEVEL: 'info',
        AUDIT_STDOUT: 'false',
        DATABASE_URL: db.url,
        SHUTDOWN_GRACE_MS: String(GRACE_MS),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stderr = '';
  let stdout = '';
  const seen = (marker: string) =>
    new Promise<void>((resolve, reject) => {
      const check = () => stderr.includes(marker) && resolve();
      child!.stderr!.on('data', check);
      child!.on('exit', (code) => reject(new Error(`child exited (${code}) before "${marker}": ${stderr}`)));
      check();
    });
  child.stderr!.on('data', (c: Buffer) => {
    stderr += c.toString();
  });
  child.stdout!.on('data', (c: Buffer) => {
    stdout += c.toString();
  });
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  await seen('LISTENING');

  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const token = await issuer.mint({ sub: 'sigterm-agent', roles: ['waiter'], aud: url });
  // A first, quick call leaves the keep-alive socket the slow call will reuse.
  const warm = await post(agent, url, token, {
    jsonrpc: '2.0',
    id: 1,
    method: 'tools/call',
    params: { name: 'echo_text', arguments: { text: 'hi' } },
  });
  expect(warm.status).toBe(200);

  const slow = post(agent, url, token, {
    jsonrpc: '2.0',
    id: 2,
    method: 'tools/call',
    params: { name: 'wait_long', arguments: { ms: 1500 } },
  });
  await seen('SLOW_CALL_STARTED');
  const signalledAt = Date.now();
  child.kill('SIGTERM');

  // While the slow call drains, a new call is refused (the listener is closed), never served.
  await seen('STOPPING');
  const late = await post(new Agent({ keepAlive: false }), url, token, {
    jsonrpc: '2.0',
    id: 3,
    method: 'tools/call',
    params: { name: 'echo_text', arguments: { text: 'late' } },
  }).then(
    (r) => r.status,
    (err: NodeJS.ErrnoException) => err.code,
  );
  expect([503, 'ECONNREFUSED', 'ECONNRESET']).toContain(late);

  const answer = await slow;
  expect(answer.status).toBe(200);
  expect(answer.text).toContain('waited 1500 ms');

  const [code, signal] = await exited;
  const elapsed = Date.now() - signalledAt;
  agent.destroy();
  expect({ code, signal, stderr: code === 0 ? '' : stderr + stdout }).toEqual({
    code: 0,
    signal: null,
    stderr: '',
  });
  expect(elapsed).toBeLessThan(GRACE_MS - 2_000);
  expect(stderr).not.toContain('grace period exceeded');

  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  try {
    const { rows } = await client.query(
      `SELECT outcome FROM audit_records WHERE tool = 'wait_long' AND agent_id = 'sigterm-agent'`,
    );
    expect(rows.map((r) => r.outcome)).toEqual(['ok']);
  } finally {
    await client.end();
  }
});
