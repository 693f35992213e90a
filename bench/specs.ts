// The servers under test in sections 1-4, with what is on and off in each, and the fleet
// configuration they share (policy files, auth, the fleet database).
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parsePolicy, policySchema, ToolRegistry } from '@mcp-fleet/core/policy';
import type { DevIssuer } from '@mcp-fleet/testkit';
import { benchServer, benchTools, ECHO_TOOL } from './lib/echo-tool.js';
import type { AuditDatabase, BenchDatabase } from './lib/fleet-db.js';
import { ROOT } from './lib/processes.js';
import type { Era } from './lib/wire.js';

/** One server under test and the runs made against it. */
export interface TargetSpec {
  id: string;
  section: string;
  label: string;
  /** What is on and off in this target, for the JSON file. */
  describe: string;
  /** TypeScript entry (bundled before the run). */
  file: string;
  readyPath: string;
  env: (baseUrl: string) => Record<string, string>;
  /** Token for this target (roles), or null when it takes none. */
  roles: string[] | null;
  /** Reconcile audit rows in the fleet database with the calls answered. */
  audited: boolean;
  /** The database its audit rows are in, when not the run's fleet database. */
  auditDb?: AuditDatabase;
  /** Working directory of the server process (default: the repo root). */
  cwd?: string;
  runs: Run[];
}

/** The governed server built from the baseline ref (lib/baseline.ts), when it could be built. */
export interface BaselineTarget {
  ref: string;
  commit: string;
  /** Its worktree: the server runs there. */
  dir: string;
  /** A database of its own on the same PostgreSQL (its migrations are the baseline's). */
  db: AuditDatabase;
}

/** Bundle key of the baseline's fleet server (its file is built by lib/baseline.ts, not bundle()). */
export const BASELINE_TARGET = 'baseline:bench/targets/fleet-server.ts';

/** One measurement: protocol era, connections, and for open-loop runs a fixed total request rate. */
export interface Run {
  era: Era;
  connections: number;
  /** Requests per second across all connections (open loop); absent = as fast as answers come. */
  rate?: number;
}

/** Fleet configuration shared by the fleet targets, the db section and the cold start. */
export interface FleetSetup {
  governedEnv: (baseUrl: string) => Record<string, string>;
  minimalEnv: (baseUrl: string) => Record<string, string>;
  /** As governedEnv, with the policy's `flow` section removed (section 3f: the flow guard's share). */
  noFlowEnv: (baseUrl: string) => Record<string, string>;
  /** As governedEnv, with the flow section's `anomaly` settings removed (section 3g: scoring's share). */
  noAnomalyEnv: (baseUrl: string) => Record<string, string>;
  /** Whether the governed policy has a `flow` section (else 3f measures nothing). */
  flowInPolicy: boolean;
  authEnv: (baseUrl: string) => Record<string, string>;
  limitsSupported: boolean;
  redisUrl: string | undefined;
  notes: string[];
}

const HIGH = 1_000_000_000;

/**
 * The governed policy is the example policy the local fleet loads (the caller has its `support` role),
 * plus rate limits and a budget far above what the bench can reach, when core's policy schema has them.
 */
export function fleetSetup(db: BenchDatabase, issuer: DevIssuer, redisUrl: string | undefined): FleetSetup {
  const dir = mkdtempSync(join(tmpdir(), 'mcp-fleet-bench-'));
  const example = parsePolicy(readFileSync(join(ROOT, 'deploy/policies/example.yaml'), 'utf8'));
  const withLimits = structuredClone(example) as Record<string, unknown> & {
    roles: Record<string, Record<string, unknown>>;
  };
  // Every per-caller and global limit on what the bench calls is raised out of reach; costs and the
  // rest of the example's settings stay as they are.
  withLimits.roles.support = {
    ...withLimits.roles.support,
    limits: { perMinute: HIGH, perTool: { [ECHO_TOOL]: HIGH, 'database/run_query': HIGH } },
    budget: { perSession: HIGH, perWindow: { cost: HIGH, minutes: 60 } },
  };
  const tools = { ...((withLimits.tools ?? {}) as Record<string, Record<string, unknown>>) };
  for (const [key, settings] of Object.entries(tools)) {
    if ('globalPerMinute' in settings) tools[key] = { ...settings, globalPerMinute: HIGH };
  }
  tools[ECHO_TOOL] = { ...tools[ECHO_TOOL], globalPerMinute: HIGH };
  tools['database/run_query'] = { ...tools['database/run_query'], globalPerMinute: HIGH };
  withLimits.tools = tools;
  const limitsSupported = policySchema.safeParse(withLimits).success;
  const governed = limitsSupported ? withLimits : example;
  parsePolicy(JSON.stringify(governed), benchServer.name, new ToolRegistry(benchTools));
  const governedPolicy = join(dir, 'governed-policy.yaml');
  writeFileSync(governedPolicy, JSON.stringify(governed, null, 2)); // JSON is YAML
  // The same policy without its flow section: what the flow guard (rules, copy detection, anomaly
  // scoring) adds to a governed call is the difference between 3 and 3f.
  const { flow, ...withoutFlow } = governed as Record<string, unknown>;
  const noFlowPolicy = join(dir, 'governed-noflow-policy.yaml');
  writeFileSync(noFlowPolicy, JSON.stringify(withoutFlow, null, 2));
  const { anomaly: _anomaly, ...flowWithoutAnomaly } = (flow ?? {}) as Record<string, unknown>;
  const noAnomalyPolicy = join(dir, 'governed-noanomaly-policy.yaml');
  writeFileSync(
    noAnomalyPolicy,
    JSON.stringify(flow ? { ...withoutFlow, flow: flowWithoutAnomaly } : withoutFlow, null, 2),
  );
  const allowAllPolicy = join(dir, 'allow-all-policy.yaml');
  writeFileSync(
    allowAllPolicy,
    JSON.stringify({ version: 1, roles: { all: { grants: [{ servers: ['*'] }] } } }),
  );

  const authEnv = (baseUrl: string) => ({
    HOST: '127.0.0.1',
    PUBLIC_URL: baseUrl,
    AUTH_ISSUER: issuer.issuer,
    AUTH_JWKS_URL: issuer.jwksUrl,
  });
  return {
    authEnv,
    governedEnv: (baseUrl) => ({
      ...authEnv(baseUrl),
      POLICY_FILE: governedPolicy,
      DATABASE_URL: db.url,
      ...(redisUrl ? { REDIS_URL: redisUrl } : {}),
    }),
    minimalEnv: (baseUrl) => ({ ...authEnv(baseUrl), POLICY_FILE: allowAllPolicy, AUDIT_STDOUT: 'false' }),
    noFlowEnv: (baseUrl) => ({
      ...authEnv(baseUrl),
      POLICY_FILE: noFlowPolicy,
      DATABASE_URL: db.url,
      ...(redisUrl ? { REDIS_URL: redisUrl } : {}),
    }),
    noAnomalyEnv: (baseUrl) => ({
      ...authEnv(baseUrl),
      POLICY_FILE: noAnomalyPolicy,
      DATABASE_URL: db.url,
      ...(redisUrl ? { REDIS_URL: redisUrl } : {}),
    }),
    flowInPolicy: flow !== undefined,
    limitsSupported,
    redisUrl,
    notes: [
      limitsSupported
        ? `governed policy: deploy/policies/example.yaml with every limit on what the bench calls raised to ${HIGH.toLocaleString('en')} (role support: limits.perMinute, limits.perTool, budget.perSession, budget.perWindow; tools.*.globalPerMinute), so none is reached; costs and constraints as in the example`
        : "governed policy: deploy/policies/example.yaml; core's policy schema has no rate limits yet, so no rate limit is on the governed path",
      redisUrl
        ? `rate-limit counters and cache in Redis (${redisUrl})`
        : 'no REDIS_URL: rate-limit counters and cache in process (set BENCH_REDIS_URL to measure with Redis)',
    ],
  };
}

/** CPU work per call of the diagnostic ceiling variant (section 1b), in µs. */
export const CEILING_WORK_US = 60;

/** Path of the fleet target (one file, variants chosen by BENCH_FLEET_VARIANT). */
export const FLEET_TARGET = 'bench/targets/fleet-server.ts';

/** Sections 1-4. */
export function targetSpecs(
  f: FleetSetup,
  levels: number[],
  moderate: number,
  moderateRate: number,
  baseline?: BaselineTarget,
): TargetSpec[] {
  // Closed-loop levels measure capacity; the open-loop row (a fixed rate well below every target's
  // capacity) measures what one call costs in latency when the server is not saturated.
  const all = (era: Era): Run[] => [
    ...levels.map((connections) => ({ era, connections })),
    { era, connections: moderate, rate: moderateRate },
  ];
  const side = { era: 'legacy' as const, connections: moderate };
  return [
    {
      id: 'ceiling',
      section: '1',
      label: 'ceiling: fastify route by hand',
      describe: 'fastify POST /mcp answering tools/call by hand: no SDK, no auth, no governance',
      file: 'bench/targets/ceiling.ts',
      readyPath: '/healthz',
      env: () => ({}),
      roles: null,
      audited: false,
      runs: all('modern'),
    },
    {
      id: 'ceiling-work',
      section: '1b',
      label: `ceiling + ${CEILING_WORK_US} µs of work per call (diagnostic)`,
      describe:
        `the ceiling route spinning ${CEILING_WORK_US} µs per request: shows the per-call cost of socket wake-ups ` +
        'that the ceiling, saturating its load generator, does not pay. Used for no target',
      file: 'bench/targets/ceiling.ts',
      readyPath: '/healthz',
      env: () => ({ CEILING_WORK_US: String(CEILING_WORK_US) }),
      roles: null,
      audited: false,
      runs: [{ era: 'modern', connections: moderate }],
    },
    {
      id: 'sdk',
      section: '2',
      label: 'SDK idiom: createMcpHandler + McpServer',
      describe:
        'SDK v2 createMcpHandler, a new McpServer per request, toNodeHandler on node:http; no auth, no governance',
      file: 'bench/targets/sdk-idiom.ts',
      readyPath: '/healthz',
      env: () => ({}),
      roles: null,
      audited: false,
      runs: [...all('modern'), side],
    },
    {
      id: 'fleet-governed',
      section: '3',
      label: 'fleet: full governance (production main)',
      describe:
        'runServerMain(definition): Host/Origin guard, JWT (ES256, JWKS over HTTP, verified every request), example policy file, ' +
        'zod validation, audit to PostgreSQL (batched) + audit JSON lines to stdout (/dev/null), prom-client metrics, timeout; ' +
        `rate limits + budget ${f.limitsSupported ? 'on (never reached)' : 'not in core yet'}${f.redisUrl ? ', counters in Redis' : ''}`,
      file: FLEET_TARGET,
      readyPath: '/readyz',
      env: (b) => ({ ...f.governedEnv(b), BENCH_FLEET_VARIANT: 'production' }),
      roles: ['support'],
      audited: true,
      runs: [...all('modern'), side],
    },
    ...(baseline
      ? [
          {
            id: 'fleet-governed-baseline',
            section: '3 base',
            label: `fleet: full governance, baseline ${baseline.ref}`,
            describe:
              `section 3 as it was at ${baseline.ref} (${baseline.commit}), before issue 12's governance chain: that ` +
              "commit's bench/targets/fleet-server.ts and workspace packages, bundled from its own worktree by this " +
              'bundler; the same policy file, token roles, tool and load as 3; audit to its own database on the same PostgreSQL',
            file: BASELINE_TARGET,
            cwd: baseline.dir,
            readyPath: '/readyz',
            env: (b: string) => ({
              ...f.governedEnv(b),
              DATABASE_URL: baseline.db.url,
              BENCH_FLEET_VARIANT: 'production',
            }),
            roles: ['support'],
            audited: true,
            auditDb: baseline.db,
            runs: [...all('modern'), side],
          },
        ]
      : []),
    {
      id: 'fleet-flow-off',
      section: '3f',
      label: "fleet: full governance without the policy's flow section",
      describe:
        "as 3, with the governed policy's `flow` section removed: no flow step work (session taint, rules, copy " +
        'detection, anomaly score); 3 ÷ 3f is what the flow guard, anomaly scoring included, adds to a call ' +
        '(3 scores every call against a seeded baseline of the bench role)',
      file: FLEET_TARGET,
      readyPath: '/readyz',
      env: (b) => ({ ...f.noFlowEnv(b), BENCH_FLEET_VARIANT: 'production' }),
      roles: ['support'],
      audited: true,
      runs: all('modern'),
    },
    {
      id: 'fleet-flow-noanomaly',
      section: '3g',
      label: "fleet: full governance, the policy's flow section without anomaly scoring",
      describe:
        "as 3, with only the flow section's `anomaly` settings removed: flow rules and copy detection stay; 3 ÷ 3g " +
        "is what anomaly scoring adds to a call (knowing the session's previous call, and the score)",
      file: FLEET_TARGET,
      readyPath: '/readyz',
      env: (b) => ({ ...f.noAnomalyEnv(b), BENCH_FLEET_VARIANT: 'production' }),
      roles: ['support'],
      audited: true,
      runs: all('modern'),
    },
    {
      id: 'fleet-sdkpath',
      section: '3b',
      label: 'fleet: full governance, fastPath off (SDK path)',
      describe:
        'as 3, built with createFleetServer(def, { mcp: { fastPath: false } }): every message through the SDK handler',
      file: FLEET_TARGET,
      readyPath: '/readyz',
      env: (b) => ({ ...f.governedEnv(b), BENCH_FLEET_VARIANT: 'sdk-path' }),
      roles: ['support'],
      audited: true,
      runs: [{ era: 'modern', connections: moderate }],
    },
    {
      id: 'fleet-minimal',
      section: '4a',
      label: 'fleet: governance off, JWT on',
      describe:
        'runServerMain: JWT verified; allow-all policy; no DATABASE_URL (no durable audit, no fleet DB); AUDIT_STDOUT=false; ' +
        'validation, metrics and the in-process limiter stay (core has no switch for them)',
      file: FLEET_TARGET,
      readyPath: '/readyz',
      env: (b) => ({ ...f.minimalEnv(b), BENCH_FLEET_VARIANT: 'production' }),
      roles: ['all'],
      audited: false,
      runs: all('modern'),
    },
    {
      id: 'fleet-bare',
      section: '4b',
      label: 'fleet: governance off, no JWT (stub)',
      describe:
        'core buildHttpApp + protocol host + callTool with a stub verifier (no JWT), allow-all policy, no DB, no audit output',
      file: FLEET_TARGET,
      readyPath: '/readyz',
      env: (b) => ({ ...f.authEnv(b), BENCH_FLEET_VARIANT: 'bare' }),
      roles: ['all'],
      audited: false,
      runs: all('modern'),
    },
  ];
}
