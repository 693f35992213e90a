// What every server's tests do with a booted server and its answers: connect as a role, read a
// result's text or data, wait for something to become true, build connectors without logs.
import type { Logger } from '@mcp-fleet/core';
import type { BootedServer } from './boot.js';
import { type ClientEra, connectClient, type TestClient } from './clients.js';

/** A tool result as either client era returns it. */
export interface ResultLike {
  content: { type: string; text?: string }[];
  structuredContent?: Record<string, unknown>;
  isError?: boolean;
}

/** The text of a tool result (every text block, one per line). */
export function textOf(r: { content: { type: string; text?: string }[] }): string {
  return r.content.map((c) => c.text ?? '').join('\n');
}

/** The structured content of a tool result; throws with the result's text when there is none. */
export function dataOf(r: ResultLike): Record<string, unknown> {
  if (!r.structuredContent) throw new Error(`no structured content: ${textOf(r)}`);
  return r.structuredContent;
}

/** A call's outcome as tests read it: error or not, its error code, text, structured data and `_meta`. */
export interface CallOutcome {
  isError: boolean;
  /** `_meta["io.mcp-fleet/error"].code`, or `rpc_error` for a JSON-RPC error (invalid arguments...). */
  code: string | undefined;
  text: string;
  data: Record<string, unknown> | undefined;
  meta: Record<string, unknown> | undefined;
}

/** A tool result as a {@link CallOutcome}. */
export function outcomeOf(r: ResultLike): CallOutcome {
  const meta = (r as { _meta?: Record<string, unknown> })._meta;
  const err = meta?.['io.mcp-fleet/error'] as { code?: string } | undefined;
  return {
    isError: r.isError === true,
    code: err?.code,
    text: textOf(r),
    data: r.structuredContent,
    meta,
  };
}

/** Calls a tool; a JSON-RPC error (e.g. invalid arguments) becomes an error outcome with code `rpc_error`. */
export async function callOutcome(
  client: TestClient,
  tool: string,
  args: Record<string, unknown>,
  meta?: Record<string, unknown>,
): Promise<CallOutcome> {
  try {
    return outcomeOf(await client.callTool(tool, args, meta));
  } catch (e) {
    return { isError: true, code: 'rpc_error', text: (e as Error).message, data: undefined, meta: undefined };
  }
}

/** Polls `fn` every 100 ms until it returns true or `ms` pass; then the last answer. */
export async function eventually(fn: () => Promise<boolean> | boolean, ms = 5_000): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (await fn()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return fn();
}

/** A logger that drops everything, for connectors built directly in a test. */
export const silentLogger: Logger = {
  info() {},
  warn() {},
  error() {},
  debug() {},
  trace() {},
  fatal() {},
  child() {
    return silentLogger;
  },
} as unknown as Logger;

/** Connects a client of `era` to `s` as agent `sub` (default `<role>-agent`) holding `role`. */
export async function clientAs(
  s: BootedServer,
  era: ClientEra,
  role: string,
  sub = `${role}-agent`,
): Promise<TestClient> {
  return connectClient(era, s.url, await s.token({ sub, roles: [role] }));
}

/** Connects a client of `era` (modern unless told) to `s` with a token carrying `claims`. */
export async function connectAs(
  s: BootedServer,
  claims: Parameters<BootedServer['token']>[0],
  era: ClientEra = 'modern',
): Promise<TestClient> {
  return connectClient(era, s.url, await s.token(claims));
}

/** The names `client` sees in tools/list, sorted. */
export async function listedNames(client: TestClient): Promise<string[]> {
  return (await client.listTools()).tools.map((t) => t.name).sort();
}
