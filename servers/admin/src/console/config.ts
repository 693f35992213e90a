// The approvals console's own settings (CONSOLE_*), read once at start. Who may sign in is core's
// (APPROVER_GROUP, APPROVER_CLAIM_GROUPS, APPROVER_ALL_TENANTS...: approvals/approvers.ts).
import { type Env, env, parseEnv } from '@mcp-fleet/core';
import { z } from 'zod';

/** The console's environment. */
export const consoleConfigSchema = z.object({
  /** The OpenID Connect issuer approvers sign in at; default AUTH_ISSUER. */
  CONSOLE_OIDC_ISSUER: env.text(),
  CONSOLE_OIDC_CLIENT_ID: z.string().trim().min(1).default('fleet-console'),
  /** The console's client secret at the issuer (a confidential client). */
  CONSOLE_OIDC_CLIENT_SECRET: env.text(),
  /** A session unused this long ends (minutes). */
  CONSOLE_SESSION_IDLE_MINUTES: env.int(30, 1, 24 * 60),
  /** A session ends this long after sign-in, used or not (hours). */
  CONSOLE_SESSION_MAX_HOURS: env.int(8, 1, 7 * 24),
  AUTH_ISSUER: env.text(),
});

/** The console's parsed settings. */
export interface ConsoleConfig {
  /** Undefined: the console answers that sign-in is not configured (no issuer). */
  issuer: string | undefined;
  clientId: string;
  clientSecret: string | undefined;
  idleMs: number;
  maxMs: number;
}

/** Parses the console's settings; throws FLEET_ERR_CONFIG naming the bad variables. */
export function consoleConfig(vars: Env): ConsoleConfig {
  const e = parseEnv(consoleConfigSchema, vars, 'console');
  return {
    issuer: e.CONSOLE_OIDC_ISSUER ?? e.AUTH_ISSUER,
    clientId: e.CONSOLE_OIDC_CLIENT_ID,
    clientSecret: e.CONSOLE_OIDC_CLIENT_SECRET,
    idleMs: e.CONSOLE_SESSION_IDLE_MINUTES * 60_000,
    maxMs: e.CONSOLE_SESSION_MAX_HOURS * 3_600_000,
  };
}
