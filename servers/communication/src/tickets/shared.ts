// What the ticket tools share: the backend of the call, the issue-key input, one-line text, caps and
// the remaining time of a call.
import { ToolError } from '@mcp-fleet/core';
import { z } from 'zod';
import type { Connectors } from '../connectors.js';
import { isUpstreamFailure, upstreamToolError } from '../upstream/failures.js';
import type { TicketBackend } from './backend.js';
import { ISSUE_KEY } from './keys.js';

/** The configured ticket backend, or the refusal a call gets when tickets are not configured. */
export function backendOf(connectors: Connectors): TicketBackend {
  if (!connectors.tickets)
    throw new ToolError(
      'Tickets are not configured on this server (JIRA_URL is unset).',
      'upstream_unavailable',
    );
  return connectors.tickets;
}

/** An issue key argument: exactly PROJECT-123, uppercase, nothing folded. */
export const issueKeyInput = z
  .string()
  .regex(ISSUE_KEY, 'an issue key such as SUP-123 (uppercase project key, "-", a number)')
  .describe('Issue key, e.g. SUP-123');

/** Text the ticket system stores: no NUL (core refuses it too) and, for one-line fields, no line breaks. */
export const oneLine = (max: number) =>
  z
    .string()
    .min(1)
    .max(max)
    .refine((s) => !/[\r\n\u0085\u2028\u2029]/.test(s), 'must be one line')
    .refine((s) => s.trim() !== '', 'must not be blank');

/** Epoch ms by which a call with `timeoutMs` must be over (a margin kept for the answer). */
export function deadlineOf(timeoutMs: number): number {
  return Date.now() + timeoutMs - 1_500;
}

/** Refuses text over the configured cap, saying which argument and by how much. */
export function capText(name: string, text: string, max: number): void {
  if (text.length > max)
    throw new ToolError(
      `${name} is ${text.length} characters; the limit is ${max}. Shorten it.`,
      'too_large',
    );
}

/**
 * Runs a ticket write whose point of no return is the `commit` it is handed. Every backend write
 * looks its idempotency property up before it writes, so once the write may have reached Jira any
 * upstream failure is `rerunSafe`: core gives the caller's idempotency key back and a retry with it
 * finds what this attempt made instead of replaying the failure (or writing twice under a new key).
 * When the answer was lost (timeout, dropped connection, 5xx) the message says so and how to settle it.
 */
export async function settleableWrite<T>(
  thing: 'ticket' | 'comment',
  hasKey: boolean,
  commit: () => void,
  write: (commit: () => void) => Promise<T>,
): Promise<T> {
  let committed = false;
  try {
    return await write(() => {
      committed = true;
      commit();
    });
  } catch (err) {
    if (!committed || !isUpstreamFailure(err)) throw err;
    const base = upstreamToolError(err);
    if (err.kind !== 'timeout' && err.kind !== 'unavailable')
      throw new ToolError(base.message, base.code, { retryAfterMs: base.retryAfterMs, rerunSafe: true });
    const what =
      err.kind === 'timeout'
        ? err.message.trim().replace(/[.]$/, '')
        : err.status !== undefined
          ? `Jira failed (HTTP ${err.status}) after the request was sent`
          : 'the connection to Jira was lost before it answered';
    const verb = thing === 'ticket' ? 'created' : 'added';
    throw new ToolError(
      `Jira: ${what}. The ${thing} may or may not have been ${verb}: retry with the same idempotency_key: ` +
        `it will find the ${thing} if it was ${verb}, and ${thing === 'ticket' ? 'create' : 'add'} it only if not. ` +
        (hasKey
          ? `Do not use a new key: that could ${thing === 'ticket' ? 'create a second ticket' : 'add a second comment'}.`
          : 'This call had no idempotency_key: retry with exactly the same arguments in this same session, which finds it the same way.'),
      base.code,
      { retryAfterMs: base.retryAfterMs, rerunSafe: true },
    );
  }
}
