// Assembles a fleet server from a declaration: configuration + connectors + tools. Core does the rest.

import type { FastifyInstance } from 'fastify';
import type pg from 'pg';
import { APPROVAL_MIGRATIONS } from './approvals/approval-store.js';
import { AuditLog } from './audit/audit-log.js';
import { startAuditRetention } from './audit/retention.js';
import { type CoreConfig, type Env, loadCoreConfig } from './config.js';
import {
  AUDIT_MIGRATIONS,
  createFleetPool,
  type Migration,
  migrate,
  namespaceMigrations,
} from './db/fleet-db.js';
import { ANOMALY_MIGRATIONS } from './flow/anomaly-learner.js';
import { FLOW_MIGRATIONS } from './flow/taint-store.js';
import { GovernanceStores } from './governance/stores.js';
import { buildHttpApp } from './http/app.js';
import { IDEMPOTENCY_MIGRATIONS } from './idempotency/idempotency-store.js';
import { TokenVerifier } from './identity/token-verifier.js';
import type { ReadinessCheck } from './kernel/call.js';
import { FleetError, type ToolError } from './kernel/errors.js';
import { createLogger, type Logger } from './observability/logger.js';
import { createMetrics } from './observability/metrics.js';
import { guardStdio, stdioWritable } from './observability/stdio.js';
import { FleetTracing } from './observability/tracing.js';
import type { FleetRuntime, ServerStep } from './pipeline/runtime.js';
import type { PolicyDocument } from './policy/policy-schema.js';
import { PolicyStore } from './policy/policy-store.js';
import type { McpHostOptions } from './protocol/mcp-host.js';
import { SUSPENSION_MIGRATIONS } from './suspensions/suspension-store.js';
import { suspensionPollMs } from './suspensions/watcher.js';
import { ToolRegistry } from './tools/registry.js';
import type { AnyTool, ConstraintDimension } from './tools/tool.js';

/** A server's tools: a list, or (for a server with a `config`) a function of its configuration. */
export type ServerTools<C, Config> = [Config] extends [undefined]
  ? readonly AnyTool<C>[]
  : readonly AnyTool<C>[] | ((config: Config) => readonly AnyTool<C>[]);

/** What a server package declares (usually through `defineServer`); everything else is core's job. */
export interface ServerDefinition<Connectors, Config = undefined> {
  /** Server name, also the audience path segment and the name policy grants use (`database`, `files`...). */
  name: string;
  version: string;
  /** Local default port (7401...). */
  defaultPort: number;
  /** Instructions sent to clients at initialize/discover. */
  instructions?: string;
  /**
   * Parses the server's own environment once at start (usually `parseEnv(schema, env, name)`);
   * `tools` and `connect` receive the result.
   */
  config?: (env: Env) => Config;
  /** The tools, or a function of the server's configuration (tools that depend on configuration). */
  tools: ServerTools<Connectors, Config>;
  /**
   * Tools of `tools` that this configuration does not offer, each with why, e.g.
   * `{ send_email: 'SMTP_URL is not set' }` (an upstream system that is not configured). They are not
   * registered: tools/list does not show them and tools/call answers "unknown tool"; `fleet policy
   * explain` prints the reason.
   */
  unlisted?: (config: Config) => Readonly<Record<string, string>>;
  /** Opens the server's connectors (pg pools, vendor clients). Called once at start. */
  connect?: (ctx: {
    env: Env;
    /** The server's configuration (`config(env)`). */
    config: Config;
    /** Core's configuration. */
    core: CoreConfig;
    logger: Logger;
    fleetDb: pg.Pool | undefined;
  }) => Promise<Connectors> | Connectors;
  /** Closes what `connect` opened. */
  disconnect?: (connectors: Connectors) => Promise<void>;
  /** Readiness checks on the connectors (e.g. warehouse reachable). */
  readiness?: (connectors: Connectors) => ReadinessCheck[];
  /** Tables this server keeps in the fleet database; their ids are stored as `<name>/<id>`. */
  migrations?: Migration[];
  /**
   * The server's own governance steps, each at a named slot of core's fixed chain (`checks`: after
   * admission, before limits; `beforeExecute`: right before the handler). See pipeline/call-tool.ts.
   */
  steps?: readonly ServerStep[];
  /**
   * Turns a handler's failure that is not a ToolError (a driver's or SDK's error) into a ToolError
   * the model can act on, with its code; `undefined`: an internal error (logged, a reference shown).
   * Saves every tool its own try/catch.
   */
  mapError?: (err: unknown) => ToolError | undefined;
  /**
   * Masks what must not be stored in an audit record (e.g. secrets found in outbound content), applied
   * to every string of every tools/call record's arguments, result summary and details, whatever the
   * call's outcome (refusals included), before the record is written. Must be idempotent.
   */
  auditRedact?: (text: string) => string;
  /**
   * The server's own HTTP routes beside /mcp (the admin server's console), registered after core's in
   * their own encapsulated fastify context: hooks added there apply to these routes only, and none of
   * /mcp's guards or its bearer authentication applies to them, so the routes bring their own.
   */
  http?: (app: FastifyInstance, ctx: ServerHttpContext<Connectors, Config>) => Promise<void>;
}

/** What a server's own HTTP routes ({@link ServerDefinition.http}) are given. */
export interface ServerHttpContext<Connectors, Config> {
  runtime: FleetRuntime;
  connectors: Connectors;
  config: Config;
  core: CoreConfig;
  fleetDb: pg.Pool | undefined;
  logger: Logger;
}

/** Core's own tables, each store's migrations collected (servers add theirs, namespaced). */
export const CORE_MIGRATIONS: readonly Migration[] = [
  ...AUDIT_MIGRATIONS,
  ...IDEMPOTENCY_MIGRATIONS,
  ...APPROVAL_MIGRATIONS,
  ...SUSPENSION_MIGRATIONS,
  ...FLOW_MIGRATIONS,
  ...ANOMALY_MIGRATIONS,
];

/** The server's configuration and tools for `env`, as `createFleetServer` resolves them. */
export function resolveServer<C, Cfg>(
  def: ServerDefinition<C, Cfg>,
  env: Env,
): { config: Cfg; tools: readonly AnyTool<C>[] } {
  const config = def.config ? def.config(env) : (undefined as Cfg);
  const declared = def.tools as readonly AnyTool<C>[] | ((config: Cfg) => readonly AnyTool<C>[]);
  const all = typeof declared === 'function' ? declared(config) : declared;
  const unlisted = def.unlisted ? def.unlisted(config) : {};
  return { config, tools: all.filter((t) => !Object.hasOwn(unlisted, t.name)) };
}

/** The tools a server lists for `env`; its configuration is parsed only when the tools depend on it. */
export function toolsOf<C, Cfg>(def: ServerDefinition<C, Cfg>, env: Env): readonly AnyTool<C>[] {
  return typeof def.tools === 'function' || def.unlisted
    ? resolveServer(def, env).tools
    : (def.tools as readonly AnyTool<C>[]);
}

/**
 * Every tool a server declares for `env`, listed or not, and why each unlisted one is not (for
 * `fleet policy check` and `explain`, which judge a policy against every tool a deployment may offer).
 */
export function declaredToolsOf<C, Cfg>(
  def: ServerDefinition<C, Cfg>,
  env: Env,
): { tools: readonly AnyTool<C>[]; unlisted: Readonly<Record<string, string>> } {
  if (typeof def.tools !== 'function' && !def.unlisted)
    return { tools: def.tools as readonly AnyTool<C>[], unlisted: {} };
  const config = def.config ? def.config(env) : (undefined as Cfg);
  const declared = def.tools as readonly AnyTool<C>[] | ((config: Cfg) => readonly AnyTool<C>[]);
  return {
    tools: typeof declared === 'function' ? declared(config) : declared,
    unlisted: def.unlisted ? def.unlisted(config) : {},
  };
}

/** Core's migrations and the server's, namespaced by the server's name. */
export function migrationsOf(
  def: Pick<ServerDefinition<unknown, unknown>, 'name' | 'migrations'>,
): Migration[] {
  return [...CORE_MIGRATIONS, ...namespaceMigrations(def.name, def.migrations ?? [])];
}

/** A built (not yet listening) server. */
export interface FleetServer {
  app: FastifyInstance;
  runtime: FleetRuntime;
  fleetDb: pg.Pool | undefined;
  /** Starts listening; resolves with the bound address. */
  listen(): Promise<string>;
  /** Drains in-flight calls, flushes audit, closes connectors and pools. */
  close(): Promise<void>;
}

/** Options for {@link createFleetServer}. */
export interface CreateServerOptions {
  env?: Record<string, string | undefined>;
  /** Inject a logger (tests); it is used as given (no `auditRedact` masking). */
  logger?: Logger;
  /** Where the server's own logger writes instead of stdout (tests that read what was logged). */
  logDestination?: NodeJS.WritableStream;
  /** Where audit JSON lines go (tests); default stdout. */
  auditWrite?: (line: string) => void;
  mcp?: McpHostOptions;
  /** Verifies bearer tokens instead of the configured JWT verifier (bench, tests). */
  verifier?: Pick<TokenVerifier, 'verify'>;
  /** A fixed policy instead of the policy file (bench, tests). */
  policy?: PolicyDocument;
}

/** Builds a fleet server from its definition and the environment. */
export async function createFleetServer<C, Cfg>(
  def: ServerDefinition<C, Cfg>,
  options: CreateServerOptions = {},
): Promise<FleetServer> {
  const env = options.env ?? process.env;
  const config = loadCoreConfig(env, def.defaultPort);
  const logger =
    options.logger ??
    createLogger({
      level: config.logLevel,
      name: def.name,
      redactText: def.auditRedact,
      destination: options.logDestination,
    });
  let pollMs: number;
  try {
    pollMs = suspensionPollMs(env);
  } catch (err) {
    throw new FleetError('FLEET_ERR_CONFIG', (err as Error).message);
  }
  const metrics = createMetrics(def.name);
  const tracing = new FleetTracing(def.name, config.tracing, logger);
  const { config: serverConfig, tools } = resolveServer(def, env);
  const registry = new ToolRegistry(tools as readonly AnyTool[]);
  // Dimensions of the tools this configuration does not list stay known to policy validation.
  if (def.unlisted) {
    for (const t of declaredToolsOf(def, env).tools) {
      const d = (t as AnyTool).constraint?.dimension;
      if (d && !registry.get(t.name)) registry.declareDimension(d as ConstraintDimension<unknown>);
    }
  }
  const policy = options.policy
    ? new PolicyStore({ server: def.name, registry, logger }, options.policy)
    : new PolicyStore({
        server: def.name,
        registry,
        logger,
        file: config.policyFile,
        pollMs: config.policyPollMs,
        onReload: (result) => metrics.policyReloads.inc({ result }),
      });

  const fleetDb = config.databaseUrl ? createFleetPool(config.databaseUrl, logger) : undefined;
  if (!fleetDb) logger.warn('no DATABASE_URL: audit goes to stdout only and mutating tools are refused');
  if (fleetDb && config.migrateOnStart) {
    await migrate(fleetDb, migrationsOf(def), logger);
  }
  const audit = new AuditLog({
    pool: fleetDb,
    logger,
    metrics,
    stdout: config.audit.stdout,
    flushMs: config.audit.flushMs,
    queueMax: config.audit.queueMax,
    queueMaxBytes: config.audit.queueMaxBytes,
    ...(options.auditWrite ? { write: options.auditWrite } : {}),
  });
  const verifier = options.verifier ?? (await TokenVerifier.create(config.auth));
  const connectors = (await def.connect?.({ env, config: serverConfig, core: config, logger, fleetDb })) as C;

  const governance = new GovernanceStores({
    server: def.name,
    config,
    logger,
    metrics,
    fleetDb,
    suspensionPollMs: pollMs,
    flowLearnDays: () => policy.current.flow?.anomaly?.learnDays ?? 14,
  });
  const runtime: FleetRuntime = {
    server: def.name,
    version: def.version,
    config,
    registry,
    policy,
    audit,
    metrics,
    logger,
    connectors,
    governance,
    steps: def.steps,
    mapError: def.mapError,
    auditRedact: def.auditRedact,
    tracing,
  };
  const readiness: ReadinessCheck[] = [...(def.readiness?.(connectors) ?? []), ...governance.readiness()];
  if (fleetDb) {
    // Not critical: reads keep answering while the fleet database is away; mutations are refused.
    readiness.push({
      name: 'fleet_db',
      critical: false,
      check: () => pingFleetDb(fleetDb, FLEET_DB_READY_TIMEOUT_MS),
    });
  }
  const app = buildHttpApp(runtime, {
    verifier,
    readiness,
    mcp: { ...(def.instructions ? { instructions: def.instructions } : {}), ...options.mcp },
  });
  if (def.http) {
    const routes = def.http;
    const ctx = { runtime, connectors, config: serverConfig, core: config, fleetDb, logger };
    app.register(async (scope) => routes(scope, ctx));
  }
  policy.watch();
  // Suspended agents are refused from the first call on: the set is loaded before the server listens.
  await governance.start();
  const retention = startAuditRetention(fleetDb, def.name, config, logger, metrics);

  let closing: Promise<void> | undefined;
  return {
    app,
    runtime,
    fleetDb,
    async listen() {
      return app.listen({ host: config.host, port: config.port });
    },
    close() {
      closing ??= (async () => {
        const deadline = Date.now() + Math.max(0, config.shutdownGraceMs - SHUTDOWN_MARGIN_MS);
        policy.close();
        await retention?.stop();
        await app.close(); // stops accepting, waits for in-flight requests
        // A call whose client left is no longer a request (app.close does not wait for it): its
        // handler may still be running past its point of no return. Wait for every call to end
        // and write its final record before the audit closes (issue 16, R2-3).
        const running = await callsSettled(metrics, audit, deadline);
        if (running > 0)
          logger.error(
            { running, openMutations: [...audit.openMutations].slice(0, 20) },
            'shutdown grace period: calls still running; their audit records stay "started"',
          );
        await audit.close();
        await governance.close();
        if (def.disconnect)
          await def
            .disconnect(connectors)
            .catch((err) => logger.warn({ err: err.message }, 'disconnect failed'));
        await fleetDb?.end().catch(() => {});
        await tracing.close(); // bounded: a collector that is down never holds the stop
        if (running > 0)
          throw new Error(`${running} call(s) still running when the shutdown grace period ran out`);
      })();
      return closing;
    },
  };
}

/** Left of SHUTDOWN_GRACE_MS for closing the audit, stores and pools after waiting for calls. */
const SHUTDOWN_MARGIN_MS = 2_000;

/**
 * Waits until no handler runs (mcp_inflight_calls) and every mutation that stored its `started`
 * record has queued its final one, or until `deadline`; returns how many are still running then.
 */
async function callsSettled(
  metrics: ReturnType<typeof createMetrics>,
  audit: AuditLog,
  deadline: number,
): Promise<number> {
  for (;;) {
    const handlers = (await metrics.inflight.get()).values.reduce((n, v) => n + v.value, 0);
    const running = Math.max(handlers, audit.openMutations.size);
    if (running === 0 || Date.now() >= deadline) return running;
    await new Promise((resolve) => setTimeout(resolve, SETTLE_POLL_MS));
  }
}
const SETTLE_POLL_MS = 25;

/** How long /readyz waits for the fleet database's `SELECT 1` before it calls the database failing. */
const FLEET_DB_READY_TIMEOUT_MS = 2_000;

/**
 * `SELECT 1` on a pooled connection, failing after `timeoutMs` when the database hangs (accepts, then
 * never answers) so /readyz still answers. A connection that timed out is destroyed, not returned to
 * the pool with its query still pending. Waiting for a connection is bounded by the pool's own
 * `connectionTimeoutMillis`.
 */
async function pingFleetDb(pool: pg.Pool, timeoutMs: number): Promise<void> {
  const client = await pool.connect();
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      client.query('SELECT 1'),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`fleet database did not answer SELECT 1 within ${timeoutMs} ms`)),
          timeoutMs,
        );
      }),
    ]);
  } catch (err) {
    client.release(err as Error);
    throw err;
  } finally {
    clearTimeout(timer);
  }
  client.release();
}

/**
 * The body of every server's `main.ts`: `main.js` serves; `main.js migrate` applies the fleet
 * database migrations and exits. SIGTERM/SIGINT drain in-flight calls and flush audit.
 */
export async function runServerMain<C, Cfg>(
  def: ServerDefinition<C, Cfg>,
  argv = process.argv.slice(2),
): Promise<void> {
  if (argv[0] === 'migrate') {
    const config = loadCoreConfig(process.env, def.defaultPort);
    const logger = createLogger({ level: config.logLevel, name: def.name });
    if (!config.databaseUrl) throw new Error('DATABASE_URL is required for migrate');
    const pool = createFleetPool(config.databaseUrl, logger, 1);
    const applied = await migrate(pool, migrationsOf(def), logger);
    logger.info({ applied }, 'migrations complete');
    await pool.end();
    return;
  }
  // A write to a stdout/stderr whose reader is gone (EPIPE) must not end a server (H-1).
  let onBrokenStdio = (_stream: string, _err: Error): void => {};
  guardStdio((stream, err) => onBrokenStdio(stream, err));
  let server: FleetServer;
  try {
    server = await createFleetServer(def);
  } catch (err) {
    // A configuration error is the operator's to fix: the message names the variable and why; a
    // stack trace would only bury it.
    if (!(err instanceof FleetError) || err.code !== 'FLEET_ERR_CONFIG') throw err;
    process.stderr.write(`${def.name}: ${err.message}\n`, () => process.exit(1));
    return;
  }
  const address = await server.listen();
  const { logger, config } = server.runtime;
  onBrokenStdio = (stream, err) =>
    logger.warn(
      { stream, err: err.message },
      `${stream} is closed; no more ${stream} output from this process`,
    );
  logger.info(
    { address, resource: config.resource, tools: server.runtime.registry.names() },
    `${def.name} listening`,
  );
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down: draining in-flight calls');
    const force = setTimeout(() => {
      logger.error('shutdown grace period exceeded; exiting');
      process.exit(1);
    }, config.shutdownGraceMs);
    force.unref();
    // process.exit drops what a pipe has not taken yet: the last audit lines are written out first.
    server.close().then(
      () => stdioDrained().then(() => process.exit(0)),
      (err) => {
        logger.error({ err: (err as Error).message }, 'shutdown failed');
        void stdioDrained().then(() => process.exit(1));
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

/**
 * Resolves once stdout and stderr have handed everything written so far to the OS (a pipe's reader
 * may be slow: Node queues the rest in memory, and process.exit would drop it). A stream whose reader
 * is gone resolves at once; one that never drains is cut by the shutdown grace timer.
 */
function stdioDrained(): Promise<unknown> {
  const drained = (name: 'stdout' | 'stderr') =>
    new Promise<void>((resolve) => {
      const stream = process[name];
      if (!stdioWritable(name) || stream.destroyed || stream.writableLength === 0) return resolve();
      // Written in order: this empty write's callback runs after everything queued before it.
      stream.write('', () => resolve());
    });
  return Promise.all([drained('stdout'), drained('stderr')]);
}
