// What the ticket tools share: the backend of the call, the issue-key input, one-line text, caps and
// the remaining time of a call.
import { ToolError } from '@mcp-fleet/core';
import { z } from 'zod';
import type { Connectors } from '../connectors.js';
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
