// Who is calling, as every layer names it (built by identity/identity.ts from a verified token only).
import type { JWTPayload } from 'jose';

/** The verified caller of one request. */
export interface Identity {
  /** The agent (client) making the call. */
  agentId: string;
  roles: string[];
  scopes: string[];
  tenant: string | undefined;
  /** The human the agent acts for, when the IdP says so. */
  user: string | undefined;
  /** The agent session (conversation / run) the call belongs to. */
  session: string | undefined;
  issuer: string | undefined;
  /** Token expiry, seconds since epoch. */
  expiresAt: number | undefined;
  /** All verified claims, for tools that bind a parameter to a claim. */
  claims: JWTPayload;
}
