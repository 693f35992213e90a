// A small server for the suspension tests: every tool counts what really ran, the admin-style agents
// API is registered on it (as the admin server does), and several replicas share one issuer, public
// URL (so one token is good on all) and fleet database (the shared suspension state).
import { EventEmitter, once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { defineTool, type ServerDefinition, type ServerStep } from '@mcp-fleet/core';
import { agentsApi } from '@mcp-fleet/core/approvals';
import { type BootedServer, bootServer, createTestDatabase, DevIssuer } from '@mcp-fleet/testkit';
import { z } from 'zod';

/** What really ran, per tool, and in total (no refused call may move any of these). */
export const ran = { read: 0, write: 0, destroy: 0, relay: 0, upstream: 0, total: 0 };
/** relay_notes waits for `release` (after emitting `started`) before its nested call. */
export const relayGate = new EventEmitter();
/**
 * The slow writes (slow_write, staged_write) and the `hold` step emit `waiting` (with the note id)
 * and wait for `release:<id>`; the handlers emit `settled:<id>` when they ended, whatever way.
 * `ran.upstream` counts the writes that reached "the upstream".
 */
export const slowGate = new EventEmitter();
slowGate.setMaxListeners(100);
/** The upstream writes, by note id. */
export const upstreamWrites: string[] = [];

const count = (k: 'read' | 'write' | 'destroy' | 'relay' | 'upstream') => {
  ran[k] += 1;
  ran.total += 1;
};

const readNote = defineTool({
  name: 'read_note',
  title: 'Read a note',
  description: 'Returns a note. Read-only and cached for a minute.',
  input: z.object({ id: z.string().max(100) }).strict(),
  governance: { readOnly: true, cacheTtlSeconds: 60 },
  handler: async ({ id }) => {
    count('read');
    return { text: `note ${id}` };
  },
});

const writeNote = defineTool({
  name: 'write_note',
  title: 'Write a note',
  description: 'Stores a note (mutating). Pass an idempotency_key to make retries safe.',
  input: z.object({ id: z.string().max(100), text: z.string().max(1000) }).strict(),
  governance: { readOnly: false },
  handler: async ({ id }) => {
    count('write');
    return { text: `stored ${id} (write #${ran.write})` };
  },
});

const deleteNote = defineTool({
  name: 'delete_note',
  title: 'Delete a note',
  description: 'Deletes a note. Destructive: every call waits for a human approval first.',
  input: z.object({ id: z.string().max(100) }).strict(),
  governance: { readOnly: false, destructive: true },
  handler: async ({ id }) => {
    count('destroy');
    return { text: `deleted ${id}` };
  },
});

const relayNotes = defineTool({
  name: 'relay_notes',
  title: 'Relay notes',
  description:
    'Waits for the test to release it when `wait` is set, then reads a note through a nested call.',
  input: z.object({ id: z.string().max(100), wait: z.boolean().default(false) }).strict(),
  output: z.object({ outcome: z.string(), ok: z.boolean(), text: z.string() }),
  governance: { readOnly: true, timeoutMs: 20_000 },
  handler: async ({ id, wait }, ctx) => {
    count('relay');
    if (wait) {
      const released = once(relayGate, 'release');
      relayGate.emit('started');
      await released;
    }
    const r = await ctx.callTool('read_note', { id });
    return { data: { outcome: r.outcome, ok: r.ok, text: r.text } };
  },
});

/** Waits for `release:<id>` (after emitting `waiting`), optionally giving up when `signal` aborts. */
async function held(id: string, signal?: AbortSignal): Promise<void> {
  const released = once(slowGate, `release:${id}`, signal ? { signal } : {});
  slowGate.emit('waiting', id);
  await released;
}

function upstreamWrite(id: string): void {
  count('upstream');
  upstreamWrites.push(id);
}

const slowWrite = defineTool({
  name: 'slow_write',
  title: 'Slow write',
  description:
    'A mutation without a point of no return whose upstream read hangs until released (honouring the abort signal, as a connector does), then writes.',
  input: z.object({ id: z.string().max(100) }).strict(),
  governance: { readOnly: false, timeoutMs: 60_000 },
  handler: async ({ id }, ctx) => {
    try {
      await held(id, ctx.signal);
      upstreamWrite(id);
      return { text: `wrote ${id}` };
    } finally {
      slowGate.emit(`settled:${id}`);
    }
  },
});

const stagedWrite = defineTool({
  name: 'staged_write',
  title: 'Staged write',
  description:
    'A mutation with a point of no return: waits until released (ignoring the signal), then ctx.commit() and the write; with `commitFirst`, commits before it waits.',
  input: z.object({ id: z.string().max(100), commitFirst: z.boolean().default(false) }).strict(),
  governance: { readOnly: false, commits: true, timeoutMs: 60_000 },
  handler: async ({ id, commitFirst }, ctx) => {
    try {
      if (commitFirst) ctx.commit();
      await held(id);
      if (!commitFirst) ctx.commit();
      upstreamWrite(id);
      return { text: `wrote ${id}` };
    } finally {
      slowGate.emit(`settled:${id}`);
    }
  },
});

/** Before the approval gate: waits when the note id starts `holdreq-`. */
const holdRequestStep: ServerStep = {
  at: 'beforeApproval',
  step: async (c, next) => {
    const id = (c.args as { id?: unknown }).id;
    if (typeof id === 'string' && id.startsWith('holdreq-')) await held(id);
    return next();
  },
};

/** Before the handler: waits (like a wait on an idempotency claim) when the note id starts `hold-`. */
const holdStep: ServerStep = {
  at: 'beforeExecute',
  step: async (c, next) => {
    const id = (c.args as { id?: unknown }).id;
    if (typeof id === 'string' && id.startsWith('hold-')) await held(id);
    return next();
  },
};

/** The suspension test server, with the agents API the admin server registers. */
export const suspServer: ServerDefinition<undefined> = {
  name: 'susptest',
  version: '0.0.1',
  defaultPort: 7497,
  tools: [readNote, writeNote, deleteNote, relayNotes, slowWrite, stagedWrite],
  steps: [holdRequestStep, holdStep],
  http: async (app, ctx) => {
    await app.register(agentsApi(ctx.runtime));
  },
};

/** Everyone may call every tool; write_note costs 4 units; a session budget makes the limits step count. */
export const suspPolicy = {
  version: 1,
  roles: {
    operator: {
      grants: [{ servers: ['susptest'], tools: ['*'] }],
      budget: { perSession: 100_000 },
    },
  },
  tools: { 'susptest/write_note': { cost: 4 } },
};

export const PUBLIC_URL = 'http://susptest.local';
export const AUDIENCE = `${PUBLIC_URL}/mcp`;
export const APPROVALS_AUDIENCE = `${PUBLIC_URL}/approvals`;

/** A parsed audit line. */
export interface AuditLine {
  id: string;
  server: string;
  method: string;
  tool: string | null;
  agentId: string | null;
  tenant: string | null;
  decision: string;
  decisionReason: string;
  outcome: string;
  arguments: Record<string, unknown> | null;
  details: Record<string, unknown> | null;
}

/** Replicas of the suspension server on one issuer, public URL and fleet database. */
export class SuspFleet {
  readonly audit: AuditLine[] = [];
  readonly servers: BootedServer[] = [];

  private constructor(
    readonly issuer: DevIssuer,
    readonly db: { url: string; drop(): Promise<void> } | undefined,
  ) {}

  /** Starts `count` replicas (with a fresh fleet database unless `database: false`). */
  static async start(
    o: {
      count?: number;
      database?: boolean;
      env?: Record<string, string>;
      /** Replicas after the first take every message through the MCP SDK (no fast path). */
      sdkOnlyReplicas?: boolean;
    } = {},
  ) {
    const issuer = await DevIssuer.create();
    await issuer.listen();
    const db = o.database === false ? undefined : await createTestDatabase('fleet_susp');
    const fleet = new SuspFleet(issuer, db);
    for (let i = 0; i < (o.count ?? 2); i++) {
      fleet.servers.push(
        await bootServer(suspServer, {
          policy: suspPolicy,
          issuer,
          ...(db ? { databaseUrl: db.url } : {}),
          env: { PUBLIC_URL, AUDIT_STDOUT: 'true', SUSPENSION_POLL_MS: '100', ...o.env },
          serverOptions: {
            auditWrite: (line) => fleet.audit.push(JSON.parse(line) as AuditLine),
            ...(o.sdkOnlyReplicas && i > 0 ? { mcp: { fastPath: false } } : {}),
          },
        }),
      );
    }
    return fleet;
  }

  /** An agent token (role operator) for the suspension server. */
  agentToken(sub: string, o: { tenant?: string; user?: string; scope?: string; aud?: string } = {}) {
    return this.issuer.mint({ sub, roles: ['operator'], ...o, aud: o.aud ?? AUDIENCE });
  }

  /** A person's approver token (approvals audience, mcp:approve). */
  approverToken(sub: string, o: { tenant?: string; extra?: Record<string, unknown> } = {}) {
    return this.issuer.mintApprover({ sub, aud: APPROVALS_AUDIENCE, ...o });
  }

  /** Calls the agents (or approvals) API of one replica. */
  async api(
    i: number,
    method: 'GET' | 'POST',
    path: string,
    token: string | undefined,
    body?: unknown,
  ): Promise<{ status: number; body: Record<string, unknown> }> {
    const res = await fetch(`${this.servers[i]!.baseUrl}${path}`, {
      method,
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(method === 'POST' ? { 'content-type': 'application/json' } : {}),
      },
      ...(method === 'POST' ? { body: JSON.stringify(body ?? {}) } : {}),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  }

  /** The audit lines of one method (e.g. `agents/suspend`). */
  records(method: string): AuditLine[] {
    return this.audit.filter((a) => a.method === method);
  }

  async close(): Promise<void> {
    for (const s of this.servers) await s.close();
    await this.issuer.close();
    await this.db?.drop();
  }
}

/**
 * Waits until `check` passes (it throws until then): an event, not a duration. Gives up after `limitMs`
 * only so a broken build fails instead of hanging; no test asserts how long anything took.
 */
export async function eventually<T>(check: () => Promise<T>, limitMs = 15_000): Promise<T> {
  const until = Date.now() + limitMs;
  for (;;) {
    try {
      return await check();
    } catch (err) {
      if (Date.now() > until) throw err;
      await sleep(25);
    }
  }
}
