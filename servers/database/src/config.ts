// The database server's own environment variables, parsed once at start-up by one zod schema.
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Env, env, parseEnv } from '@mcp-fleet/core';
import { z } from 'zod';

/** The saved queries shipped for the demo warehouse (used when SAVED_QUERIES_FILE is not set). */
export const DEFAULT_SAVED_QUERIES_FILE = fileURLToPath(new URL('../saved-queries.yaml', import.meta.url));

const { int, bool } = env;

/** Environment of the database server (besides core's); `WAREHOUSE_MAX_ROWS` -> `maxRows`. */
export const databaseEnvSchema = env.config('WAREHOUSE_', {
  /**
   * Connection URL of the warehouse, as a read-only login role. Required to serve (connecting says
   * so), not to list the tools (`fleet policy explain`).
   */
  WAREHOUSE_URL: z.string().optional(),
  /** Start even though the role can write. For a throw-away warehouse only; logged loudly. */
  WAREHOUSE_ALLOW_WRITABLE_ROLE: bool(false),
  /** YAML file of saved, parameterised queries; each becomes a tool. */
  SAVED_QUERIES_FILE: z
    .string()
    .optional()
    .transform((f) => resolve(f ?? DEFAULT_SAVED_QUERIES_FILE)),
  /** Most rows a query returns; the result says `truncated: true` past this. */
  WAREHOUSE_MAX_ROWS: int(500, 1, 100_000),
  /** Most bytes (JSON) of rows a query returns. */
  WAREHOUSE_MAX_BYTES: int(1_000_000, 1_000, 50_000_000),
  /** Tool timeout of run_query / explain_query / saved queries; the statement is cancelled then. */
  WAREHOUSE_QUERY_TIMEOUT_MS: int(30_000, 100, 600_000),
  /** Connections in the query pool. */
  WAREHOUSE_POOL_MAX: int(5, 1, 100),
  /** Queries running longer than this are listed by database_health. */
  WAREHOUSE_LONG_RUNNING_SECONDS: int(30, 1, 86_400),
  /**
   * Largest single message (one row, one error text) the server accepts from the warehouse; a
   * larger one fails the call and closes its connection before it is buffered or decoded.
   */
  WAREHOUSE_MAX_MESSAGE_BYTES: int(33_554_432, 65_536, 268_435_456),
  /** Warehouse calls one caller (tenant + agent + user) may have running at once; more are refused. */
  WAREHOUSE_MAX_CONCURRENT_PER_CALLER: int(2, 1, 100),
  /** Dashboards one tenant may keep; saving one more (a new name) is refused. At most 500, what list_dashboards shows. */
  DASHBOARDS_MAX_PER_TENANT: int(200, 1, 500),
});

/** Parsed database server configuration. */
export type DatabaseConfig = z.output<typeof databaseEnvSchema>;

/** Parses the database server's environment; throws FLEET_ERR_CONFIG naming the bad variables (never their values). */
export const loadDatabaseConfig = (vars: Env): DatabaseConfig =>
  parseEnv(databaseEnvSchema, vars, 'database server');
