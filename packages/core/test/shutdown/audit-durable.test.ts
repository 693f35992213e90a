// An answered mutation has its final audit record in the fleet DB even when the server dies right
// after answering (issue 16, H-1): a mutating call's final record is committed before the answer goes
// out (reads stay batched: docs/operating.md says what a SIGKILL can cost of them). And a server whose
// stdout reader is gone (EPIPE: its `fleet start` parent was killed) keeps serving and auditing.
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

const fixtures = pathToFileURL(join(import.meta.dirname, '..', 'fixtures.ts')).href;
const script = `
import { defineTool, runServerMain, ToolError } from '@mcp-fleet/core';
import { z } from 'zod';
import { fixtureServer } from ${JSON.stringify(fixtures)};
const failing = defineTool({
  name: 'file_note',
  title: 'File a note',
  description: 'A mutating tool whose upstream refuses every note.',
  input: z.object({ note: z.string() }),
  governance: { readOnly: false },
  handler: async () => { throw new ToolError('the note store refused it'); },
});
await runServerMain({ ...fixtureServer, tools: [...fixtureServer.tools, failing] }, []);
process.stderr.write('LISTENING\\n');
`;

let issuer: DevIssuer;
let db: { url: string; drop: () => Promise<void> };
let policyFile: string;
const children: ChildProcess[] = [];

beforeAll(async () => {
  issuer = await DevIssuer.create();
  await issuer.listen();
  db = await createTestDatabase('fleet_audit_durable');
  const dir = mkdtempSync(join(tmpdir(), 'fleet-audit-durable-'));
  policyFile = join(dir, 'policy.yaml');
  writeFileSync(
    policyFile,
    stringify({
      version: 1,
      roles: {
        worker: {
          grants: [
            {
              servers: ['fixture'],
              tools: ['write_note', 'file_note', 'echo_text', 'lookup_record'],
              constraints: { 'fixture.schemas': '*' },
            },
          ],
        },
      },
    }),
  );
});

afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await issuer.close();
  await db.drop();
});

interface Server {
  child: ChildProcess;
  url: string;
  token: string;
  stderr: () => string;
  exited: Promise<[number | null, NodeJS.Signals | null]>;
}

async function startServer(env: Record<string, string>): Promise<Server> {
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  const url = `${baseUrl}/mcp`;
  const child = spawn(
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
        DATABASE_URL: db.url,
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  children.push(child);
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => {
    stderr += c.toString();
  });
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  await new Promise<void>((resolve, reject) => {
    const check = () => stderr.includes('LISTENING') && resolve();
    child.stderr!.on('data', check);
    child.on('exit', (code) => reject(new Error(`server exited (${code}) before listening: ${stderr}`)));
  });
  const token = await issuer.mint({ sub: 'durable-agent', roles: ['worker'], aud: url });
  return { child, url, token, stderr: () => stderr, exited };
}

/** One tools/call over plain HTTP; `onAnswer` runs the moment the whole answer has been read. */
function call(
  s: Server,
  id: string,
  name: string,
  args: Record<string, unknown>,
  onAnswer?: () => void,
): Promise<{ status: number; text: string }> {
  const payload = JSON.stringify({
    jsonrpc: '2.0',
    id,
    method: 'tools/call',
    params: { name, arguments: args },
  });
  return new Promise((resolve, reject) => {
    const req = request(
      s.url,
      {
        method: 'POST',
        agent: new Agent({ keepAlive: false }),
        headers: {
          authorization: `Bearer ${s.token}`,
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          'mcp-protocol-version': '2025-11-25',
          'content-length': String(Buffer.byteLength(payload)),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          onAnswer?.();
          resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString() });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

async function outcomesByRpcId(ids: readonly string[]): Promise<Map<string, string[]>> {
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  try {
    const { rows } = await client.query<{ rpc: string; outcome: string }>(
      `SELECT details->>'rpcId' AS rpc, outcome FROM audit_records WHERE details->>'rpcId' = ANY($1)`,
      [ids],
    );
    const out = new Map<string, string[]>();
    for (const r of rows) out.set(r.rpc, [...(out.get(r.rpc) ?? []), r.outcome]);
    return out;
  } finally {
    await client.end();
  }
}

// The calls of one round: mutations that succeed and that fail upstream, and reads, interleaved.
const KINDS: readonly {
  name: string;
  args: (m: string) => Record<string, unknown>;
  outcome: string;
  mutating: boolean;
}[] = [
  { name: 'write_note', args: (m) => ({ note: m, idempotency_key: m }), outcome: 'ok', mutating: true },
  { name: 'echo_text', args: (m) => ({ text: m }), outcome: 'ok', mutating: false },
  { name: 'file_note', args: (m) => ({ note: m }), outcome: 'error', mutating: true },
  { name: 'lookup_record', args: () => ({ schema: 'public', id: 5000 }), outcome: 'error', mutating: false },
];

it('an answered mutation has its final record in the DB when the server is SIGKILLed the moment the answer is read', async () => {
  // Rounds: the server is killed when the k-th mutation's answer of a burst of concurrent calls is read.
  const answered: { id: string; outcome: string; name: string }[] = [];
  for (const [round, killAt] of [1, 4, 8].entries()) {
    // A flush interval far longer than the test: only a record committed before its answer is there.
    const s = await startServer({ AUDIT_FLUSH_MS: '60000', AUDIT_STDOUT: 'false' });
    let n = 0;
    let killed = false;
    const calls = Array.from({ length: 24 }, (_, i) => {
      const kind = KINDS[i % KINDS.length]!;
      const id = `r${round}-c${i}-${kind.name}`;
      return call(s, id, kind.name, kind.args(id), () => {
        if (killed || !kind.mutating) return;
        if (++n >= killAt) {
          killed = true;
          s.child.kill('SIGKILL');
        }
      }).then(
        (r) => {
          // Written before the kill reached the process: an answer the client has in full.
          if (r.status === 200 && kind.mutating)
            answered.push({ id, outcome: kind.outcome, name: kind.name });
        },
        () => undefined, // not answered: the process was gone first
      );
    });
    await Promise.all(calls);
    await s.exited;
  }
  // Each kill came with the k-th mutation's answer read in full.
  expect(answered.length).toBeGreaterThanOrEqual(1 + 4 + 8);
  const kinds = new Set(answered.map((a) => a.name));
  expect(kinds).toEqual(new Set(KINDS.filter((k) => k.mutating).map((k) => k.name)));
  const stored = await outcomesByRpcId(answered.map((a) => a.id));
  const missing = answered.filter((a) => !stored.get(a.id)?.includes(a.outcome));
  expect(
    missing.map((a) => ({ ...a, stored: stored.get(a.id) ?? [] })),
    'answered calls without their final record',
  ).toEqual([]);
});

it('a server whose stdout reader is gone keeps answering and keeps writing audit records', async () => {
  const s = await startServer({ AUDIT_STDOUT: 'true' });
  // The reader of the server's stdout goes away (its `fleet start` parent killed): writes get EPIPE.
  s.child.stdout!.destroy();
  const ids: string[] = [];
  for (let i = 0; i < 12; i++) {
    const kind = KINDS[i % KINDS.length]!;
    const id = `epipe-c${i}-${kind.name}`;
    ids.push(id);
    const r = await call(s, id, kind.name, kind.args(id));
    expect({ id, status: r.status, stderr: r.status === 200 ? '' : s.stderr() }).toEqual({
      id,
      status: 200,
      stderr: '',
    });
  }
  expect(s.child.exitCode).toBeNull();
  // Every call's final record reaches the DB (the reads' with the next batch): waited for, bounded.
  const unrecorded = async () => {
    const stored = await outcomesByRpcId(ids);
    return ids.filter((id) => !stored.get(id)?.some((o) => o !== 'started'));
  };
  let left = await unrecorded();
  for (const until = Date.now() + 10_000; left.length > 0 && Date.now() < until; left = await unrecorded())
    await new Promise((r) => setTimeout(r, 100));
  expect(left).toEqual([]);
  expect(s.child.exitCode).toBeNull();
  // And it still stops cleanly.
  s.child.kill('SIGTERM');
  const [code] = await s.exited;
  expect(code).toBe(0);
});
