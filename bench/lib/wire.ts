// What goes over the wire in the load sections: one JSON-RPC tools/call per request, each with its
// own id and arguments, and the check every response must pass (not only its status).

/** The 2026-07-28 revision (per-request `_meta` envelope) or a 2025-11-25 client. */
export type Era = 'modern' | 'legacy';

export const MODERN_VERSION = '2026-07-28';
export const LEGACY_VERSION = '2025-11-25';

const CLIENT_META = {
  'io.modelcontextprotocol/protocolVersion': MODERN_VERSION,
  'io.modelcontextprotocol/clientInfo': { name: 'mcp-fleet-bench', version: '1.0.0' },
  'io.modelcontextprotocol/clientCapabilities': {},
};

/** HTTP headers of a tools/call for one era (plus the bearer token when given). */
export function callHeaders(era: Era, tool: string, token?: string): Record<string, string> {
  const h: Record<string, string> = {
    'content-type': 'application/json',
    accept: 'application/json, text/event-stream',
  };
  if (era === 'modern') {
    h['mcp-protocol-version'] = MODERN_VERSION;
    h['mcp-method'] = 'tools/call';
    h['mcp-name'] = tool;
  } else {
    h['mcp-protocol-version'] = LEGACY_VERSION;
  }
  if (token) h.authorization = `Bearer ${token}`;
  return h;
}

/** The JSON body of one tools/call. */
export function callBody(era: Era, id: number, tool: string, args: Record<string, unknown>): string {
  const params: Record<string, unknown> = { name: tool, arguments: args };
  if (era === 'modern') params._meta = CLIENT_META;
  return JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/call', params });
}

/** The JSON-RPC message in a response body: plain JSON, or the `data:` line of a one-event SSE stream. */
export function rpcMessage(body: string): unknown {
  const trimmed = body.trimStart();
  if (trimmed.startsWith('{')) return JSON.parse(trimmed);
  for (const line of trimmed.split('\n')) {
    if (line.startsWith('data:')) {
      const data = line.slice(5).trim();
      if (data.startsWith('{')) return JSON.parse(data);
    }
  }
  throw new Error('no JSON-RPC message in the body');
}

/** The part of a tools/call result a check looks at. */
interface ToolResultShape {
  content?: { type?: string; text?: string }[];
  structuredContent?: unknown;
  isError?: boolean;
}

/**
 * Checks one response to the call `id`: a JSON-RPC result for that id, not an error, whose
 * structuredContent and text content both equal `expected`. Returns null when right, else why not.
 */
export function checkResponse(
  status: number,
  body: string,
  id: number,
  expected: Record<string, unknown>,
): string | null {
  if (status !== 200) return `HTTP ${status}`;
  let msg: { jsonrpc?: string; id?: unknown; result?: ToolResultShape; error?: { message?: string } };
  try {
    msg = rpcMessage(body) as typeof msg;
  } catch (err) {
    return `unparsable body: ${(err as Error).message}`;
  }
  if (msg.jsonrpc !== '2.0') return 'not JSON-RPC 2.0';
  if (msg.id !== id) return `answer for id ${String(msg.id)}, expected ${id}`;
  if (msg.error) return `JSON-RPC error: ${msg.error.message ?? '?'}`;
  const r = msg.result;
  if (!r) return 'no result';
  if (r.isError) return `tool error: ${r.content?.[0]?.text ?? '?'}`;
  if (!sameJson(r.structuredContent, expected)) return 'structuredContent differs from the arguments sent';
  const text = r.content?.[0];
  if (text?.type !== 'text' || typeof text.text !== 'string') return 'no text content';
  let parsed: unknown;
  try {
    parsed = JSON.parse(text.text);
  } catch {
    return 'text content is not the JSON of the result';
  }
  if (!sameJson(parsed, expected)) return 'text content differs from the arguments sent';
  return null;
}

/** Checks a query tool's answer to call `id`: structuredContent.rows is exactly `[row]`. */
export function checkRowResponse(status: number, body: string, id: number, row: unknown[]): string | null {
  if (status !== 200) return `HTTP ${status}`;
  let msg: {
    id?: unknown;
    result?: ToolResultShape & { structuredContent?: { rows?: unknown } };
    error?: { message?: string };
  };
  try {
    msg = rpcMessage(body) as typeof msg;
  } catch (err) {
    return `unparsable body: ${(err as Error).message}`;
  }
  if (msg.id !== id) return `answer for id ${String(msg.id)}, expected ${id}`;
  if (msg.error) return `JSON-RPC error: ${msg.error.message ?? '?'}`;
  if (msg.result?.isError) return `tool error: ${msg.result.content?.[0]?.text ?? '?'}`;
  if (!sameJson(msg.result?.structuredContent?.rows, [row]))
    return 'rows differ from the expected customer row';
  return null;
}

/** Deep equality for JSON values (key order ignored). */
export function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  for (const k of ka) {
    if (!sameJson((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k])) return false;
  }
  return true;
}
