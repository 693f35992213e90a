// Who signed in: the Approver the console decides with, built from the ID token claims openid-client
// verified (signature, issuer, audience, nonce, expiry) by core's approverFromIdToken — the same rules
// as approver tokens at /approvals: a person, not an agent (no `act`, no agent roles), a member of
// APPROVER_GROUP when one is configured, identifiers from every name claim, clients [] (a person in
// a browser is no OAuth client of an agent). Nothing a browser sent goes into it.
import type { ServerHttpContext } from '@mcp-fleet/core';
import { type Approver, approverFromIdToken, type NotApproverKind } from '@mcp-fleet/core/approvals';

export type { Approver };

type CoreConfig = ServerHttpContext<unknown, unknown>['core'];

/** The approver named by verified ID token claims and a name to greet them by, or why they may not sign in. */
export function approverOf(
  claims: Record<string, unknown>,
  core: CoreConfig,
): { approver: Approver; name: string } | { refused: NotApproverKind; message: string } {
  const r = approverFromIdToken(claims, core);
  if ('refused' in r) return r;
  const str = (v: unknown) => (typeof v === 'string' && v.length > 0 ? v : undefined);
  return {
    approver: r,
    name: str(claims.preferred_username) ?? str(claims.name) ?? str(claims.email) ?? r.subject,
  };
}
