// The flow guard's metrics, on the server's registry (once per registry). Labels stay bounded: tool
// names, the policy's rule names, fixed words.
import { Counter, Histogram, type Registry } from 'prom-client';

/** The flow guard's metrics. */
export interface FlowMetrics {
  /** Calls held or refused by the flow guard, by what found it. */
  findings: Counter<'tool' | 'kind' | 'name' | 'action'>;
  /** The session taint store failed (load, record, last, match). */
  taintErrors: Counter<'op'>;
  /** Anomaly scores of calls (bits of surprise). */
  anomalyScore: Histogram<'tool'>;
  /** Calls held for approval because their anomaly score passed the policy's threshold. */
  anomalyHeld: Counter<'tool'>;
}

/**
 * Bucket bounds of `mcp_anomaly_score` (bits). The charts' `anomalyScoreBits` alert threshold must be
 * one of them (helm values schema: enum).
 */
export const ANOMALY_SCORE_BUCKETS: readonly number[] = [1, 2, 4, 6, 8, 10, 12, 16, 20, 32];

const existing = new WeakMap<Registry, FlowMetrics>();

/** Registers (once per registry) and returns the flow guard's metrics. */
export function createFlowMetrics(registry: Registry): FlowMetrics {
  const found = existing.get(registry);
  if (found) return found;
  const registers = [registry];
  const m: FlowMetrics = {
    findings: new Counter({
      name: 'mcp_flow_findings_total',
      help: 'Calls held or refused by the flow guard, by tool, kind (rule, copy, anomaly), name (the rule) and action (approval, deny).',
      labelNames: ['tool', 'kind', 'name', 'action'],
      registers,
    }),
    taintErrors: new Counter({
      name: 'mcp_flow_taint_errors_total',
      help: "Failures of the session taint store, by operation (load: the call was held; record: a read's result was withheld).",
      labelNames: ['op'],
      registers,
    }),
    anomalyScore: new Histogram({
      name: 'mcp_anomaly_score',
      help: 'Anomaly score of tool calls in bits (-log2 of the probability of this tool after the previous one, per the learned baseline).',
      labelNames: ['tool'],
      buckets: [...ANOMALY_SCORE_BUCKETS],
      registers,
    }),
    anomalyHeld: new Counter({
      name: 'mcp_anomaly_held_total',
      help: "Calls held for approval because their anomaly score passed the policy's flow.anomaly.holdAbove.",
      labelNames: ['tool'],
      registers,
    }),
  };
  existing.set(registry, m);
  return m;
}
