// The key a ticket write carries to Jira (an `io.mcp-fleet` property) so that a retry finds what its
// first attempt made: derived from the caller and the request, never shared between callers.
import { createHash } from 'node:crypto';
import type { Identity } from '@mcp-fleet/core';

/** Canonical JSON: object keys sorted, undefined members left out, so equal requests hash equally. */
export function canonicalJson(v: unknown): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v) ?? 'null';
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(v as Record<string, unknown>)
    .filter(([, x]) => x !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${canonicalJson(x)}`).join(',')}}`;
}

/**
 * The upstream idempotency key of one write: a hash of who calls (tenant, agent, user), the fleet
 * idempotency key the caller sent when there is one (else the agent session), the tool and its
 * canonical arguments. Two callers never share a key, so one can never be handed the other's ticket;
 * the same request retried by the same caller always gets the same key.
 */
export function ticketIdempotencyKey(
  identity: Pick<Identity, 'tenant' | 'agentId' | 'user' | 'session'>,
  callerKey: string | undefined,
  tool: string,
  args: unknown,
): string {
  const scope = callerKey !== undefined ? ['key', callerKey] : ['session', identity.session ?? ''];
  const material = JSON.stringify([
    'mcp-fleet/tickets/v1',
    identity.tenant ?? '',
    identity.agentId,
    identity.user ?? '',
    scope,
    tool,
    canonicalJson(args),
  ]);
  return createHash('sha256').update(material).digest('base64url');
}
