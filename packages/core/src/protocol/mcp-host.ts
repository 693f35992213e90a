// The MCP protocol host: the ONLY module of the fleet that imports the MCP SDK.
//
// Two paths answer POST /mcp, with one governed pipeline behind both:
// - the SDK's own stateless handler (createMcpHandler) serves every message: initialize,
//   server/discover, notifications, protocol-version errors, GET/DELETE, and anything unusual;
// - a fast path answers the hot, well-formed requests (tools/list, tools/call, ping) of both eras
//   directly, because building an SDK server per request caps a process at ~2,400 req/s here
//   (measured with `pnpm bench`, section 2 against section 3). Tests check that both paths give the same answers.
import { toNodeHandler } from '@modelcontextprotocol/node';
import {
  type AuthInfo,
  CLIENT_CAPABILITIES_META_KEY,
  CLIENT_INFO_META_KEY,
  createMcpHandler,
  INVALID_PARAMS,
  PROTOCOL_VERSION_META_KEY,
  ProtocolError,
  SERVER_INFO_META_KEY,
  Server,
  SUPPORTED_PROTOCOL_VERSIONS,
} from '@modelcontextprotocol/server';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { InflightCalls } from '../cancellation/inflight-calls.js';
import type { Identity } from '../identity/identity.js';
import { CallCancellation } from '../kernel/cancellation.js';
import { FLEET_ERRORS, FleetError, type FleetErrorCode } from '../kernel/errors.js';
import { argumentsProblem, nestedDeeperThan } from '../pipeline/argument-bounds.js';
import {
  type CallToolResult,
  callTool,
  recordRefusedCall,
  ToolNotAvailableError,
} from '../pipeline/call-tool.js';
import { listTools } from '../pipeline/list-tools.js';
import type { FleetRuntime } from '../pipeline/runtime.js';
import { codeSdkResponse, type SentError } from './rpc-errors.js';

/** The 2026-07-28 revision: stateless, a per-request `_meta` envelope, no initialize. */
export const MODERN_PROTOCOL_VERSION = '2026-07-28';
/** 2025-era revisions served through the stateless legacy path. */
export const LEGACY_PROTOCOL_VERSIONS: readonly string[] = SUPPORTED_PROTOCOL_VERSIONS;
/** Every protocol revision this host answers. */
export const SERVED_PROTOCOL_VERSIONS: readonly string[] = [
  MODERN_PROTOCOL_VERSION,
  ...LEGACY_PROTOCOL_VERSIONS,
];

type Era = 'modern' | 'legacy';
type RpcId = string | number;

/** The reason a call's cancellation carries when its client disconnected. */
const CLIENT_GONE = new FleetError('FLEET_ERR_CANCELLED', 'the client disconnected');

interface CallScope {
  identity: Identity;
  requestId: string;
  clientRequestId: string | undefined;
  protocolVersion: string | null;
  /**
   * The `arguments` of a tools/call the SDK's schema would refuse before our handler runs (null, an
   * array, a string...): the SDK gets `{}` in their place and the pipeline gets these, so the call
   * is answered and audited as `invalid` exactly as on the fast path.
   */
  heldArguments?: { value: unknown };
  /**
   * The message when it is recognisably a tools/call (method `tools/call`, whatever else is wrong
   * with it): a refusal of it, by the host or the SDK, leaves the call's one audit record.
   */
  call?: Record<string, unknown>;
  /**
   * The tools/call elements of a JSON-RPC batch (refused whole, nothing in it runs): a refusal of the
   * batch leaves one audit record per element.
   */
  batch?: Record<string, unknown>[];
  /** The call has its record (the pipeline ran, or a refusal was recorded): never a second one. */
  recorded?: boolean;
}

/** Options for {@link createMcpHost}. */
export interface McpHostOptions {
  /** Serve hot requests without the SDK (default true). Off: every message goes through the SDK. */
  fastPath?: boolean;
  instructions?: string;
}

/** Answers POST/GET/DELETE /mcp for an authenticated caller. */
export interface McpHost {
  handle(request: FastifyRequest, reply: FastifyReply, identity: Identity): Promise<void>;
  close(): Promise<void>;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** How deep a JSON-RPC message may nest outside a tool call's arguments. */
const MAX_ENVELOPE_DEPTH = 64;

/** The only top-level members of a request the fast path takes (`result`/`error` too: the SDK's 400). */
const REQUEST_KEYS = new Set(['jsonrpc', 'id', 'method', 'params']);

/** Accept names both JSON and SSE (the SDK answers 406 otherwise): exact media types, parameters aside. */
function acceptsBoth(accept: string | undefined): boolean {
  if (accept === undefined) return false;
  const types = accept.split(',').map((t) => t.split(';')[0]!.trim().toLowerCase());
  return types.includes('application/json') && types.includes('text/event-stream');
}

/** A tools/call the fast path answers: it names a tool; anything else is the SDK's to refuse. */
function fastCallable(params: unknown): boolean {
  return (
    isRecord(params) &&
    typeof params.name === 'string' &&
    (params._meta === undefined || isRecord(params._meta))
  );
}

/** A protocol-level refusal (HTTP 400, a JSON-RPC error with a null id): no tool ran. */
function refuse(
  reply: FastifyReply,
  message: string,
  fleetCode: FleetErrorCode = 'FLEET_ERR_INVALID_REQUEST',
): FastifyReply {
  const error = { code: FLEET_ERRORS[fleetCode].rpc, message, data: { code: fleetCode } };
  return reply
    .code(400)
    .header('content-type', 'application/json')
    .send(JSON.stringify({ jsonrpc: '2.0', id: null, error }));
}

/** An `Mcp-Name` value as sent: plain, or the `=?base64?...?=` form for names headers cannot carry. */
function decodeName(value: string): string | undefined {
  if (!(value.startsWith('=?base64?') && value.endsWith('?='))) return value;
  const b64 = value.slice(9, -2);
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(b64) || b64.length % 4 !== 0) return undefined;
  return Buffer.from(b64, 'base64').toString('utf8');
}

/** A body with a 2026 envelope claim: the SDK checks its routing headers (and answers the refusal). */
function claimsModern(body: Record<string, unknown>): boolean {
  const params = body.params;
  return isRecord(params) && isRecord(params._meta) && PROTOCOL_VERSION_META_KEY in params._meta;
}

/**
 * What is wrong with the Mcp-Method / Mcp-Name headers when present, or undefined. The SDK checks
 * them only on requests with a 2026 envelope; a header that routed a gateway to `tools/list` or to a
 * harmless tool must not run another tool whatever the protocol version is.
 */
function routingMismatch(request: FastifyRequest, body: Record<string, unknown>): string | undefined {
  const params = body.params;
  const method = request.headers['mcp-method'];
  if (method !== undefined && method !== body.method)
    return `the body names method ${String(body.method).slice(0, 64)} but the Mcp-Method header names ${String(method).slice(0, 64)}`;
  const name = request.headers['mcp-name'];
  if (typeof name === 'string' && body.method === 'tools/call') {
    const bodyName = isRecord(params) ? params.name : undefined;
    if (typeof bodyName !== 'string' || decodeName(name.trim()) !== bodyName)
      return `the body carries params.name=${JSON.stringify(String(bodyName).slice(0, 128))} but the Mcp-Name header names ${JSON.stringify(name.slice(0, 128))}`;
  }
  return undefined;
}

/**
 * The message when it is recognisably a tools/call: a JSON object (or JSON text of one, as sent with
 * a Content-Type the SDK refuses) whose method is `tools/call`, whatever else is wrong with it.
 */
function recognisedCall(body: unknown): Record<string, unknown> | undefined {
  let message = body;
  if (typeof body === 'string' && body.includes('tools/call')) {
    try {
      message = JSON.parse(body);
    } catch {
      return undefined;
    }
  }
  return isRecord(message) && message.method === 'tools/call' ? message : undefined;
}

/** The most audit records one refused batch writes (the last stands for any further calls in it). */
const MAX_BATCH_RECORDS = 100;

/** How deep in nested arrays a refused batch is searched for tools/call elements. */
const MAX_BATCH_DEPTH = 32;

/**
 * The tools/call elements (method `tools/call`, whatever else is wrong with them) of a JSON-RPC batch:
 * an array body, or a string body that parses to one; undefined when the body is no batch. Elements
 * at any depth of nested arrays count (`[[{tools/call}]]` is a call attempted too), bounded in depth
 * and walked without recursion.
 */
function batchCalls(body: unknown): Record<string, unknown>[] | undefined {
  let message = body;
  if (typeof body === 'string' && body.trimStart().startsWith('[')) {
    try {
      message = JSON.parse(body);
    } catch {
      return undefined;
    }
  }
  if (!Array.isArray(message)) return undefined;
  const calls: Record<string, unknown>[] = [];
  // Depth-first, in document order: a stack of [array, next index, depth].
  const stack: [unknown[], number, number][] = [[message, 0, 1]];
  while (stack.length) {
    const top = stack[stack.length - 1]!;
    if (top[1] >= top[0].length) {
      stack.pop();
      continue;
    }
    const m = top[0][top[1]++];
    if (Array.isArray(m)) {
      if (top[2] < MAX_BATCH_DEPTH) stack.push([m, 0, top[2] + 1]);
    } else if (isRecord(m) && m.method === 'tools/call') calls.push(m);
  }
  return calls;
}

function scopeOf(authInfo: AuthInfo | undefined): CallScope {
  const scope = authInfo?.extra?.fleet as CallScope | undefined;
  if (!scope) throw new ProtocolError(-32603, 'request reached the MCP server without an identity');
  return scope;
}

/** Builds the protocol host for one server runtime. */
export function createMcpHost(rt: FleetRuntime, options: McpHostOptions = {}): McpHost {
  const serverInfo = { name: `mcp-fleet-${rt.server}`, version: rt.version };
  const fastPath = options.fastPath ?? true;

  const toResult = async (
    scope: CallScope,
    name: string,
    args: unknown,
    rpcId: RpcId | null,
    cancellation: CallCancellation,
    meta?: unknown,
  ) => {
    // The pipeline writes the call's one record, whatever ends it.
    scope.recorded = true;
    return callTool(rt, {
      identity: scope.identity,
      name,
      arguments: args,
      requestId: scope.requestId,
      clientRequestId: scope.clientRequestId,
      rpcId,
      protocolVersion: scope.protocolVersion,
      cancellation,
      ...(isRecord(meta) ? { meta } : {}),
    });
  };

  // notifications/cancelled (2025-era clients) arrives as its own stateless POST: abort the call it
  // names, if it belongs to the same verified caller. The SDK still answers the POST (202).
  const cancelNotified = (message: unknown, identity: Identity) => {
    if (!isRecord(message) || message.method !== 'notifications/cancelled' || !isRecord(message.params))
      return;
    const id = message.params.requestId;
    if (typeof id !== 'string' && typeof id !== 'number') return;
    rt.governance.inflight.cancel(InflightCalls.key(identity, id), 'notification');
  };

  // The SDK path: a low-level Server per request (the SDK's stateless idiom), its handlers calling
  // the same governed pipeline as the fast path.
  const sdkHandler = createMcpHandler(
    () => {
      const server = new Server(serverInfo, {
        capabilities: { tools: { listChanged: false } },
        ...(options.instructions ? { instructions: options.instructions } : {}),
      });
      server.setRequestHandler('tools/list', async (_req, ctx) => ({
        tools: listTools(rt, scopeOf(ctx.http?.authInfo).identity) as never,
      }));
      server.setRequestHandler('tools/call', async (req, ctx) => {
        const scope = scopeOf(ctx.http?.authInfo);
        try {
          return (await toResult(
            scope,
            req.params.name,
            scope.heldArguments ? scope.heldArguments.value : req.params.arguments,
            ctx.mcpReq.id,
            CallCancellation.from(ctx.mcpReq.signal),
            req.params._meta,
          )) as never;
        } catch (err) {
          if (err instanceof ToolNotAvailableError)
            throw new ProtocolError(INVALID_PARAMS, err.message, { code: err.code });
          throw err;
        }
      });
      return server;
    },
    {
      legacy: 'stateless',
      maxRequestBodySize: rt.config.bodyLimitBytes,
      onerror: (err) => rt.logger.debug({ err: err.message }, 'mcp request rejected by the SDK'),
    },
  );
  // The SDK's answers, with the catalogue code in every JSON-RPC error (it sends none of its own), and
  // a refused tools/call recorded (the SDK refuses some before our handler runs: no record otherwise).
  const codedSdk = {
    fetch: async (request: Request, opts?: Parameters<typeof sdkHandler.fetch>[1]): Promise<Response> => {
      const scope = opts?.authInfo?.extra?.fleet as CallScope | undefined;
      const sent = (e: SentError) => {
        if (scope) refusedCall(scope, `${e.message.slice(0, 200)}`, e.code as FleetErrorCode);
      };
      let response: Response;
      try {
        response = await sdkHandler.fetch(request, opts);
      } catch (err) {
        rt.logger.error({ err: (err as Error)?.message, requestId: scope?.requestId }, 'mcp request failed');
        response = Response.json(
          {
            jsonrpc: '2.0',
            id: null,
            error: {
              code: FLEET_ERRORS.FLEET_ERR_INTERNAL.rpc,
              message: `internal error (reference ${scope?.requestId ?? 'unknown'})`,
            },
          },
          { status: 500 },
        );
      }
      // A tools/call the SDK answered without an error and without running it (sent as a
      // notification, with no id: 202, nothing runs) is a call attempted and not run: recorded too.
      const done = () => {
        if (scope)
          refusedCall(
            scope,
            'not run: the SDK answered the tools/call without an error and without running it (a notification: no id)',
            'FLEET_ERR_INVALID_REQUEST',
          );
      };
      return codeSdkResponse(response, sent, done);
    },
  };
  const sdkNode = toNodeHandler(codedSdk, {
    onerror: (err) => rt.logger.warn({ err: err.message }, 'mcp adapter error'),
  });

  /** Which era a request belongs to when it is eligible for the fast path; undefined sends it to the SDK. */
  const fastEra = (
    request: FastifyRequest,
    body: Record<string, unknown>,
    method: string,
  ): Era | undefined => {
    // The fast path takes only what the SDK takes as it is; anything unusual is the SDK's to answer
    // (and refuse), so both paths give one answer: Accept, extra members, a progress token of any
    // type, the 2026 client envelope.
    if (!acceptsBoth(request.headers.accept)) return undefined;
    for (const key of Object.keys(body)) if (!REQUEST_KEYS.has(key)) return undefined;
    const header = request.headers['mcp-protocol-version'];
    const params = body.params;
    if (params !== undefined && !isRecord(params)) return undefined;
    const meta = params?._meta;
    if (isRecord(meta) && meta.progressToken !== undefined) return undefined;
    const metaVersion = isRecord(meta) ? meta[PROTOCOL_VERSION_META_KEY] : undefined;
    if (header === MODERN_PROTOCOL_VERSION) {
      if (metaVersion !== MODERN_PROTOCOL_VERSION || !isRecord(meta)) return undefined;
      if (!isRecord(meta[CLIENT_CAPABILITIES_META_KEY]) || !isRecord(meta[CLIENT_INFO_META_KEY]))
        return undefined;
      // The 2026 revision's routing headers: anything but an exact match (a missing Mcp-Name on a
      // tools/call included) is the SDK's to refuse, so both paths give the same answer.
      // A 2026 ping is the SDK's to answer (it refuses it where the fast path used to say ok).
      if (request.headers['mcp-method'] !== method || method === 'ping') return undefined;
      if (method === 'tools/call' && request.headers['mcp-name'] !== params?.name) return undefined;
      return 'modern';
    }
    if (metaVersion !== undefined) return undefined;
    if (header === undefined || (typeof header === 'string' && LEGACY_PROTOCOL_VERSIONS.includes(header)))
      return 'legacy';
    return undefined;
  };

  // A tools/call refused before the pipeline (too deep, routing headers, anything the SDK refuses)
  // still has its one record, with the code the client was sent: recognisably a call is enough
  // (method tools/call, whatever else is wrong). A message that is no tools/call only gets the error.
  // Each tools/call of a refused batch has its own record.
  // A batch's records are bounded: one request must not flood the audit trail (and push other calls'
  // records out of its queue) with calls that never ran; the last record stands for the rest.
  const refusedCall = (scope: CallScope, reason: string, code: FleetErrorCode) => {
    const calls = scope.batch ?? (scope.call ? [scope.call] : []);
    if (!calls.length || scope.recorded) return;
    scope.recorded = true;
    const shown = calls.slice(0, MAX_BATCH_RECORDS);
    for (const [i, body] of shown.entries()) {
      const rest = calls.length - i;
      const why =
        i === MAX_BATCH_RECORDS - 1 && rest > 1
          ? `${reason}; this record stands for the ${rest} tools/call elements from the ${MAX_BATCH_RECORDS}th on`
          : reason;
      const params = isRecord(body.params) ? body.params : undefined;
      const name = params?.name;
      const id = body.id;
      // A batch's element records carry no arguments (their hash and size only): a refused batch
      // costs the audit trail about what one refused call costs, however large its elements.
      recordRefusedCall(
        rt,
        {
          identity: scope.identity,
          name: typeof name === 'string' ? name : name === undefined ? '(no name)' : '(name not a string)',
          arguments: params?.arguments,
          requestId: scope.requestId,
          clientRequestId: scope.clientRequestId,
          rpcId: typeof id === 'string' || typeof id === 'number' ? id : null,
          protocolVersion: scope.protocolVersion,
        },
        why,
        code,
        { withoutArguments: scope.batch !== undefined },
      );
    }
  };

  const sendResult = (reply: FastifyReply, id: RpcId, era: Era, result: Record<string, unknown>) => {
    const body =
      era === 'modern'
        ? {
            ...result,
            resultType: 'complete',
            _meta: {
              ...(result._meta as Record<string, unknown> | undefined),
              [SERVER_INFO_META_KEY]: serverInfo,
            },
          }
        : result;
    reply
      .header('content-type', 'application/json')
      .send(JSON.stringify({ jsonrpc: '2.0', id, result: body }));
  };
  const sendError = (reply: FastifyReply, id: RpcId, err: FleetError) => {
    const error = { code: FLEET_ERRORS[err.code].rpc, message: err.message, data: { code: err.code } };
    reply.header('content-type', 'application/json').send(JSON.stringify({ jsonrpc: '2.0', id, error }));
  };

  const handleFast = async (
    reply: FastifyReply,
    body: Record<string, unknown>,
    method: string,
    era: Era,
    scope: CallScope,
  ): Promise<void> => {
    const id = body.id as RpcId;
    if (method === 'ping') return sendResult(reply, id, era, {});
    if (method === 'tools/list') {
      const tools = listTools(rt, scope.identity);
      return sendResult(
        reply,
        id,
        era,
        era === 'modern' ? { tools, ttlMs: 0, cacheScope: 'private' } : { tools },
      );
    }
    const params = body.params as Record<string, unknown> | undefined;
    const name = params?.name as string; // checked by fastEligible
    // A client that disconnects cancels its call: the handler's abort signal fires.
    const cancellation = new CallCancellation();
    const onClose = () => {
      if (!reply.raw.writableFinished) cancellation.cancel('disconnect', CLIENT_GONE);
    };
    reply.raw.once('close', onClose);
    let result: CallToolResult;
    try {
      result = await toResult(scope, name, params?.arguments, id, cancellation, params?._meta);
    } catch (err) {
      if (err instanceof ToolNotAvailableError) return sendError(reply, id, err);
      throw err;
    } finally {
      reply.raw.off('close', onClose);
    }
    if (cancellation.source === 'disconnect') return;
    return sendResult(reply, id, era, result);
  };

  return {
    async handle(request, reply, identity) {
      const body = request.body;
      const clientRequestId = request.headers['x-request-id'];
      const scope: CallScope = {
        identity,
        requestId: request.id,
        clientRequestId: typeof clientRequestId === 'string' ? clientRequestId : undefined,
        protocolVersion: (request.headers['mcp-protocol-version'] as string | undefined) ?? null,
        ...(request.method === 'POST' ? { call: recognisedCall(body), batch: batchCalls(body) } : {}),
      };
      if (request.method === 'POST') {
        // JSON-RPC batches: removed from MCP in 2025-06-18, and the SDK's handling of a mixed one
        // (a cancel plus a call) never ended its response. Refused before anything in it runs, on
        // both paths; each tools/call in it was attempted and not run, so each has its one record.
        if (Array.isArray(body)) {
          const message = 'Invalid Request: batches are not supported';
          refusedCall(
            scope,
            `${message} (nothing in the batch ran; send each tools/call as its own request)`,
            'FLEET_ERR_INVALID_REQUEST',
          );
          return refuse(reply, message);
        }
        cancelNotified(body, identity);
      }
      let sdkBody = body;
      if (request.method === 'POST') {
        // Neither path walks a message deeper than this (the SDK's schemas recurse); a tool call's
        // arguments are the pipeline's to bound, so that such a call is refused with its record.
        const args = isRecord(body) && isRecord(body.params) ? body.params.arguments : undefined;
        if (nestedDeeperThan(body, MAX_ENVELOPE_DEPTH, args)) {
          const message = `Invalid Request: the message is nested more than ${MAX_ENVELOPE_DEPTH} levels deep`;
          refusedCall(scope, message, 'FLEET_ERR_INVALID_REQUEST');
          return refuse(reply, message);
        }
      }
      let headersDisagree = false;
      if (request.method === 'POST' && isRecord(body)) {
        // Routing headers, whatever the protocol version (or none): a gateway routes and authorises
        // on them, so one that disagrees with the body is refused before anything runs.
        const mismatch = routingMismatch(request, body);
        if (mismatch) {
          headersDisagree = true;
          const message = `Bad Request: the request headers and body disagree: ${mismatch}`;
          // A 2026 request: the SDK refuses it (with its own words for the same -32020, or first for
          // another fault of the message), on both paths, and the call is recorded with the code the
          // client is sent.
          if (!claimsModern(body)) {
            refusedCall(scope, message, 'FLEET_ERR_HEADER_MISMATCH');
            return refuse(reply, message, 'FLEET_ERR_HEADER_MISMATCH');
          }
        }
      }
      if (request.method === 'POST' && isRecord(body) && body.jsonrpc === '2.0') {
        const method = body.method;
        const id = body.id;
        if (
          fastPath &&
          !headersDisagree &&
          (method === 'tools/call' || method === 'tools/list' || method === 'ping') &&
          // Only ids the SDK also accepts as-is (1e308 and 1.5 are the SDK's to answer).
          (typeof id === 'string' || (typeof id === 'number' && Number.isSafeInteger(id))) &&
          (method !== 'tools/call' || fastCallable(body.params))
        ) {
          const era = fastEra(request, body, method);
          if (era) return handleFast(reply, body, method, era, scope);
        }
        const params = body.params;
        if (
          method === 'tools/call' &&
          isRecord(params) &&
          typeof params.name === 'string' &&
          params.arguments !== undefined &&
          (!isRecord(params.arguments) || argumentsProblem(params.arguments) !== undefined)
        ) {
          scope.heldArguments = { value: params.arguments };
          sdkBody = { ...body, params: { ...params, arguments: {} } };
        }
      }
      const auth: AuthInfo = {
        token: '',
        clientId: identity.agentId,
        scopes: identity.scopes,
        ...(identity.expiresAt ? { expiresAt: identity.expiresAt } : {}),
        extra: { fleet: scope },
      };
      (request.raw as { auth?: AuthInfo }).auth = auth;
      reply.hijack();
      await sdkNode(request.raw, reply.raw, request.method === 'POST' ? sdkBody : undefined);
    },
    close: () => sdkHandler.close(),
  };
}
