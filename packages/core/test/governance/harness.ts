// Test-only tools and helpers for the governance tests: a server whose tools count how often their
// "upstream" really ran, booted as several replicas behind one public URL (one token audience).
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { defineConstraint, defineTool, type ServerDefinition, ToolError } from '@mcp-fleet/core';
import { type BootedServer, bootServer, DevIssuer } from '@mcp-fleet/testkit';
import { z } from 'zod';
import { waitingTool } from '../fixtures.js';

/** How often each upstream really ran (shared by every replica in this process). */
export const upstream = {
  echo: 0,
  report: 0,
  sessionView: 0,
  failing: 0,
  partial: 0,
  fileInfo: 0,
  slowStarted: 0,
  slowAborted: 0,
  transfers: [] as { account: string; amount: number }[],
  refunds: [] as { payment: string; amount: number }[],
};
/** The "file version" the file_info tool's cacheKey hook reads. */
export const fileState = { version: 1 };

const echoCaller = defineTool({
  name: 'echo_caller',
  title: 'Echo caller',
  description: 'Returns who is calling (agent and tenant). Cheap, read-only, never cached.',
  input: z.object({ text: z.string().default('') }),
  governance: { readOnly: true },
  handler: async ({ text }, ctx) => {
    upstream.echo += 1;
    return { text: `${text} from ${ctx.identity.agentId}@${ctx.identity.tenant ?? '-'}` };
  },
});

const regions = defineConstraint({
  name: 'regions',
  description: 'regions the caller may read',
  schema: z.object({ regions: z.array(z.string()).min(1) }),
});
const zones = defineConstraint({
  name: 'zones',
  description: 'zones the caller may check',
  schema: z.object({ zones: z.array(z.string()) }),
});

const getReport = defineTool({
  name: 'get_report',
  title: 'Get report',
  description: 'Returns the sales report of a region for the caller tenant. Read-only and cacheable.',
  input: z.object({ region: z.string() }),
  output: z.object({ region: z.string(), tenant: z.string(), run: z.number() }),
  governance: { readOnly: true, cacheTtlSeconds: 300 },
  constraint: {
    dimension: regions,
    check: (args, v) => (v.regions.includes(args.region) ? null : `region ${args.region} is not allowed`),
  },
  handler: async ({ region }, ctx) => {
    upstream.report += 1;
    return { data: { region, tenant: ctx.identity.tenant ?? '-', run: upstream.report } };
  },
});

const sessionView = defineTool({
  name: 'get_session_view',
  title: 'Get session view',
  description: 'Returns a view that only makes sense within one agent session. Cached per session.',
  input: z.object({ name: z.string() }),
  governance: { readOnly: true, cacheTtlSeconds: 300, cacheScope: 'session' },
  handler: async ({ name }) => {
    upstream.sessionView += 1;
    return { text: `${name} #${upstream.sessionView}` };
  },
});

const failing = defineTool({
  name: 'find_customer',
  title: 'Find customer',
  description: 'Looks a customer up; fails with advice for unknown customers. Cacheable when it succeeds.',
  input: z.object({ id: z.string() }),
  governance: { readOnly: true, cacheTtlSeconds: 300 },
  handler: async ({ id }) => {
    upstream.failing += 1;
    if (id.startsWith('missing')) throw new ToolError(`customer ${id} not found; call list_customers`);
    if (id.startsWith('crash')) throw new Error('upstream exploded');
    return { text: `customer ${id}` };
  },
});

const partial = defineTool({
  name: 'scan_logs',
  title: 'Scan logs',
  description:
    'Scans logs until a time budget runs out; the answer may be partial. Never cached when partial.',
  input: z.object({ pattern: z.string() }),
  governance: { readOnly: true, cacheTtlSeconds: 300 },
  handler: async ({ pattern }) => {
    upstream.partial += 1;
    return { text: `matches for ${pattern} (cut short)`, partial: true };
  },
});

const fileInfo = defineTool({
  name: 'get_file_info',
  title: 'Get file info',
  description: 'Returns facts about a file. Cached by file identity and version through a cacheKey hook.',
  input: z.object({ path: z.string() }),
  governance: { readOnly: true, cacheTtlSeconds: 300 },
  cacheKey: async ({ path }) => `${path}@v${fileState.version}`,
  handler: async ({ path }) => {
    upstream.fileInfo += 1;
    return { text: `${path} is at version ${fileState.version}` };
  },
});

const expensive = defineTool({
  name: 'run_expensive_query',
  title: 'Run an expensive query',
  description: 'A read-only query that costs 3 budget units per call. Never cached.',
  input: z.object({ q: z.string() }),
  governance: { readOnly: true, cost: 3 },
  handler: async ({ q }) => ({ text: `rows for ${q}` }),
});

const slow = waitingTool(
  {
    name: 'wait_slowly',
    title: 'Wait slowly',
    description:
      'Waits for the given number of milliseconds, honouring cancellation. Times out after 300 ms.',
    timeoutMs: 300,
  },
  upstream,
);

const longTask = waitingTool(
  {
    name: 'run_long_task',
    title: 'Run a long task',
    description: 'Waits for the given number of milliseconds (timeout 20 s), honouring cancellation.',
    timeoutMs: 20_000,
  },
  upstream,
);

const transfer = defineTool({
  name: 'transfer_funds',
  title: 'Transfer funds',
  description:
    'Moves money between accounts (mutating). Takes a moment. Pass an idempotency_key to make retries safe.',
  input: z.object({ account: z.string(), amount: z.number().positive() }).strict(),
  governance: { readOnly: false },
  handler: async ({ account, amount }) => {
    upstream.transfers.push({ account, amount });
    await sleep(150);
    return { text: `transferred ${amount} to ${account} (transfer #${upstream.transfers.length})` };
  },
});

/** What slow_transfer did: started, finished (it ignores the abort signal, like an upstream that cannot be interrupted). */
export const slowTransfers = { started: [] as string[], done: [] as string[], settled: new EventEmitter() };

const slowTransfer = defineTool({
  name: 'slow_transfer',
  title: 'Transfer funds slowly',
  description:
    'Moves money (mutating) after holdMs; cannot be interrupted once started. No point of no return declared. Times out after 50 ms.',
  input: z.object({ account: z.string(), holdMs: z.number().int().min(0) }).strict(),
  governance: { readOnly: false, timeoutMs: 50 },
  handler: async ({ account, holdMs }) => {
    slowTransfers.started.push(account);
    try {
      await sleep(holdMs);
      slowTransfers.done.push(account);
      return { text: `transferred to ${account}` };
    } finally {
      slowTransfers.settled.emit(account);
    }
  },
});

const refund = defineTool({
  name: 'refund_payment',
  title: 'Refund a payment',
  description: 'Refunds a payment. Destructive: every call waits for a human approval first.',
  input: z.object({ payment: z.string(), amount: z.number().positive(), confirm: z.boolean().optional() }),
  governance: { readOnly: false, destructive: true },
  handler: async ({ payment, amount }) => {
    upstream.refunds.push({ payment, amount });
    return { text: `refunded ${amount} on ${payment}` };
  },
});

const refundStructured = defineTool({
  name: 'close_account',
  title: 'Close an account',
  description: 'Closes an account and returns the closing statement. Destructive, with an output schema.',
  input: z.object({ account: z.string() }),
  output: z.object({ account: z.string(), closed: z.boolean() }),
  governance: { readOnly: false, destructive: true },
  handler: async ({ account }) => ({ data: { account, closed: true } }),
});

/** What the point-of-no-return fixtures wrote, and an event per handler that finished (either way). */
export const ledger = { entries: [] as string[], settled: new EventEmitter(), failedOnce: new Set<string>() };

const writeLedger = defineTool({
  name: 'write_ledger',
  title: 'Write a ledger entry',
  description:
    'Writes a ledger entry after holdMs of preparation (commitFirst: the point of no return comes before it). Times out after 50 ms.',
  input: z.object({ entry: z.string(), holdMs: z.number().int().min(0), commitFirst: z.boolean() }),
  governance: { readOnly: false, timeoutMs: 50, commits: true },
  handler: async ({ entry, holdMs, commitFirst }, ctx) => {
    try {
      if (commitFirst) ctx.commit();
      await sleep(holdMs); // ignores the abort signal: a step that cannot be interrupted
      if (!commitFirst) ctx.commit();
      ledger.entries.push(entry);
      return { text: `wrote ${entry}` };
    } finally {
      ledger.settled.emit(entry);
    }
  },
});

const refundFlaky = defineTool({
  name: 'refund_flaky',
  title: 'Refund (flaky upstream)',
  description:
    'Refunds a payment; the first attempt per payment fails before reaching the upstream. Destructive: needs approval.',
  input: z.object({ payment: z.string() }),
  governance: { readOnly: false, destructive: true, commits: true },
  handler: async ({ payment }, ctx) => {
    if (!ledger.failedOnce.has(payment)) {
      ledger.failedOnce.add(payment);
      throw new ToolError('the payment provider is unavailable; retry in a minute');
    }
    ctx.commit();
    upstream.refunds.push({ payment, amount: 1 });
    return { text: `refunded ${payment}` };
  },
});

const buggyCheck = defineTool({
  name: 'check_zone',
  title: 'Check a zone',
  description: 'Returns the zone it is given. Its policy constraint check has a bug: it throws for "boom".',
  input: z.object({ zone: z.string() }),
  governance: { readOnly: true },
  constraint: {
    dimension: zones,
    check: (args, v) => {
      if (args.zone === 'boom') throw new Error('constraint check crashed');
      return v.zones.includes(args.zone) ? null : `zone ${args.zone} is not allowed`;
    },
  },
  handler: async ({ zone }) => ({ text: `zone ${zone}` }),
});

/** The governance test server. */
export const govServer: ServerDefinition<undefined> = {
  name: 'govtest',
  version: '0.0.1',
  defaultPort: 7498,
  tools: [
    echoCaller,
    getReport,
    sessionView,
    failing,
    partial,
    fileInfo,
    expensive,
    slow,
    longTask,
    transfer,
    slowTransfer,
    refund,
    refundStructured,
    writeLedger,
    refundFlaky,
    buggyCheck,
  ],
};

/**
 * These tests' grants leave the constraint dimensions explicitly unconstrained (`"*"`) unless they
 * give a value; a grant that left them unset would not cover the constrained tools (fail closed).
 */
function unconstrainedUnlessSet<P extends { roles: Record<string, { grants: readonly object[] }> }>(p: P): P {
  for (const role of Object.values(p.roles)) {
    for (const g of role.grants as { constraints?: Record<string, unknown> }[]) {
      g.constraints = { 'govtest.regions': '*', 'govtest.zones': '*', ...g.constraints };
    }
  }
  return p;
}

/** Policy for the governance tests. */
export const govPolicy = unconstrainedUnlessSet({
  version: 1,
  roles: {
    reader: { grants: [{ servers: ['govtest'], access: 'read' }] },
    analyst: { grants: [{ servers: ['govtest'], access: 'read' }] },
    limited: { grants: [{ servers: ['govtest'], access: 'read' }], limits: { perTool: { echo_caller: 5 } } },
    generous: { grants: [{ servers: ['govtest'], access: 'read' }], limits: { perTool: { echo_caller: 8 } } },
    throttled: { grants: [{ servers: ['govtest'], access: 'read' }], limits: { perMinute: 3 } },
    spender: {
      grants: [{ servers: ['govtest'], access: 'read' }],
      budget: { perSession: 10, perWindow: { cost: 20, minutes: 60 } },
    },
    eu_only: {
      grants: [
        {
          servers: ['govtest'],
          tools: ['get_report'],
          constraints: { 'govtest/get_report': { regions: ['eu'] } },
        },
      ],
    },
    eu_us: {
      grants: [
        {
          servers: ['govtest'],
          tools: ['get_report'],
          constraints: { 'govtest/get_report': { regions: ['eu', 'us'] } },
        },
      ],
    },
    operator: { grants: [{ servers: ['govtest'], tools: ['*'] }] },
    zoner: {
      grants: [
        {
          servers: ['govtest'],
          tools: ['check_zone'],
          constraints: { 'govtest/check_zone': { zones: ['boom', 'eu'] } },
        },
      ],
    },
  },
  tools: { 'govtest/wait_slowly': { globalPerMinute: 1000 } },
});

/** The public URL every replica shares, so one token (audience) is good for all of them. */
export const PUBLIC_URL = 'http://govtest.local';
/** The audience of tokens for the governance server. */
export const AUDIENCE = `${PUBLIC_URL}/mcp`;

/** A unique Redis key prefix, so tests sharing the machine's Redis never see each other's counters. */
export function redisPrefix(): string {
  return `gt-${randomBytes(6).toString('hex')}`;
}

/** A parsed audit line. */
export interface AuditLine {
  outcome: string;
  tool: string;
  agentId: string;
  details: Record<string, unknown> | null;
  method: string;
}

/** Replicas of the governance server sharing an issuer, a public URL, a database and (optionally) Redis. */
export class Fleet {
  readonly issuer: DevIssuer;
  readonly audit: AuditLine[] = [];
  readonly replicas: BootedServer[] = [];
  readonly #env: Record<string, string>;
  readonly #databaseUrl: string | undefined;
  readonly #policy: unknown;

  private constructor(
    issuer: DevIssuer,
    env: Record<string, string>,
    databaseUrl: string | undefined,
    policy: unknown,
  ) {
    this.issuer = issuer;
    this.#env = env;
    this.#databaseUrl = databaseUrl;
    this.#policy = policy;
  }

  /** Starts `count` replicas. */
  static async start(
    o: { count?: number; env?: Record<string, string>; databaseUrl?: string; policy?: unknown } = {},
  ): Promise<Fleet> {
    const issuer = await DevIssuer.create();
    await issuer.listen();
    const fleet = new Fleet(issuer, o.env ?? {}, o.databaseUrl, o.policy ?? govPolicy);
    for (let i = 0; i < (o.count ?? 1); i++) await fleet.add();
    return fleet;
  }

  /** Boots one more replica (optionally with extra environment). */
  async add(env: Record<string, string> = {}, o: { sdkOnly?: boolean } = {}): Promise<BootedServer> {
    const s = await bootServer(govServer, {
      policy: this.#policy,
      issuer: this.issuer,
      ...(this.#databaseUrl ? { databaseUrl: this.#databaseUrl } : {}),
      env: { PUBLIC_URL, AUDIT_STDOUT: 'true', ...this.#env, ...env },
      serverOptions: {
        auditWrite: (line) => this.audit.push(JSON.parse(line) as AuditLine),
        ...(o.sdkOnly ? { mcp: { fastPath: false } } : {}),
      },
    });
    this.replicas.push(s);
    return s;
  }

  /** Mints a token for the governance server. */
  token(o: {
    sub: string;
    roles: string[];
    tenant?: string;
    sid?: string;
    user?: string;
    scope?: string;
    aud?: string;
  }): Promise<string> {
    return this.issuer.mint({ ...o, aud: o.aud ?? AUDIENCE });
  }

  /** Audit lines of one tool. */
  outcomes(tool: string): string[] {
    return this.audit.filter((a) => a.tool === tool && a.method === 'tools/call').map((a) => a.outcome);
  }

  /** Stops one replica. */
  async stop(s: BootedServer): Promise<void> {
    await s.close();
    this.replicas.splice(this.replicas.indexOf(s), 1);
  }

  /** Stops everything. */
  async close(): Promise<void> {
    for (const s of [...this.replicas]) await s.close();
    this.replicas.length = 0;
    await this.issuer.close();
  }
}

/** Sum of a counter on a replica's /metrics over the lines matching every label given. */
export async function metric(
  s: BootedServer,
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  const text = await (await fetch(`${s.baseUrl}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (!Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) continue;
    sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

/** The first text block of a result. */
export function textOf(r: { content: { type: string; text?: string }[] }): string {
  return r.content[0]?.text ?? '';
}
