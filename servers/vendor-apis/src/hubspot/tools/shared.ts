// What the HubSpot tools share: the connector of the call, the read governance, the deadline given to
// vendorCall, the page-size clamp, the text an argument may hold, and HTML escaping for note bodies.
import { callBounds, ToolError } from '@mcp-fleet/core';
import { z } from 'zod';
import type { Connectors } from '../../connectors.js';
import { clampedLimit } from '../../tools/tool.js';
import type { HubSpotConnector } from '../connector.js';

/** HubSpot's page maximum that the tools clamp to (the search API itself allows 200). */
export const HUBSPOT_MAX_LIMIT = 100;

/** Governance and annotations of every HubSpot read. */
export { VENDOR_READ as READ_GOVERNANCE, VENDOR_READ_HINTS as READ_ANNOTATIONS } from '../../tools/tool.js';

/** The vendor's data is data: every result that carries it says so. */
export const UNTRUSTED = { source: 'hubspot' } as const;

/** The connector, or a clear refusal when HubSpot is not configured on this server. */
export function hubspotOf(c: Connectors): HubSpotConnector {
  if (!c.hubspot)
    throw new ToolError(
      'HubSpot is not configured on this server; ask an operator.',
      'tenant_not_configured',
    );
  return c.hubspot;
}

/** The last moment vendorCall may end an attempt: a second before the call's own timeout. */
export const deadlineOf = (ctx: { signal: AbortSignal; deadline: number }): number =>
  callBounds(ctx).deadline;

/** `limit`: 1 or more, clamped silently to HubSpot's 100. */
export const limitArg = (def: number) =>
  clampedLimit(
    def,
    HUBSPOT_MAX_LIMIT,
    `How many results (default ${def}); more than ${HUBSPOT_MAX_LIMIT} is clamped to ${HUBSPOT_MAX_LIMIT}.`,
  );

/**
 * A literal search value: letters, digits, spaces and the punctuation of names, no wildcard (`*`),
 * no quote, no control character, at least `min` characters that are not spaces. Sent as a filter
 * value, never concatenated into anything.
 */
export const literal = (what: string, min: number, max: number) =>
  z
    .string()
    .trim()
    .min(min, `${what} needs at least ${min} characters`)
    .max(max)
    .regex(
      /^[\p{L}\p{N}][\p{L}\p{N} .,'&()/+-]*$/u,
      `${what} is plain text (letters, digits, spaces, . , ' & ( ) / + -); no wildcards or operators`,
    )
    .refine(
      (v) => v.replace(/[^\p{L}\p{N}]/gu, '').length >= min,
      `${what} needs at least ${min} letters or digits`,
    );

/** Escapes text for HubSpot's HTML note body; line breaks become <br>. */
export function noteHtml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;')
    .replace(/\r\n?/g, '\n')
    .replace(/\n/g, '<br>');
}

/** A property value as the tools return it (absent or empty: undefined). */
export const prop = (p: Record<string, string | null>, k: string): string | undefined => {
  const v = p[k];
  return v === null || v === undefined || v === '' ? undefined : v;
};

/** An ISO time, or undefined. */
export const isoOf = (d: Date | undefined) => (d && !Number.isNaN(d.getTime()) ? d.toISOString() : undefined);
