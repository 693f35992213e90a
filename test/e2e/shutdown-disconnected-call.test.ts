// SIGTERM of a real communication server process while a Slack post it sent is still running and its
// client has already gone (a client timeout, `curl -m 1`): the post landed in Slack, whose answer the
// simulator holds (delayAfterCommit). The server must wait for that call to finish, write its final
// audit record to the fleet database, and only then exit 0 (issue 16, R2-3: it exited 0 at once,
// leaving the call's record `started` although the message was posted).
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestDatabase, DevIssuer, freePort } from '@mcp-fleet/testkit';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { SlackSimulator } from '../../packages/simulators/src/index.js';

const ROOT = join(import.meta.dirname, '..', '..');
const MAIN = join(ROOT, 'servers', 'communication', 'src', 'main.ts');
/** How long Slack holds the post's answer after taking it: the call is still running at the SIGTERM. */
const HOLD_MS = 4_000;

let issuer: DevIssuer;
let db: { url: string; drop: () => Promise<void> };
let slack: SlackSimulator;
let child: ChildProcess | undefined;

beforeAll(async () => {
  issuer = await DevIssuer.create();
  await issuer.listen();
  db = await createTestDatabase('fleet_sigterm_gone');
  slack = new SlackSimulator();
  await slack.start();
});

afterAll(async () => {
  if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await slack?.close();
  await issuer?.close();
  await db?.drop();
});

/** Polls `probe` until it returns a value (bounded). */
async function until<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, ms = 30_000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Starts the server with `graceMs`, sends a Slack post whose answer Slack holds `holdMs` after taking
 * it, leaves once Slack has it, SIGTERMs the server; returns how it exited, its output and the call's
 * audit outcomes in the database.
 */
async function postLeaveAndStop(graceMs: number, holdMs: number, agentId: string) {
  const dir = mkdtempSync(join(tmpdir(), 'fleet-sigterm-gone-'));
  const policyFile = join(dir, 'policy.yaml');
  writeFileSync(
    policyFile,
    stringify({
      version: 1,
      roles: {
        poster: {
          grants: [
            {
              servers: ['communication'],
              tools: ['slack_post_message'],
              constraints: { 'communication.slack': { channels: ['#support-escalations'] } },
            },
          ],
        },
      },
    }),
  );
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  const url = `${baseUrl}/mcp`;
  child = spawn(process.execPath, ['--conditions=mcp-fleet-source', '--import', 'tsx', MAIN], {
    cwd: ROOT,
    env: {
      ...process.env,
      HOST: '127.0.0.1',
      PORT: String(port),
      PUBLIC_URL: baseUrl,
      AUTH_ISSUER: issuer.issuer,
      AUTH_JWKS_URL: issuer.jwksUrl,
      POLICY_FILE: policyFile,
      LOG_LEVEL: 'info',
      DATABASE_URL: db.url,
      SHUTDOWN_GRACE_MS: String(graceMs),
      SLACK_BOT_TOKEN: slack.token,
      SLACK_API_URL: slack.apiUrl,
      COMMUNICATION_UPSTREAM_TIMEOUT_MS: '15000',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (c: Buffer) => {
    out += c.toString();
  });
  child.stderr!.on('data', (c: Buffer) => {
    out += c.toString();
  });
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  await until('the server to listen', () => (out.includes('communication listening') ? true : undefined));

  slack.failNext('chat.postMessage', { delayAfterCommit: holdMs });
  const marker = `sigterm-gone-${Date.now()}`;
  const token = await issuer.mint({ sub: agentId, roles: ['poster'], aud: url });
  const payload = JSON.stringify({
    jsonrpc: '2.0',
    id: 1,
    method: 'tools/call',
    params: {
      name: 'slack_post_message',
      arguments: { channel: '#support-escalations', text: marker, idempotency_key: marker },
    },
  });
  // The client sends the post and goes away before the answer (as `curl -m 1` does).
  const req = request(url, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${token}`,
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      'mcp-protocol-version': '2025-11-25',
      'x-request-id': marker,
      'content-length': String(Buffer.byteLength(payload)),
    },
  });
  const gone = new Promise<void>((resolve) => req.on('close', () => resolve()));
  req.on('error', () => {});
  req.end(payload);
  await until('Slack to take the post', () =>
    slack.posts.some((p) => p.text === marker) ? true : undefined,
  );
  req.destroy();
  await gone;

  child.kill('SIGTERM');
  const [code, signal] = await exited;
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  try {
    const { rows } = await client.query<{ outcome: string }>(
      `SELECT outcome FROM audit_records WHERE tool = 'slack_post_message' AND agent_id = $1`,
      [agentId],
    );
    return { code, signal, out, marker, outcomes: rows.map((r) => r.outcome) };
  } finally {
    await client.end();
  }
}

it('a committed Slack post whose client left is finished and recorded before the server exits 0 on SIGTERM', async () => {
  const { code, signal, out, marker, outcomes } = await postLeaveAndStop(30_000, HOLD_MS, 'gone-agent');
  expect({ code, signal }, out.slice(-4000)).toEqual({ code: 0, signal: null });
  expect(out).not.toContain('grace period');
  // The post's final record is in the fleet database: one record for the call, and it says ok.
  expect(outcomes, out.slice(-4000)).toEqual(['ok']);
  // Its stdout line (the fallback the docs name) was written out before the process exited.
  const lines = out
    .split('\n')
    .filter((l) => l.startsWith('{"audit":true') && l.includes('"slack_post_message"'))
    .map((l) => (JSON.parse(l) as { outcome: string }).outcome);
  expect(lines).toEqual(['ok']);
  expect(slack.posts.filter((p) => p.text === marker)).toHaveLength(1);
}, 90_000);

it('a post still running when the grace period runs out: the server says so and exits 1, its record stays started', async () => {
  // Grace 3 s: the wait for calls ends 2 s before it, well before Slack answers (after 8 s).
  const { code, signal, out, outcomes } = await postLeaveAndStop(3_000, 8_000, 'cut-agent');
  expect({ code, signal }, out.slice(-4000)).toEqual({ code: 1, signal: null });
  expect(out).toContain('calls still running');
  expect(outcomes, out.slice(-4000)).toEqual(['started']);
}, 90_000);
