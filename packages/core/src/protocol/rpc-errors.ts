// Every JSON-RPC error the fleet sends carries `error.data.code` from the catalogue (kernel/errors.ts),
// whoever wrote it: the host, fastify's error handler, or the MCP SDK (which writes its own refusals
// — bad Accept or Content-Type, unsupported versions, malformed messages, unknown methods, routing
// headers — without one). This module names the catalogue code of any JSON-RPC error and adds it to
// SDK responses, JSON or SSE, telling the host which errors it sent (so a refused call is audited).
import type { FleetErrorCode } from '../kernel/errors.js';

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The catalogue code of a JSON-RPC error sent with `status`, JSON-RPC `rpc` code and `message`. */
export function catalogCodeOf(status: number, rpc: unknown, message: unknown): FleetErrorCode {
  if (status >= 500 || rpc === -32603) return 'FLEET_ERR_INTERNAL';
  if (status === 405) return 'FLEET_ERR_METHOD_NOT_ALLOWED';
  if (status === 406) return 'FLEET_ERR_NOT_ACCEPTABLE';
  if (status === 413) return 'FLEET_ERR_BODY_TOO_LARGE';
  if (status === 415) return 'FLEET_ERR_UNSUPPORTED_MEDIA_TYPE';
  switch (rpc) {
    case -32700:
      return 'FLEET_ERR_PARSE_ERROR';
    case -32601:
      return 'FLEET_ERR_METHOD_NOT_FOUND';
    case -32602:
      return 'FLEET_ERR_INVALID_PARAMS';
    case -32020:
      return 'FLEET_ERR_HEADER_MISMATCH';
    case -32022:
      return 'FLEET_ERR_UNSUPPORTED_PROTOCOL_VERSION';
    case -32800:
      return 'FLEET_ERR_CANCELLED';
    case -32001:
      return 'FLEET_ERR_AUTH_INVALID';
  }
  if (typeof message === 'string' && /unsupported protocol version/i.test(message))
    return 'FLEET_ERR_UNSUPPORTED_PROTOCOL_VERSION';
  return 'FLEET_ERR_INVALID_REQUEST';
}

/** A JSON-RPC error the SDK sent, with the catalogue code now in its `data`. */
export interface SentError {
  status: number;
  id: unknown;
  rpc: unknown;
  message: string;
  code: string;
}

/**
 * Adds `data.code` to a JSON-RPC error message (in place) unless it has a string one; returns what
 * was sent, or undefined when `message` is no JSON-RPC error. Other `data` is kept (an object gains
 * `code`; anything else moves to `data.detail`).
 */
export function codeError(message: unknown, status: number): SentError | undefined {
  if (!isRecord(message) || !isRecord(message.error)) return undefined;
  const error = message.error;
  const data = error.data;
  let code: string;
  if (isRecord(data) && typeof data.code === 'string') code = data.code;
  else {
    code = catalogCodeOf(status, error.code, error.message);
    error.data = isRecord(data) ? { ...data, code } : data === undefined ? { code } : { code, detail: data };
  }
  return { status, id: message.id, rpc: error.code, message: String(error.message ?? ''), code };
}

/**
 * The response with `data.code` in every JSON-RPC error it carries; `sent` hears of each error, and
 * `done` of the end of the response (an SSE stream's when it has been read to its end).
 */
export async function codeSdkResponse(
  response: Response,
  sent: (error: SentError) => void,
  done: () => void,
): Promise<Response> {
  const type = (response.headers.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
  if (response.body === null) {
    done();
    return response;
  }
  const headers = new Headers(response.headers);
  headers.delete('content-length');
  const init = { status: response.status, statusText: response.statusText, headers };
  if (type === 'text/event-stream')
    return new Response(response.body.pipeThrough(sseErrorCoder(response.status, sent, done)), init);
  if (type !== 'application/json') {
    done();
    return response;
  }
  const text = await response.text();
  let message: unknown;
  try {
    message = JSON.parse(text);
  } catch {
    done();
    return new Response(text, init);
  }
  const error = codeError(message, response.status);
  if (error) sent(error);
  done();
  return new Response(error ? JSON.stringify(message) : text, init);
}

/** Rewrites the `data:` lines of SSE events that hold a JSON-RPC error; everything else passes as it came. */
function sseErrorCoder(
  status: number,
  sent: (error: SentError) => void,
  done: () => void,
): TransformStream<Uint8Array, Uint8Array> {
  const decoder = new TextDecoder();
  const encoder = new TextEncoder();
  let pending = '';
  const rewrite = (event: string) =>
    event
      .split('\n')
      .map((line) => {
        if (!line.startsWith('data:') || !line.includes('"error"')) return line;
        const json = line.slice(line.startsWith('data: ') ? 6 : 5);
        let message: unknown;
        try {
          message = JSON.parse(json);
        } catch {
          return line;
        }
        const error = codeError(message, status);
        if (!error) return line;
        sent(error);
        return `data: ${JSON.stringify(message)}`;
      })
      .join('\n');
  return new TransformStream({
    transform(chunk, controller) {
      pending += decoder.decode(chunk, { stream: true });
      const end = pending.lastIndexOf('\n\n');
      if (end === -1) return;
      controller.enqueue(encoder.encode(rewrite(pending.slice(0, end + 2))));
      pending = pending.slice(end + 2);
    },
    flush(controller) {
      pending += decoder.decode();
      if (pending) controller.enqueue(encoder.encode(rewrite(pending)));
      done();
    },
  });
}
