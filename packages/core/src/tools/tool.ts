// A tool is declared once: what the model sees, how its input is checked, how it is governed, what runs.
import type { z } from 'zod';
import type { Identity } from '../identity/identity.js';
import type { Logger } from '../observability/logger.js';

/** MCP tool annotations (hints for clients; the fleet's own governance never trusts them). */
export interface ToolAnnotations {
  title?: string;
  readOnlyHint?: boolean;
  destructiveHint?: boolean;
  idempotentHint?: boolean;
  openWorldHint?: boolean;
}

/** How core governs a tool. Declared beside the tool; policy can tighten, never loosen, these. */
export interface ToolGovernance {
  /** True for tools that change nothing. Only these may be cached. Mutating tools get "no audit, no mutation". */
  readOnly: boolean;
  /** Destroys or moves value (deletes, refunds). Implies an approval gate unless policy says otherwise. */
  destructive?: boolean;
  /** Results may be served from cache for this many seconds (read-only tools only). */
  cacheTtlSeconds?: number;
  /** Per-tool timeout; the handler's abort signal fires when it passes. */
  timeoutMs?: number;
  /** Requires a human approval before it runs. */
  needsApproval?: boolean;
  /** Calls to external systems outside the company (shown to clients as openWorldHint). */
  openWorld?: boolean;
  /** Weight of one call against per-session budgets (default 1). */
  cost?: number;
  /**
   * The handler calls `ctx.commit()` right before its change reaches the upstream system. Core then
   * knows that a failure before that point changed nothing, and gives back an approval the call used.
   */
  commits?: boolean;
  /**
   * `shared` (default): a cached result is reused by any caller with the same tenant, user, roles
   * and policy constraints, in any session. `session`: only within the agent session that made it.
   */
  cacheScope?: 'shared' | 'session';
  /**
   * Flow guard (issue 17): what every result of this tool contains (`pii`, `financial`, `untrusted`...).
   * Policy (`flow.labels`) adds labels per tool and per source; a result marked `untrusted` carries
   * `untrusted` whatever is declared. The agent session that received the result carries the labels.
   */
  labels?: readonly string[];
  /**
   * Flow guard: this tool sends outside the call (a note on a vendor's CRM, a report another person
   * reads): `external` (a vendor, outside the company) or `internal`. A server step may say more for
   * one call (`GovernedCall.outbound`: each destination, and the content that leaves).
   */
  sends?: 'internal' | 'external';
}

/** A dimension's value as a policy grant gives it: a value of its schema, or `"*"` (explicitly unconstrained). */
export const UNCONSTRAINED = '*';

/**
 * A named constraint dimension, declared once per server (`database.schemas`, `files.read`,
 * `communication.channels`...). Policy grants give values keyed `"<server>.<name>"`; every tool that
 * declares the dimension is constrained by them, so a new tool needs no new policy lines. A grant
 * that covers such a tool but leaves its dimension unset does not grant it (fail closed).
 */
export interface ConstraintDimension<Value> {
  /** lower_snake name; the policy key is `"<server>.<name>"`. */
  readonly name: string;
  /** What a value means, for `fleet policy explain` and the docs. */
  readonly description: string;
  /** Shape of a value, e.g. `{ schemas: string[] }`; parsed once when the policy is loaded. */
  readonly schema: z.ZodType<Value>;
}

/**
 * A tool's constraint: the dimension it belongs to, and how a call's arguments are checked against
 * one granted value. Written in the tool as `constraint: { dimension: schemas, check: (args, value) => ... }`
 * (both typed from the tool's input and the dimension's schema).
 */
export interface ToolConstraint<Args, Value> {
  dimension: ConstraintDimension<Value>;
  /**
   * Returns `null` when `args` fit `value`, or a message for the model saying why not. Core calls it
   * once per granted value before the handler; the call passes when one value fits.
   */
  check: (args: Args, value: Value) => string | null;
}

const DIMENSION_NAME = /^[a-z][a-z0-9_]*$/;

/**
 * Declares a constraint dimension of a server, once.
 * @example export const schemas = defineConstraint({ name: 'schemas', description: '...', schema: z.object({ schemas: z.array(z.string()) }) });
 */
export function defineConstraint<S extends z.ZodType>(spec: {
  name: string;
  description: string;
  schema: S;
}): ConstraintDimension<z.output<S>> {
  if (!DIMENSION_NAME.test(spec.name)) {
    throw new Error(`constraint dimension "${spec.name}": the name must be lower_snake_case`);
  }
  return Object.freeze({
    name: spec.name,
    description: spec.description,
    schema: spec.schema as z.ZodType<z.output<S>>,
  });
}

/** What a tool's `cacheKey` hook receives. */
export interface CacheKeyContext<Connectors = unknown> {
  identity: Identity;
  connectors: Connectors;
  signal: AbortSignal;
}

/** What a handler receives besides its validated arguments. */
export interface ToolContext<Connectors = unknown, ConstraintValue = unknown> {
  identity: Identity;
  logger: Logger;
  /** Fires on timeout, client disconnect or cancellation; pass it on to upstream calls. */
  signal: AbortSignal;
  /**
   * Declares the point of no return of a mutation: call it right before the step that makes the change
   * (the rename of a written file, the Slack post, the SMTP send). It throws if the call was already
   * timed out or cancelled, so the change never starts; once it returns, neither the timeout nor the
   * client cancels the call any more: the call waits for the handler and the audit records what really
   * happened. Declare `governance.commits` on a tool that calls it.
   */
  commit(): void;
  connectors: Connectors;
  requestId: string;
  /**
   * Values of the tool's constraint dimension granted by policy for this call, parsed with the
   * dimension's schema when the policy was loaded (one per covering grant; the call fits at least
   * one); `null` when a grant gives `"*"` (explicitly unconstrained) or the tool declares no constraint.
   */
  constraints: readonly ConstraintValue[] | null;
  /**
   * Calls another read-only tool of this server as the same caller (identity, tenant, user, roles,
   * session) through the whole governed pipeline: decision, validation, constraints, rate limits and
   * budgets, cache, timeout and audit. Its audit record names this call in `details.parentCallId`;
   * it is cancelled when this call is. A nested call cannot nest again. Never throws for a refusal:
   * a tool the caller may not use comes back with outcome `denied`.
   */
  callTool(name: string, args: Record<string, unknown>): Promise<NestedCallResult>;
  /**
   * Adds a fact to this call's audit record details (what was sent where, the upstream's id of what
   * was created...). Plain names only; core's own keys (`errorCode`, `approvalId`...) are refused.
   * Facts added before `ctx.commit()` are in the record even if the call then fails.
   */
  detail(key: string, value: unknown): void;
  /**
   * Flow guard (issue 17): names a source this call's result came from — `('schema', 'billing')`,
   * `('path', 'docs/finance/q3.md')`, `('object', 'stripe.charge')`. Policy maps sources to labels
   * (`flow.labels.sources["<server>.<kind>"]`); the agent session that receives the result carries
   * them. Call it for every source the result holds data of (before returning).
   */
  source(kind: string, name: string): void;
  /**
   * The idempotency key the caller sent with this call (mutating tools), as sent. Core already
   * de-duplicates on it; a tool passes it on to an upstream's own de-duplication (an email
   * Message-ID, a Stripe Idempotency-Key), scoped with the caller's identity.
   */
  idempotencyKey: string | undefined;
  /**
   * The human approval this call used (verified and consumed for exactly these arguments and this
   * caller), or undefined when the call needed none. Each approval runs once, so a tool may derive an
   * upstream's de-duplication key from it (a Stripe Idempotency-Key) when the caller sent no key.
   */
  approvalId: string | undefined;
  /**
   * When this call times out (ms since the epoch): the tool's timeout as policy sets it, counted from
   * when the handler started. A connector that retries stops waiting before it, so the caller hears
   * the upstream's failure rather than a bare timeout.
   */
  deadline: number;
}

/** How a nested call ({@link ToolContext.callTool}) ended. */
export interface NestedCallResult {
  /** The outcome its audit record carries: `ok`, `cached`, `denied`, `rate_limited`, `error`... */
  outcome: string;
  /** The tool ran (or was served from cache) and its result is not an error. */
  ok: boolean;
  /** Its structured result, when `ok` and the tool has one. */
  data?: unknown;
  /** Its text result, or why it was refused or failed (written for a model). */
  text: string;
}

/** What a handler returns: structured data (tools with an output schema) and/or text for the model. */
export interface ToolResult<Out> {
  data?: Out;
  text?: string;
  /** The result is incomplete (cut short, best effort): returned to the caller but never cached. */
  partial?: boolean;
  /**
   * The result holds content written outside the fleet (messages, tickets, emails): marked in
   * `_meta["io.mcp-fleet/untrusted"]` as `{ source, note }` so clients treat it as data.
   */
  untrusted?: { source: string };
}

/** The full declaration of one tool. */
export interface ToolDefinition<
  In extends z.ZodObject = z.ZodObject,
  Out extends z.ZodType = z.ZodType,
  Connectors = unknown,
  ConstraintValue = unknown,
> {
  /** snake_case verb_noun, unique on its server. */
  name: string;
  title: string;
  /** Written for a model: when to use it, what it returns, what to call next. */
  description: string;
  input: In;
  output?: Out;
  annotations?: ToolAnnotations;
  governance: ToolGovernance;
  constraint?: ToolConstraint<z.output<In>, ConstraintValue>;
  /**
   * Extra cache-key material for cacheable tools whose result depends on more than arguments and
   * identity, e.g. a file's identity and mtime. Returning a different string makes a different
   * entry. Throwing skips the cache for that call.
   */
  cacheKey?(args: z.output<In>, ctx: CacheKeyContext<Connectors>): string | Promise<string>;
  /** Renders structured data as the text block a model reads; defaults to JSON. */
  toText?: (data: z.output<Out>) => string;
  handler: (
    args: z.output<In>,
    ctx: ToolContext<Connectors, ConstraintValue>,
  ) => Promise<ToolResult<z.output<Out>>>;
}

/** Any tool, with its types erased, as the registry holds it. */
// biome-ignore lint/suspicious/noExplicitAny: the registry holds tools of every shape
export type AnyTool<Connectors = any> = ToolDefinition<z.ZodObject, z.ZodType, Connectors, any>;

/**
 * Binds a server's connectors type once; the returned function declares tools whose `handler` and
 * `cacheKey` get a typed `ctx` (connectors, identity, constraints of the tool's dimension, logger,
 * signal, commit, callTool) with no annotations.
 * @example
 * export const tool = toolsFor<FilesConnectors>();
 * export const getFileInfo = tool({ name: 'get_file_info', ..., handler: async (args, ctx) => ... });
 */
export function toolsFor<Connectors>() {
  return <In extends z.ZodObject, Out extends z.ZodType = z.ZodType, ConstraintValue = unknown>(
    tool: ToolDefinition<In, Out, Connectors, ConstraintValue>,
  ): ToolDefinition<In, Out, Connectors, ConstraintValue> => tool;
}

/**
 * Declares a tool with full type inference for its handler. Returns the declaration unchanged.
 * Prefer {@link toolsFor}, which also types `ctx.connectors`.
 * @example defineTool({ name: 'list_tables', input: z.object({...}), governance: { readOnly: true }, handler })
 */
export function defineTool<
  In extends z.ZodObject,
  Out extends z.ZodType,
  Connectors,
  ConstraintValue = unknown,
>(
  tool: ToolDefinition<In, Out, Connectors, ConstraintValue>,
): ToolDefinition<In, Out, Connectors, ConstraintValue> {
  return tool;
}
