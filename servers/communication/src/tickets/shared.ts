// What the ticket tools share: the backend of the call, the issue-key input, one-line text, caps and
// the remaining time of a call.
import { ToolError } from '@mcp-fleet/core';
import { z } from 'zod';
import type { Connectors } from '../connectors.js';
import { isUpstreamFailure, upstreamToolError } from '../upstream/failures.js';
import type { TicketBackend } from './backend.js';
import { mayStillLand } from './exactly-once.js';
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
 * When the answer was lost the message says so and how to settle it. A request that got NO answer
 * (timeout, 504) may still be on its way and land later: then the retry is told to wait `settleMs`
 * (retryAfterMs; the backend also holds back an early retry in this process), and that a request
 * held up even longer can still land, so the ticket must be checked before ever using a new key. A
 * connection dropped after the request went out, or a 5xx Jira answered, is settled by an immediate
 * retry: the request reached Jira, the lookup sees what it did.
 */
export async function settleableWrite<T>(
  thing: 'ticket' | 'comment',
  hasKey: boolean,
  settleMs: number,
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
    const landing = mayStillLand(err);
    const what =
      err.kind === 'timeout'
        ? err.message.trim().replace(/[.]$/, '')
        : err.status !== undefined
          ? `Jira failed (HTTP ${err.status}) after the request was sent`
          : 'the connection to Jira was lost before it answered';
    const verb = thing === 'ticket' ? 'created' : 'added';
    const when = landing
      ? ` after ${Math.ceil(settleMs / 1000)} s (the request may still be on its way to Jira until then)`
      : '';
    const residual = landing
      ? `A request held up on the way even longer could still land later: before ever using a new key, check with ${
          thing === 'ticket' ? 'get_ticket or in the project' : 'get_ticket'
        } that it was not ${verb}. `
      : '';
    throw new ToolError(
      `Jira: ${what}. The ${thing} may or may not have been ${verb}: retry with the same idempotency_key${when}: ` +
        `it will find the ${thing} if it was ${verb}, and ${thing === 'ticket' ? 'create' : 'add'} it only if not. ` +
        residual +
        (hasKey
          ? `Do not use a new key: that could ${thing === 'ticket' ? 'create a second ticket' : 'add a second comment'}.`
          : 'This call had no idempotency_key: retry with exactly the same arguments in this same session, which finds it the same way.'),
      base.code,
      { retryAfterMs: landing ? settleMs : base.retryAfterMs, rerunSafe: true },
    );
  }
}
