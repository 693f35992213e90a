// Assembles a fleet server from a declaration: configuration + connectors + tools. Core does the rest.

import type { FastifyInstance } from 'fastify';
import type pg from 'pg';
import { APPROVAL_MIGRATIONS } from './approvals/approval-store.js';
import { AuditLog } from './audit/audit-log.js';
import { type CoreConfig, type Env, loadCoreConfig } from './config.js';
import {
  AUDIT_MIGRATIONS,
  createFleetPool,
  type Migration,
  migrate,
  namespaceMigrations,
} from './db/fleet-db.js';
import { GovernanceStores } from './governance/stores.js';
import { buildHttpApp } from './http/app.js';
import { IDEMPOTENCY_MIGRATIONS } from './idempotency/idempotency-store.js';
import { TokenVerifier } from './identity/token-verifier.js';
import type { ReadinessCheck } from './kernel/call.js';
import type { ToolError } from './kernel/errors.js';
import { createLogger, type Logger } from './observability/logger.js';
import { createMetrics } from './observability/metrics.js';
import type { FleetRuntime, ServerStep } from './pipeline/runtime.js';
import type { PolicyDocument } from './policy/policy-schema.js';
import { PolicyStore } from './policy/policy-store.js';
import type { McpHostOptions } from './protocol/mcp-host.js';
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
}

/** Core's own tables, each store's migrations collected (servers add theirs, namespaced). */
export const CORE_MIGRATIONS: readonly Migration[] = [
  ...AUDIT_MIGRATIONS,
  ...IDEMPOTENCY_MIGRATIONS,
  ...APPROVAL_MIGRATIONS,
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
  const metrics = createMetrics(def.name);
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
    ...(options.auditWrite ? { write: options.auditWrite } : {}),
  });
  const verifier = options.verifier ?? (await TokenVerifier.create(config.auth));
  const connectors = (await def.connect?.({ env, config: serverConfig, core: config, logger, fleetDb })) as C;

  const governance = new GovernanceStores({ server: def.name, config, logger, metrics, fleetDb });
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
  policy.watch();
  governance.start();

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
        policy.close();
        await app.close(); // stops accepting, waits for in-flight requests
        await audit.close();
        await governance.close();
        if (def.disconnect)
          await def
            .disconnect(connectors)
            .catch((err) => logger.warn({ err: err.message }, 'disconnect failed'));
        await fleetDb?.end().catch(() => {});
      })();
      return closing;
    },
  };
}

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
  const server = await createFleetServer(def);
  const address = await server.listen();
  const { logger, config } = server.runtime;
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
    server.close().then(
      () => process.exit(0),
      (err) => {
        logger.error({ err: (err as Error).message }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}
