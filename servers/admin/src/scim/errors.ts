// A SCIM directory's failures, classified into core's UpstreamFailure with messages safe for a model:
// the HTTP status and, when it is one RFC 7644 defines, the `scimType` — never the error's `detail`
// (vendor text: it may echo a token, a filter, or text written to steer a model), the URL, or the token.
import { parseRetryAfter, UpstreamFailure, type UpstreamFailureKind } from '@mcp-fleet/core';

/** The system id of the directory (breaker, readiness check, error messages). */
export const SCIM_SYSTEM = 'scim';

/** RFC 7644 §3.12's scimType values: the only error words a message repeats. */
export const SCIM_TYPES: ReadonlySet<string> = new Set([
  'invalidFilter',
  'tooMany',
  'uniqueness',
  'mutability',
  'invalidSyntax',
  'invalidPath',
  'noTarget',
  'invalidValue',
  'invalidVers',
  'sensitive',
]);

/** Network failure codes of Node's fetch (undici) a message may name. */
const NETWORK_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EPIPE',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);

/** What an error answer of the directory says, from its status, headers and (already parsed) body. */
export function classifyScimAnswer(
  status: number,
  body: unknown,
  retryAfter: string | null,
  o: { read: boolean; notFound?: string },
): UpstreamFailure {
  const raw = (body as { scimType?: unknown } | null)?.scimType;
  const scimType = typeof raw === 'string' && SCIM_TYPES.has(raw) ? raw : undefined;
  const what = `HTTP ${status}${scimType ? ` ${scimType}` : ''}`;
  const f = (kind: UpstreamFailureKind, message: string, retryAfterMs?: number) =>
    new UpstreamFailure(SCIM_SYSTEM, kind, message, {
      status,
      read: o.read,
      ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
    });
  if (status === 401) return f('auth', `the directory refused the server's SCIM token (${what})`);
  if (status === 403) return f('auth', `the server's SCIM token may not do this (${what})`);
  if (status === 404) return f('not_found', o.notFound ?? `no such resource in the directory (${what})`);
  if (status === 409) return f('rejected', `the directory refused the change as a conflict (${what})`);
  if (status === 412)
    return f('rejected', `the resource changed in the directory since it was read; look again (${what})`);
  if (status === 429)
    return f('rate_limited', `the directory's rate limit was reached (${what})`, parseRetryAfter(retryAfter));
  if (status === 408 || status === 504) return f('timeout', `the directory timed out (${what})`);
  if (status >= 500) return f('unavailable', `the directory failed (${what})`);
  return f('rejected', `the directory refused the request (${what})`);
}

/** A failure to reach the directory at all (refused, reset, DNS...): words from a fixed list only. */
export function classifyScimNetworkError(err: unknown, read: boolean): UpstreamFailure {
  const code = String(
    (err as { cause?: { code?: unknown } })?.cause?.code ?? (err as { code?: unknown })?.code ?? '',
  );
  return new UpstreamFailure(
    SCIM_SYSTEM,
    'unavailable',
    `the directory could not be reached${NETWORK_CODES.has(code) ? ` (${code})` : ''}`,
    { read },
  );
}
