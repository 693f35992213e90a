// MCP clients of both protocol eras that send a bearer token: real SDK clients over real sockets.

import { MODERN_PROTOCOL_VERSION } from '@mcp-fleet/core/protocol';
import {
  Client as ModernClient,
  StreamableHTTPClientTransport as ModernTransport,
} from '@modelcontextprotocol/client';
import { Client as LegacyClient } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as LegacyTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

/** The protocol era a test client speaks. */
export type ClientEra = 'modern' | 'legacy';

/** What tests need from either client. */
export interface TestClient {
  era: ClientEra;
  listTools(): Promise<{
    tools: { name: string; annotations?: Record<string, unknown>; outputSchema?: unknown }[];
  }>;
  callTool(
    name: string,
    args?: Record<string, unknown>,
    meta?: Record<string, unknown>,
  ): Promise<{
    content: { type: string; text?: string }[];
    structuredContent?: Record<string, unknown>;
    isError?: boolean;
  }>;
  close(): Promise<void>;
}

/** Connects a 2026-07-28 client (`@modelcontextprotocol/client`, pinned to core's modern revision). */
export async function connectModern(
  url: string,
  token: string,
  name = 'fleet-test-modern',
): Promise<TestClient> {
  const client = new ModernClient(
    { name, version: '1.0.0' },
    { versionNegotiation: { mode: { pin: MODERN_PROTOCOL_VERSION } } },
  );
  await client.connect(
    new ModernTransport(new URL(url), { requestInit: { headers: { authorization: `Bearer ${token}` } } }),
  );
  return wrap('modern', client as unknown as AnyClient);
}

/** Connects a 2025-11-25 client (`@modelcontextprotocol/sdk` 1.x). */
export async function connectLegacy(
  url: string,
  token: string,
  name = 'fleet-test-legacy',
): Promise<TestClient> {
  const client = new LegacyClient({ name, version: '1.0.0' });
  await client.connect(
    new LegacyTransport(new URL(url), { requestInit: { headers: { authorization: `Bearer ${token}` } } }),
  );
  return wrap('legacy', client as unknown as AnyClient);
}

/** Connects a client of the given era. */
export function connectClient(era: ClientEra, url: string, token: string): Promise<TestClient> {
  return era === 'modern' ? connectModern(url, token) : connectLegacy(url, token);
}

interface AnyClient {
  listTools(): Promise<TestClient extends { listTools(): Promise<infer R> } ? R : never>;
  callTool(p: {
    name: string;
    arguments?: Record<string, unknown>;
    _meta?: Record<string, unknown>;
  }): Promise<unknown>;
  close(): Promise<void>;
}

function wrap(era: ClientEra, client: AnyClient): TestClient {
  return {
    era,
    listTools: () => client.listTools(),
    callTool: async (name, args, meta) =>
      (await client.callTool({ name, arguments: args ?? {}, ...(meta ? { _meta: meta } : {}) })) as Awaited<
        ReturnType<TestClient['callTool']>
      >,
    close: () => client.close(),
  };
}
