// prom-client metrics of the governance runtime (limits, budgets, cache, idempotency, approvals),
// registered on the server's own registry. Labels stay bounded: tool names and fixed words.
import { Counter, Gauge, type Registry } from 'prom-client';

/** The governance metrics one server exports on /metrics. */
export interface GovernanceMetrics {
  rateLimited: Counter<'tool' | 'limit'>;
  budgetExceeded: Counter<'tool' | 'budget'>;
  cacheHits: Counter<'tool'>;
  cacheMisses: Counter<'tool'>;
  redundantCalls: Counter<'tool'>;
  idempotentReplays: Counter<'tool'>;
  approvals: Counter<'tool' | 'event'>;
  cancellations: Counter<'source'>;
  storeErrors: Counter<'store' | 'op'>;
  redisUp: Gauge<never>;
  /** Approval requests of this server waiting for a decision (read from the fleet database at scrape time). */
  approvalsPending: Gauge<never>;
  /** Age of this server's oldest pending approval request in seconds (0 when none). */
  approvalOldestPending: Gauge<never>;
  /**
   * Where the approval gauges read from on each scrape (set by the governance stores when there is a
   * fleet database). A failed or slow read keeps the last values.
   */
  approvalQueue?: () => Promise<{ pending: number; oldestSeconds: number }>;
}

/** How long a scrape waits for the approval queue's numbers before it keeps the last ones. */
const APPROVAL_QUEUE_READ_MS = 1_000;

const existing = new WeakMap<Registry, GovernanceMetrics>();

/** Registers (once per registry) and returns the governance metrics. */
export function createGovernanceMetrics(registry: Registry): GovernanceMetrics {
  const found = existing.get(registry);
  if (found) return found;
  const registers = [registry];
  // Filled in at scrape time from the approval store (m.approvalQueue), read once for both gauges.
  // At most one read is in flight: a hung fleet database holds one connection, not one per scrape.
  let inflight: Promise<void> | undefined;
  const readQueue = async (): Promise<void> => {
    const source = m.approvalQueue;
    if (!source) return;
    inflight ??= source()
      .then((q) => {
        m.approvalsPending.set(q.pending);
        m.approvalOldestPending.set(q.oldestSeconds);
      })
      .catch(() => {
        // the fleet database is away: the last values stay (its own alerts say so)
      })
      .finally(() => {
        inflight = undefined;
      });
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      inflight,
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, APPROVAL_QUEUE_READ_MS);
      }),
    ]);
    clearTimeout(timer);
  };
  const m: GovernanceMetrics = {
    rateLimited: new Counter({
      name: 'mcp_rate_limited_total',
      help: 'Tool calls refused by a rate limit, by tool and limit (caller, caller_tool, tool_global).',
      labelNames: ['tool', 'limit'],
      registers,
    }),
    budgetExceeded: new Counter({
      name: 'mcp_budget_exceeded_total',
      help: 'Tool calls refused because a budget was spent, by tool and budget (session, window).',
      labelNames: ['tool', 'budget'],
      registers,
    }),
    cacheHits: new Counter({
      name: 'mcp_cache_hits_total',
      help: 'Tool calls answered from the result cache, by tool.',
      labelNames: ['tool'],
      registers,
    }),
    cacheMisses: new Counter({
      name: 'mcp_cache_misses_total',
      help: 'Cacheable tool calls that had to run, by tool.',
      labelNames: ['tool'],
      registers,
    }),
    redundantCalls: new Counter({
      name: 'mcp_redundant_calls_total',
      help: 'Calls repeating the same tool with the same arguments within one agent session (seen by this replica), by tool.',
      labelNames: ['tool'],
      registers,
    }),
    idempotentReplays: new Counter({
      name: 'mcp_idempotent_replays_total',
      help: 'Mutating calls answered with the stored result of an earlier call with the same idempotency key, by tool.',
      labelNames: ['tool'],
      registers,
    }),
    approvals: new Counter({
      name: 'mcp_approvals_total',
      help: 'Approval gate events by tool (requested, approved, denied, executed, refused).',
      labelNames: ['tool', 'event'],
      registers,
    }),
    cancellations: new Counter({
      name: 'mcp_cancellations_total',
      help: 'Tool calls cancelled by the caller, by how (disconnect, notification).',
      labelNames: ['source'],
      registers,
    }),
    storeErrors: new Counter({
      name: 'mcp_governance_store_errors_total',
      help: 'Failed operations on governance stores (redis, postgres), by store and operation.',
      labelNames: ['store', 'op'],
      registers,
    }),
    redisUp: new Gauge({
      name: 'mcp_redis_up',
      help: '1 while the shared Redis answers, 0 while limits and cache fall back to this process.',
      registers,
    }),
    approvalsPending: new Gauge({
      name: 'mcp_approvals_pending',
      help: "Approval requests of this server waiting for a person's decision (from the fleet database, at scrape time).",
      registers,
      collect: readQueue,
    }),
    approvalOldestPending: new Gauge({
      name: 'mcp_approval_oldest_pending_seconds',
      help: 'Age in seconds of the oldest approval request of this server still waiting for a decision (0 when none).',
      registers,
      collect: readQueue,
    }),
  };
  existing.set(registry, m);
  return m;
}
