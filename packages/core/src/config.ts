// Core configuration: one zod schema for the environment every fleet server reads, parsed once.
import { z } from 'zod';
import { FleetError } from './errors.js';

/** An environment record, as `process.env`. */
export type Env = Record<string, string | undefined>;

/**
 * Building blocks of an environment schema, so each server's config.ts is its variables and
 * nothing else: `int(def, min, max)`, `bool(def)`, `text()`, `list(def?)` (comma or space separated).
 */
export const env = {
  /** An integer with a default and bounds. */
  int: (def: number, min = 0, max = Number.MAX_SAFE_INTEGER) =>
    z.coerce.number().int().min(min).max(max).default(def),
  /** `true`/`false`/`1`/`0`/`yes`/`no` (any case, spaces trimmed), defaulting to `def` when unset or empty. */
  bool: (def: boolean) =>
    z
      .string()
      .optional()
      .transform((v) => (v === undefined ? '' : v.trim().toLowerCase()))
      .pipe(z.enum(['', 'true', 'false', '1', '0', 'yes', 'no'], { message: 'must be true or false' }))
      .transform((v) => (v === '' ? def : v === 'true' || v === '1' || v === 'yes')),
  /** An optional text, trimmed; unset or blank is `undefined`. */
  text: () =>
    z
      .string()
      .optional()
      .transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim())),
  /** A comma or whitespace separated list; `def` when unset (without `def`: `undefined`). */
  list: envList,
  /**
   * A server's environment schema whose parsed value names each variable in camelCase without
   * `prefix`: `env.config('FILES_', { FILES_READ_MAX_BYTES: env.int(...) })` parses to
   * `{ readMaxBytes: number }`. The variables are declared (and documented) once, no mapping.
   */
  config: envConfig,
};

type CamelWords<S extends string> = S extends `${infer H}_${infer T}`
  ? `${Capitalize<Lowercase<H>>}${CamelWords<T>}`
  : Capitalize<Lowercase<S>>;
/** `FILES_READ_MAX_BYTES` with prefix `FILES_` -> `readMaxBytes`. */
export type EnvName<K extends string, P extends string> = Uncapitalize<
  CamelWords<K extends `${P}${infer R}` ? R : K>
>;

function envName(key: string, prefix: string): string {
  const rest = key.startsWith(prefix) ? key.slice(prefix.length) : key;
  return rest.toLowerCase().replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

function envConfig<P extends string, S extends z.ZodRawShape>(prefix: P, shape: S) {
  return z.object(shape).transform(
    (e) =>
      Object.fromEntries(Object.entries(e).map(([k, v]) => [envName(k, prefix), v])) as {
        [K in keyof z.output<z.ZodObject<S>> & string as EnvName<K, P>]: z.output<z.ZodObject<S>>[K];
      },
  );
}

function envList(): z.ZodType<string[] | undefined, string | undefined>;
function envList(def: string): z.ZodType<string[], string | undefined>;
function envList(def?: string): z.ZodType<string[] | undefined, string | undefined> {
  return z
    .string()
    .optional()
    .transform((v) => ((v ?? def) === undefined ? undefined : splitList((v ?? def) as string)));
}

function splitList(v: string): string[] {
  return v
    .split(/[\s,]+/)
    .map((s) => s.trim())
    .filter(Boolean);
}

/**
 * Parses `vars` with `schema`; on failure throws `FLEET_ERR_CONFIG` naming every bad variable and
 * why (never its value): `invalid <label> configuration: FILES_ROOT: FILES_ROOT is required ...`.
 */
export function parseEnv<S extends z.ZodType>(schema: S, vars: Env, label: string): z.output<S> {
  const parsed = schema.safeParse(vars);
  if (parsed.success) return parsed.data;
  const detail = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
  throw new FleetError('FLEET_ERR_CONFIG', `invalid ${label} configuration: ${detail}`);
}

const list = env.list();
const bool = env.bool;
const int = (def: number, min = 0) => env.int(def, min);

/** The environment variables core understands. Server-specific variables are parsed by each server. */
export const coreEnvSchema = z.object({
  HOST: z.string().default('127.0.0.1'),
  PORT: z.coerce.number().int().min(0).max(65535).optional(),
  PUBLIC_URL: z.url().optional(),
  AUTH_ISSUER: z.string().min(1).optional(),
  AUTH_JWKS_URL: z.url().optional(),
  AUTH_JWKS_FILE: z.string().optional(),
  AUTH_AUDIENCE: z.string().optional(),
  AUTH_ALGORITHMS: list,
  AUTH_CLOCK_SKEW_SECONDS: int(30),
  AUTH_REQUIRED_SCOPES: list,
  AUTH_CLAIM_AGENT: z.string().default('sub'),
  AUTH_CLAIM_ROLES: z.string().default('roles'),
  AUTH_CLAIM_SCOPES: z.string().default('scope'),
  AUTH_CLAIM_TENANT: z.string().default('tenant'),
  AUTH_CLAIM_USER: z.string().default('user'),
  AUTH_CLAIM_SESSION: z.string().default('sid'),
  POLICY_FILE: z.string().optional(),
  POLICY_POLL_MS: int(2000, 50),
  DATABASE_URL: z.string().optional(),
  REDIS_URL: z.string().optional(),
  ALLOWED_HOSTS: list,
  ALLOWED_ORIGINS: list,
  BODY_LIMIT_BYTES: int(1024 * 1024, 1024),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  TOOL_TIMEOUT_MS: int(30_000, 1),
  TOOL_CANCEL_GRACE_MS: z.coerce.number().int().min(0).optional(),
  AUDIT_STDOUT: bool(true),
  AUDIT_FLUSH_MS: int(200, 10),
  AUDIT_QUEUE_MAX: int(50_000, 10),
  AUDIT_QUEUE_MAX_BYTES: int(64 * 1024 * 1024, 64 * 1024),
  MIGRATE_ON_START: bool(true),
  SHUTDOWN_GRACE_MS: int(15_000, 0),
  REDIS_KEY_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9:._-]{1,64}$/)
    .default('mcp-fleet'),
  REDIS_COMMAND_TIMEOUT_MS: int(250, 10),
  CACHE_MAX_ENTRIES: int(10_000, 0),
  CACHE_MAX_BYTES: int(64 * 1024 * 1024, 0),
  IDEMPOTENCY_RETENTION_HOURS: int(24, 1),
  APPROVAL_TTL_SECONDS: int(3600, 1),
  /** How often the anomaly baseline is reloaded from the fleet database (ms). */
  FLOW_BASELINE_RELOAD_MS: z.coerce.number().int().min(1_000).max(3_600_000).default(60_000),
  APPROVAL_RETENTION_DAYS: int(30, 1),
  APPROVER_SCOPE: z.string().regex(/^\S+$/).default('mcp:approve'),
  APPROVER_AUDIENCE: z.string().min(1).optional(),
  APPROVER_ISSUER: z.string().min(1).optional(),
  APPROVER_JWKS_URL: z.url().optional(),
  APPROVER_JWKS_FILE: z.string().optional(),
  APPROVER_ALL_TENANTS: bool(false),
  APPROVAL_MAX_ARGUMENT_BYTES: int(64 * 1024, 1024),
  APPROVAL_MAX_PENDING_PER_AGENT: int(20, 1),
  APPROVER_CLAIM_SUBJECT: z.string().min(1).default('sub'),
  APPROVER_GROUP: z.string().optional(),
  APPROVER_CLAIM_GROUPS: z.string().min(1).default('groups'),
  // Audit retention: this server's records older than this many days are deleted by its retention
  // job. A decimal whole number from 0 to 36500; unset, empty or 0 keeps them forever (as the chart's 0).
  AUDIT_RETENTION_DAYS: z
    .string()
    .optional()
    .refine((v) => v === undefined || v === '' || (/^(0|[1-9][0-9]{0,4})$/.test(v) && Number(v) <= 36_500), {
      message: 'must be a whole number of days from 0 (keep forever) to 36500, in decimal digits',
    })
    .transform((v) => (v === undefined || v === '' || v === '0' ? undefined : Number(v))),
  AUDIT_RETENTION_INTERVAL_MS: int(3_600_000, 1000),
  // OpenTelemetry (the standard OTEL_* names): traces are exported over OTLP/HTTP when an endpoint is set.
  OTEL_EXPORTER_OTLP_ENDPOINT: z.url().optional(),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: z.url().optional(),
  OTEL_SERVICE_NAME: z.string().min(1).optional(),
  OTEL_TRACES_SAMPLER_ARG: z.coerce.number().min(0).max(1).default(1),
  // An incoming W3C traceparent: 'link' (default) starts the fleet's own trace and keeps the client's only
  // as a span link and details.clientTraceId; 'continue' (callers are the operator's own gateway)
  // continues it. The client's tracestate and baggage are dropped either way.
  TRACE_INCOMING: z.enum(['link', 'continue']).default('link'),
});

/** Which claim of a verified token carries each part of the caller's identity. */
export interface ClaimNames {
  agent: string;
  roles: string;
  scopes: string;
  tenant: string;
  user: string;
  session: string;
}

/** Core configuration after parsing and defaulting. */
export interface CoreConfig {
  host: string;
  port: number;
  /** External base URL of this server, without trailing slash. */
  publicUrl: string;
  /** RFC 8707 resource identifier of this server: `${publicUrl}/mcp`. */
  resource: string;
  auth: {
    issuer: string | undefined;
    jwksUrl: string | undefined;
    jwksFile: string | undefined;
    audience: string;
    algorithms: string[];
    clockSkewSeconds: number;
    requiredScopes: string[];
    claims: ClaimNames;
  };
  policyFile: string | undefined;
  policyPollMs: number;
  databaseUrl: string | undefined;
  redisUrl: string | undefined;
  allowedHosts: string[];
  allowedOrigins: string[];
  bodyLimitBytes: number;
  logLevel: string;
  toolTimeoutMs: number;
  /**
   * How long a mutating tool without a declared point of no return is waited for after it was
   * cancelled or timed out, so its answer says what really happened (default: the tool's timeout).
   */
  cancelGraceMs: number | undefined;
  audit: {
    stdout: boolean;
    flushMs: number;
    queueMax: number;
    /** The most JSON text (about bytes) the batched audit queue holds; its oldest records are dropped past it. */
    queueMaxBytes: number;
    /** Records older than this many days are deleted by the retention job; undefined keeps them. */
    retentionDays: number | undefined;
    /** How often the retention job runs. */
    retentionIntervalMs: number;
  };
  /** OpenTelemetry tracing: OTLP/HTTP traces endpoint (undefined: spans are made, not exported). */
  tracing: {
    tracesEndpoint: string | undefined;
    serviceName: string | undefined;
    sampleRatio: number;
    /** What an incoming traceparent does: a span link only (default), or the parent of the request's trace. */
    incoming: 'link' | 'continue';
  };
  migrateOnStart: boolean;
  shutdownGraceMs: number;
  /** Governance runtime settings (limits, cache, idempotency, approvals). */
  governance: {
    /** Prefix of every Redis key, so fleets (and tests) can share one Redis. */
    redisKeyPrefix: string;
    /** A Redis command slower than this fails and the call falls back to in-process state. */
    redisCommandTimeoutMs: number;
    /** In-process result cache bounds. */
    cacheMaxEntries: number;
    cacheMaxBytes: number;
    /** How long idempotency keys are remembered. */
    idempotencyRetentionHours: number;
    /** How long an approval request stays valid (to be decided and used). */
    approvalTtlSeconds: number;
    /** How long expired approval requests are kept for review. */
    approvalRetentionDays: number;
    /** The token scope the approvals API requires. */
    approverScope: string;
  };
  /** Flow guard settings (absent in hand-built configs: no env key, the default reload interval). */
  flow?: {
    /** FLOW_FINGERPRINT_KEY (a secret). */
    fingerprintKey: string | undefined;
    /** FLOW_BASELINE_RELOAD_MS. */
    baselineReloadMs: number;
  };
  /**
   * Who may decide approvals: people holding approver tokens, a token class of its own (its own
   * audience, optionally its own issuer). Absent in hand-built configs: see `approverSettings`.
   */
  approvers?: ApproverConfig;
}

/** Approver tokens and what approvers see (APPROVER_* settings). */
export interface ApproverConfig {
  /** Audience of approver tokens; never the MCP audience. Default `${publicUrl}/approvals`. */
  audience: string;
  /** Issuer of approver tokens; default the agents' (AUTH_ISSUER). */
  issuer: string | undefined;
  /** JWKS of approver tokens; default the agents' (AUTH_JWKS_URL / AUTH_JWKS_FILE). */
  jwksUrl: string | undefined;
  jwksFile: string | undefined;
  /** An approver token without a tenant claim decides every tenant's requests (else only untenanted ones). */
  allTenants: boolean;
  /** Calls whose canonical arguments are longer than this (UTF-8 bytes) are refused, not put up for approval. */
  maxArgumentBytes: number;
  /**
   * How many requests one agent may have waiting for a decision on a server at once; beyond it the
   * agent's call is refused (APPROVAL_MAX_PENDING_PER_AGENT, default 20). Absent: the default.
   */
  maxPendingPerAgent?: number;
  /**
   * The claim naming the approver (APPROVER_CLAIM_SUBJECT, default `sub`): approvers are read with
   * their own claim mapping, never the agents' (AUTH_CLAIM_AGENT). Absent: `sub`.
   */
  subjectClaim?: string;
  /**
   * The group an approver must be a member of (APPROVER_GROUP): its name must be one of the values of
   * {@link groupsClaim}. Absent: no group check (any person with an approver token decides; not for
   * production).
   */
  group?: string | undefined;
  /** The claim listing the approver's groups (APPROVER_CLAIM_GROUPS, default `groups`; a string or an array). */
  groupsClaim?: string;
}

/** Asymmetric algorithms only: an HS* token "signed" with a public key must never verify. */
export const DEFAULT_ALGORITHMS = ['RS256', 'PS256', 'ES256', 'ES384', 'EdDSA'];

const LOOPBACK_HOSTS = ['localhost', '127.0.0.1', '[::1]', '::1'];

/**
 * Parses core configuration from an environment-like record.
 * @param defaultPort the server's own port when PORT is not set.
 */
export function loadCoreConfig(vars: Env, defaultPort: number): CoreConfig {
  const e = parseEnv(coreEnvSchema, vars, 'core');
  const port = e.PORT ?? defaultPort;
  const publicUrl = (e.PUBLIC_URL ?? `http://${e.HOST === '0.0.0.0' ? '127.0.0.1' : e.HOST}:${port}`).replace(
    /\/+$/,
    '',
  );
  const resource = `${publicUrl}/mcp`;
  const algorithms = e.AUTH_ALGORITHMS ?? DEFAULT_ALGORITHMS;
  const weak = algorithms.filter((a) => a === 'none' || a.startsWith('HS'));
  if (weak.length > 0) {
    throw new FleetError('FLEET_ERR_CONFIG', `AUTH_ALGORITHMS may not contain ${weak.join(', ')}`);
  }
  // Flow guard (issue 17): the key of copy detection's fingerprints. A secret, so it is not one of
  // core's settings (coreEnvSchema: those the charts set and servers' secretEnv may not name): an
  // operator gives it to every server through secretEnv. Every server of a fleet must use the same
  // key; unset, the taint store creates one random key once in the fleet database and all share it.
  const fingerprintKey = vars.FLOW_FINGERPRINT_KEY?.trim() || undefined;
  if (fingerprintKey !== undefined && fingerprintKey.length < 16)
    throw new FleetError('FLEET_ERR_CONFIG', 'FLOW_FINGERPRINT_KEY must be at least 16 characters');
  const publicHost = new URL(publicUrl).host;
  const authAudience = e.AUTH_AUDIENCE ?? resource;
  const approverAudience = e.APPROVER_AUDIENCE ?? `${publicUrl}/approvals`;
  if (approverAudience === authAudience || approverAudience === resource) {
    // An approver token must never be usable at /mcp, nor an agent token at /approvals.
    throw new FleetError(
      'FLEET_ERR_CONFIG',
      `APPROVER_AUDIENCE (${approverAudience}) must differ from the MCP audience: approver tokens are not agent tokens`,
    );
  }
  return {
    host: e.HOST,
    port,
    publicUrl,
    resource,
    auth: {
      issuer: e.AUTH_ISSUER,
      jwksUrl: e.AUTH_JWKS_URL,
      jwksFile: e.AUTH_JWKS_FILE,
      audience: authAudience,
      algorithms,
      clockSkewSeconds: e.AUTH_CLOCK_SKEW_SECONDS,
      requiredScopes: e.AUTH_REQUIRED_SCOPES ?? [],
      claims: {
        agent: e.AUTH_CLAIM_AGENT,
        roles: e.AUTH_CLAIM_ROLES,
        scopes: e.AUTH_CLAIM_SCOPES,
        tenant: e.AUTH_CLAIM_TENANT,
        user: e.AUTH_CLAIM_USER,
        session: e.AUTH_CLAIM_SESSION,
      },
    },
    policyFile: e.POLICY_FILE,
    policyPollMs: e.POLICY_POLL_MS,
    databaseUrl: e.DATABASE_URL,
    redisUrl: e.REDIS_URL,
    allowedHosts: e.ALLOWED_HOSTS ?? [...new Set([...LOOPBACK_HOSTS, publicHost.replace(/:\d+$/, '')])],
    allowedOrigins: e.ALLOWED_ORIGINS ?? [],
    bodyLimitBytes: e.BODY_LIMIT_BYTES,
    logLevel: e.LOG_LEVEL,
    toolTimeoutMs: e.TOOL_TIMEOUT_MS,
    cancelGraceMs: e.TOOL_CANCEL_GRACE_MS,
    audit: {
      stdout: e.AUDIT_STDOUT,
      flushMs: e.AUDIT_FLUSH_MS,
      queueMax: e.AUDIT_QUEUE_MAX,
      queueMaxBytes: e.AUDIT_QUEUE_MAX_BYTES,
      retentionDays: e.AUDIT_RETENTION_DAYS,
      retentionIntervalMs: e.AUDIT_RETENTION_INTERVAL_MS,
    },
    tracing: {
      tracesEndpoint:
        e.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ??
        (e.OTEL_EXPORTER_OTLP_ENDPOINT
          ? `${e.OTEL_EXPORTER_OTLP_ENDPOINT.replace(/\/+$/, '')}/v1/traces`
          : undefined),
      serviceName: e.OTEL_SERVICE_NAME,
      sampleRatio: e.OTEL_TRACES_SAMPLER_ARG,
      incoming: e.TRACE_INCOMING,
    },
    migrateOnStart: e.MIGRATE_ON_START,
    shutdownGraceMs: e.SHUTDOWN_GRACE_MS,
    governance: {
      redisKeyPrefix: e.REDIS_KEY_PREFIX,
      redisCommandTimeoutMs: e.REDIS_COMMAND_TIMEOUT_MS,
      cacheMaxEntries: e.CACHE_MAX_ENTRIES,
      cacheMaxBytes: e.CACHE_MAX_BYTES,
      idempotencyRetentionHours: e.IDEMPOTENCY_RETENTION_HOURS,
      approvalTtlSeconds: e.APPROVAL_TTL_SECONDS,
      approvalRetentionDays: e.APPROVAL_RETENTION_DAYS,
      approverScope: e.APPROVER_SCOPE,
    },
    flow: { fingerprintKey, baselineReloadMs: e.FLOW_BASELINE_RELOAD_MS },
    approvers: {
      audience: approverAudience,
      issuer: e.APPROVER_ISSUER ?? e.AUTH_ISSUER,
      jwksUrl: e.APPROVER_JWKS_URL ?? (e.APPROVER_JWKS_FILE ? undefined : e.AUTH_JWKS_URL),
      jwksFile: e.APPROVER_JWKS_FILE ?? (e.APPROVER_JWKS_URL ? undefined : e.AUTH_JWKS_FILE),
      allTenants: e.APPROVER_ALL_TENANTS,
      maxArgumentBytes: e.APPROVAL_MAX_ARGUMENT_BYTES,
      maxPendingPerAgent: e.APPROVAL_MAX_PENDING_PER_AGENT,
      subjectClaim: e.APPROVER_CLAIM_SUBJECT,
      group: e.APPROVER_GROUP?.trim() || undefined,
      groupsClaim: e.APPROVER_CLAIM_GROUPS,
    },
  };
}
