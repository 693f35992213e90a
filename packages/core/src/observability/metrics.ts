// prom-client metrics, one registry per app. Label values are bounded: tool names, outcomes, reasons.
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/** The metrics one fleet server exports on /metrics. */
export interface FleetMetrics {
  registry: Registry;
  toolCalls: Counter<'tool' | 'outcome'>;
  toolDuration: Histogram<'tool'>;
  authFailures: Counter<'reason'>;
  policyDenials: Counter<'tool'>;
  auditWriteFailures: Counter<never>;
  auditDropped: Counter<never>;
  auditQueue: Gauge<never>;
  inflight: Gauge<never>;
  readinessCheck: Gauge<'check'>;
  policyReloads: Counter<'result'>;
  /** 1 while the last policy reload was refused (the previous policy stays in force). */
  policyReloadFailed: Gauge<never>;
  /** Calls refused without running (a governance answer), by tool and the refusal's stable code. */
  refusals: Counter<'tool' | 'reason'>;
  /** Circuit breaker per upstream: 0 closed, 1 half-open (or due a trial), 2 open; set on each scrape. */
  breakerState: Gauge<'upstream'>;
  /** Audit records the retention job deleted. */
  auditRetentionDeleted: Counter<never>;
  /** Runs of the retention job by result (ok, failed, skipped: another replica held the lock). */
  auditRetentionRuns: Counter<'result'>;
  /** When this process last finished a retention run holding the lock (unix seconds); 0 before the first. */
  auditRetentionLastSuccess: Gauge<never>;
}

/** Creates a fresh registry with the fleet's metrics and Node's default process metrics. */
export function createMetrics(server: string): FleetMetrics {
  const registry = new Registry();
  registry.setDefaultLabels({ server });
  collectDefaultMetrics({ register: registry });
  return {
    registry,
    toolCalls: new Counter({
      name: 'mcp_tool_calls_total',
      help: 'Tool calls by tool and outcome (ok, error, denied, invalid, timeout, ...).',
      labelNames: ['tool', 'outcome'],
      registers: [registry],
    }),
    toolDuration: new Histogram({
      name: 'mcp_tool_call_duration_seconds',
      help: 'Tool call duration from admission to result, in seconds.',
      labelNames: ['tool'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    }),
    authFailures: new Counter({
      name: 'mcp_auth_failures_total',
      help: 'Requests refused by authentication, by reason.',
      labelNames: ['reason'],
      registers: [registry],
    }),
    policyDenials: new Counter({
      name: 'mcp_policy_denials_total',
      help: 'Tool calls refused by policy, by tool.',
      labelNames: ['tool'],
      registers: [registry],
    }),
    auditWriteFailures: new Counter({
      name: 'mcp_audit_write_failures_total',
      help: 'Failed attempts to write audit records to PostgreSQL (they are retried).',
      registers: [registry],
    }),
    auditDropped: new Counter({
      name: 'mcp_audit_dropped_total',
      help: 'Audit records dropped from the durable queue because it was full (they were still logged to stdout).',
      registers: [registry],
    }),
    auditQueue: new Gauge({
      name: 'mcp_audit_queue_records',
      help: 'Audit records waiting to be written to PostgreSQL.',
      registers: [registry],
    }),
    inflight: new Gauge({
      name: 'mcp_inflight_calls',
      help: 'Tool calls currently executing.',
      registers: [registry],
    }),
    readinessCheck: new Gauge({
      name: 'mcp_readiness_check_ok',
      help: 'Readiness checks that are cheap enough to run on every scrape (circuit breakers...): 1 ok, 0 failing.',
      labelNames: ['check'],
      registers: [registry],
    }),
    policyReloads: new Counter({
      name: 'mcp_policy_reloads_total',
      help: 'Policy file reload attempts by result (applied, rejected).',
      labelNames: ['result'],
      registers: [registry],
    }),
    policyReloadFailed: new Gauge({
      name: 'mcp_policy_reload_failed',
      help: '1 while the last policy reload was refused (the previous policy stays in force), else 0; set on each scrape.',
      registers: [registry],
    }),
    refusals: new Counter({
      name: 'mcp_refusals_total',
      help: 'Tool calls refused without running, by tool and reason (the stable error code: rate_limited, budget_exceeded, agent_suspended, invalid_arguments, awaiting_approval, FLEET_ERR_TOOL_NOT_AVAILABLE, ...).',
      labelNames: ['tool', 'reason'],
      registers: [registry],
    }),
    breakerState: new Gauge({
      name: 'mcp_breaker_state',
      help: 'Circuit breaker of each upstream: 0 closed, 1 half-open (a trial call is due or running), 2 open (calls fail fast); set on each scrape.',
      labelNames: ['upstream'],
      registers: [registry],
    }),
    auditRetentionDeleted: new Counter({
      name: 'mcp_audit_retention_deleted_total',
      help: 'Audit records deleted by the retention job (AUDIT_RETENTION_DAYS) run by this process.',
      registers: [registry],
    }),
    auditRetentionRuns: new Counter({
      name: 'mcp_audit_retention_runs_total',
      help: 'Runs of the audit retention job in this process by result (ok, failed, skipped: another replica held the lock).',
      labelNames: ['result'],
      registers: [registry],
    }),
    auditRetentionLastSuccess: new Gauge({
      name: 'mcp_audit_retention_last_success_timestamp_seconds',
      help: 'When this process last finished a run of the audit retention job holding its lock (unix seconds); 0 before the first. The fleet-wide freshest is max over replicas.',
      registers: [registry],
    }),
  };
}
