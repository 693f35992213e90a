// The SCIM side of the admin server's environment: where the company's directory is (SCIM_BASE_URL,
// SCIM_TOKEN), how it is called (timeout, read retries, breaker), and who is protected
// (ADMIN_PROTECTED_USERS: login names that are never disabled, deleted or regrouped — the break-glass
// account, the billing contact, the fleet's own service account; ADMIN_GROUP: the admins group, never
// left without an active member). With SCIM_BASE_URL set, SCIM_TOKEN, ADMIN_GROUP and
// ADMIN_PROTECTED_USERS are required: a directory the server can write to with no protected principals
// named is a configuration error, not a default.
import { type Env, env, parseEnv } from '@mcp-fleet/core';
import { groupNameProblem, userNameProblem } from './names.js';

/** Why a SCIM base URL is refused (never quoting it): https, plain http only to this machine; no credentials, query or fragment. */
export function scimUrlProblem(v: string): string | undefined {
  let u: URL;
  try {
    u = new URL(v);
  } catch {
    return 'must be an http(s) URL';
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') return 'must be an http(s) URL';
  if (u.username !== '' || u.password !== '') return 'must not carry a user name or password';
  if (u.search !== '' || v.includes('?')) return 'must not carry a query';
  if (u.hash !== '' || v.includes('#')) return 'must not carry a fragment';
  const host = u.hostname.toLowerCase();
  if (u.protocol === 'http:' && !['127.0.0.1', '[::1]', '::1', 'localhost'].includes(host))
    return 'must be https (plain http only to 127.0.0.1, ::1 or localhost)';
  return undefined;
}

const schema = env
  .config('SCIM_', {
    /** SCIM 2.0 base URL of the directory, e.g. https://acme.okta.com/scim/v2 (unset: no user tools). */
    SCIM_BASE_URL: env.text(),
    /** Bearer token of SCIM_BASE_URL (a secret: never logged, never in a result). */
    SCIM_TOKEN: env.text(),
    /** Timeout of one SCIM request (ms). */
    SCIM_TIMEOUT_MS: env.int(10_000, 100, 120_000),
    /** Retries of a read after a timeout, a 5xx or a 429 (writes are never retried). */
    SCIM_READ_RETRIES: env.int(2, 0, 5),
    /** Consecutive failures that open the SCIM circuit breaker. */
    SCIM_BREAKER_THRESHOLD: env.int(5, 1, 1000),
    /** How long the open breaker pauses calls before a trial (ms). */
    SCIM_BREAKER_HALF_OPEN_MS: env.int(30_000, 100, 3_600_000),
    /** Login names never disabled, deleted or regrouped (comma separated). */
    ADMIN_PROTECTED_USERS: env.list(),
    /** SCIM displayName of the admins group; never left without an active member. */
    ADMIN_GROUP: env.text(),
  })
  .superRefine((c, ctx) => {
    const issue = (path: string, message: string) => ctx.addIssue({ code: 'custom', path: [path], message });
    if (c.baseUrl !== undefined) {
      const why = scimUrlProblem(c.baseUrl);
      if (why) issue('SCIM_BASE_URL', `SCIM_BASE_URL ${why}`);
      if (c.token === undefined) issue('SCIM_TOKEN', 'SCIM_TOKEN is required with SCIM_BASE_URL');
      if (c.adminGroup === undefined) issue('ADMIN_GROUP', 'ADMIN_GROUP is required with SCIM_BASE_URL');
      if (!c.adminProtectedUsers?.length)
        issue(
          'ADMIN_PROTECTED_USERS',
          "ADMIN_PROTECTED_USERS is required with SCIM_BASE_URL (at least the fleet's own service account)",
        );
    } else if (c.token !== undefined) issue('SCIM_BASE_URL', 'SCIM_BASE_URL is required with SCIM_TOKEN');
    if (c.token !== undefined && /\s/.test(c.token))
      issue('SCIM_TOKEN', 'SCIM_TOKEN must not contain whitespace');
    for (const u of c.adminProtectedUsers ?? []) {
      const why = userNameProblem(u);
      if (why) issue('ADMIN_PROTECTED_USERS', `ADMIN_PROTECTED_USERS: an entry ${why}`);
    }
    if (c.adminGroup !== undefined) {
      const why = groupNameProblem(c.adminGroup);
      if (why) issue('ADMIN_GROUP', `ADMIN_GROUP ${why}`);
    }
  });

/** The SCIM configuration of the admin server. */
export interface ScimConfig {
  /** SCIM_BASE_URL without a trailing slash; undefined: the user tools are not offered. */
  baseUrl: string | undefined;
  /** SCIM_TOKEN (keep it out of logs and results). */
  token: string | undefined;
  timeoutMs: number;
  readRetries: number;
  breakerThreshold: number;
  breakerHalfOpenMs: number;
  /** ADMIN_PROTECTED_USERS, lower-cased (SCIM userNames compare case-insensitively). */
  protectedUsers: readonly string[];
  /** ADMIN_GROUP (exact displayName). */
  adminGroup: string | undefined;
}

/** Parses the SCIM variables; throws FLEET_ERR_CONFIG naming the bad ones (never their values). */
export function scimConfig(vars: Env): ScimConfig {
  const c = parseEnv(schema, vars, 'admin (SCIM)');
  return {
    baseUrl: c.baseUrl?.replace(/\/+$/, ''),
    token: c.token,
    timeoutMs: c.timeoutMs,
    readRetries: c.readRetries,
    breakerThreshold: c.breakerThreshold,
    breakerHalfOpenMs: c.breakerHalfOpenMs,
    protectedUsers: [...new Set((c.adminProtectedUsers ?? []).map((u) => u.toLowerCase()))],
    adminGroup: c.adminGroup,
  };
}

/** Why the user tools are not offered with this configuration, or undefined when they are. */
export function scimUnconfigured(c: ScimConfig): string | undefined {
  return c.baseUrl === undefined ? 'SCIM_BASE_URL is not set' : undefined;
}
