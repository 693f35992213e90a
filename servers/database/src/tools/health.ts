// database_health: is the warehouse reachable, how fast, how busy, how far behind, how warm.
import { z } from 'zod';
import { checkHealth } from '../connectors/health.js';
import { tool } from './query-result.js';
import { allowedSchemas, schemaConstraint } from './schema-access.js';

const output = z.object({
  status: z.enum(['ok', 'degraded', 'down']),
  latencyMs: z.number().nullable(),
  serverVersion: z.string().nullable(),
  database: z.string().nullable(),
  inRecovery: z.boolean().nullable(),
  connections: z
    .object({
      total: z.number(),
      max: z.number(),
      usedPercent: z.number(),
      byState: z.record(z.string(), z.number()),
    })
    .nullable(),
  pool: z.object({ total: z.number(), idle: z.number(), waiting: z.number(), max: z.number() }),
  longRunning: z.array(
    z.object({
      pid: z.number().nullable(),
      seconds: z.number(),
      state: z.string(),
      waitEvent: z.string().nullable(),
      application: z.string().nullable(),
      query: z.string().nullable(),
    }),
  ),
  replication: z
    .object({
      role: z.enum(['primary', 'standby']),
      replicas: z.array(
        z.object({
          name: z.string().nullable(),
          state: z.string().nullable(),
          replayLagSeconds: z.number().nullable(),
        }),
      ),
      replayLagSeconds: z.number().nullable(),
    })
    .nullable(),
  cacheHitRatio: z.number().nullable(),
  problems: z.array(z.string()),
  error: z.string().optional(),
});

/** database_health: connectivity, latency, connection use, long-running queries, replication lag, cache hit ratio. */
export const databaseHealthTool = tool({
  name: 'database_health',
  title: 'Check warehouse health',
  description:
    "Checks the warehouse: reachable or not, round-trip latency, connections in use (server and this server's pool), " +
    'queries running longer than the configured threshold, replication lag when there are replicas or this is a ' +
    'standby, and the buffer cache hit ratio. "problems" lists anything that needs attention. Long-running ' +
    'queries show their shape with values replaced by ?, and only to roles without a schema constraint.',
  input: z.object({}),
  output,
  // Short cache: health is about now, but a burst of agents asking should not hammer the warehouse.
  // Flow guard: the warehouse's health (latency, pool), no data of it: no source named.
  governance: { readOnly: true, cacheTtlSeconds: 5, timeoutMs: 10_000 },
  constraint: schemaConstraint(() => []),
  toText: (h) =>
    [
      `status: ${h.status}${h.latencyMs !== null ? `, latency ${h.latencyMs} ms` : ''}`,
      h.connections
        ? `connections: ${h.connections.total}/${h.connections.max} (${h.connections.usedPercent}%)`
        : null,
      `pool: ${h.pool.total - h.pool.idle} busy, ${h.pool.idle} idle, ${h.pool.waiting} waiting (max ${h.pool.max})`,
      h.cacheHitRatio !== null ? `cache hit ratio: ${h.cacheHitRatio}` : null,
      h.replication
        ? `replication: ${h.replication.role}, lag ${h.replication.replayLagSeconds ?? 'unknown'} s`
        : 'replication: none',
      `long-running queries: ${h.longRunning.length}`,
      ...h.problems.map((p) => `problem: ${p}`),
      h.error ? `error: ${h.error}` : null,
    ]
      .filter(Boolean)
      .join('\n'),
  handler: async (_args, ctx) => {
    const { warehouse, config } = ctx.connectors;
    const unconstrained = allowedSchemas(ctx.constraints) === null;
    const health = await checkHealth(warehouse.control, warehouse.pool, {
      longRunningSeconds: config.longRunningSeconds,
      // Query texts can carry other callers' literals: unconstrained roles see them redacted, the
      // others not at all. A pid is what pg_terminate_backend / pg_cancel_backend aim at: not for
      // constrained roles either.
      showQueries: unconstrained,
      showPids: unconstrained,
      poolMax: config.poolMax,
    });
    return { data: health };
  },
});
