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
