// The governance stores of one server process: limiters, result cache, redundancy detector,
// in-flight calls, idempotency and approval stores, the shared Redis connection and housekeeping.
// Built once at start (server.ts) and held by the runtime (`FleetRuntime.governance`).
import type pg from 'pg';
import { ApprovalStore } from '../approvals/approval-store.js';
import { RedundantCalls } from '../cache/redundant-calls.js';
import { ResultCache } from '../cache/result-cache.js';
import { InflightCalls } from '../cancellation/inflight-calls.js';
import type { CoreConfig } from '../config.js';
import { AnomalyBaseline } from '../flow/anomaly.js';
import { createFlowMetrics } from '../flow/flow-metrics.js';
import type { FlowStores } from '../flow/flow-stores.js';
import { createTaintStore, type TaintStore } from '../flow/taint-store.js';
import { IdempotencyStore } from '../idempotency/idempotency-store.js';
import type { ReadinessCheck } from '../kernel/call.js';
import { createGovernanceMetrics, type GovernanceMetrics } from '../observability/governance-metrics.js';
import type { Logger } from '../observability/logger.js';
import type { FleetMetrics } from '../observability/metrics.js';
import { LimiterPool } from '../rate-limit/limiter-pool.js';
import { SlidingWindows } from '../rate-limit/sliding-window.js';
import { createRedisClient, type Redis } from '../redis/redis-client.js';
import { SuspensionStore } from '../suspensions/suspension-store.js';
import { DEFAULT_SUSPENSION_POLL_MS, SuspensionWatcher } from '../suspensions/watcher.js';

/** Options for {@link GovernanceStores}. */
export interface GovernanceOptions {
  server: string;
  config: CoreConfig;
  logger: Logger;
  metrics: FleetMetrics;
  fleetDb?: pg.Pool | undefined;
  /** Use this Redis client instead of connecting to `config.redisUrl` (not closed by us). */
  redis?: Redis;
  /** How often agent suspensions are reloaded from the fleet database (SUSPENSION_POLL_MS). */
  suspensionPollMs?: number;
  /** Days of audit trail the anomaly baseline learns from (the policy's flow.anomaly.learnDays). */
  flowLearnDays?: () => number;
  /** How often this process tries to relearn the anomaly baseline (default 15 min; 0: never). */
  flowLearnEveryMs?: number;
}

const HOUSEKEEPING_MS = 10 * 60_000;

/** Everything the governed pipeline keeps between calls. */
export class GovernanceStores {
  readonly server: string;
  readonly config: CoreConfig['governance'];
  readonly logger: Logger;
  readonly metrics: GovernanceMetrics;
  readonly redis: Redis | undefined;
  readonly limiters: LimiterPool;
  /** Sliding-window counters of servers' own limits (`GovernedCall.limit`: sends per destination...). */
  readonly windows: SlidingWindows;
  readonly cache: ResultCache;
  readonly redundant = new RedundantCalls();
  readonly inflight: InflightCalls;
  readonly idempotency: IdempotencyStore | undefined;
  readonly approvals: ApprovalStore | undefined;
  /** Agent suspensions (the kill switch): undefined without a fleet database (nothing is refused). */
  readonly suspensionStore: SuspensionStore | undefined;
  /** The suspensions in force, reloaded from the fleet database; the call pipeline asks it. */
  readonly suspensions: SuspensionWatcher | undefined;
  /**
   * Flow guard (issue 17): the session taint store (Redis shared, the fleet database durable; in this
   * process only without either) and the anomaly baseline (empty without a fleet database).
   */
  readonly flow: FlowStores & { taint: TaintStore; baseline: AnomalyBaseline };
  readonly #ownsRedis: boolean;
  #timer: NodeJS.Timeout | undefined;

  constructor(o: GovernanceOptions) {
    this.server = o.server;
    const cfg = o.config.governance;
    this.config = cfg;
    this.logger = o.logger;
    this.metrics = createGovernanceMetrics(o.metrics.registry);
    this.#ownsRedis = !o.redis && Boolean(o.config.redisUrl);
    this.redis =
      o.redis ??
      (o.config.redisUrl
        ? createRedisClient({
            url: o.config.redisUrl,
            logger: o.logger,
            commandTimeoutMs: cfg.redisCommandTimeoutMs,
            onStatus: (up) => this.metrics.redisUp.set(up ? 1 : 0),
          })
        : undefined);
    if (this.redis) this.metrics.redisUp.set(this.redis.status === 'ready' ? 1 : 0);
    const onStoreError =
      (store: string) =>
      (err: unknown, op = 'limit') => {
        this.metrics.storeErrors.inc({ store, op });
        this.logger.debug({ err: (err as Error)?.message, op }, 'governance store error');
      };
    this.limiters = new LimiterPool({
      redis: this.redis,
      keyPrefix: cfg.redisKeyPrefix,
      onStoreError: onStoreError('redis'),
    });
    this.windows = new SlidingWindows({
      redis: this.redis,
      keyPrefix: cfg.redisKeyPrefix,
      onStoreError: onStoreError('redis'),
    });
    this.cache = new ResultCache({
      redis: this.redis,
      keyPrefix: cfg.redisKeyPrefix,
      maxEntries: cfg.cacheMaxEntries,
      maxBytes: cfg.cacheMaxBytes,
      onStoreError: onStoreError('redis'),
    });
    this.inflight = new InflightCalls({ redis: this.redis, keyPrefix: cfg.redisKeyPrefix, logger: o.logger });
    this.idempotency = o.fleetDb ? new IdempotencyStore(o.fleetDb, cfg.idempotencyRetentionHours) : undefined;
    this.approvals = o.fleetDb ? new ApprovalStore(o.fleetDb) : undefined;
    const approvals = this.approvals;
    if (approvals) this.metrics.approvalQueue = () => approvals.pendingQueue(o.server);
    this.suspensionStore = o.fleetDb
      ? new SuspensionStore(o.fleetDb, { approvals: this.approvals })
      : undefined;
    this.suspensions = this.suspensionStore
      ? new SuspensionWatcher({
          store: this.suspensionStore,
          pollMs: o.suspensionPollMs ?? DEFAULT_SUSPENSION_POLL_MS,
          logger: o.logger,
          registry: o.metrics.registry,
        })
      : undefined;
    this.flow = {
      taint: createTaintStore({
        pool: o.fleetDb,
        redis: this.redis,
        keyPrefix: cfg.redisKeyPrefix,
        logger: o.logger,
        envKey: o.config.flow?.fingerprintKey,
        onError: (op) => this.metrics.storeErrors.inc({ store: 'flow', op }),
      }),
      baseline: new AnomalyBaseline({
        pool: o.fleetDb,
        logger: o.logger,
        server: o.server,
        reloadMs: o.config.flow?.baselineReloadMs,
        ...(o.flowLearnEveryMs !== undefined ? { learnEveryMs: o.flowLearnEveryMs } : {}),
        ...(o.flowLearnDays ? { learnDays: o.flowLearnDays } : {}),
      }),
      metrics: createFlowMetrics(o.metrics.registry),
    };
  }

  /**
   * Starts background work: cross-replica cancellations, the suspensions watcher and the purge of
   * expired records. Resolves once the suspensions were loaded the first time (or that failed).
   */
  start(): Promise<void> {
    this.inflight.start();
    // The anomaly baseline loads in the background: until it has, every score is 0 (no judgement).
    void this.flow.baseline
      .start()
      .catch((err) => this.logger.warn({ err: (err as Error).message }, 'flow baseline did not start'));
    const suspensionsLoaded = this.suspensions?.start() ?? Promise.resolve();
    if (!this.idempotency && !this.approvals) return suspensionsLoaded;
    const purge = async () => {
      try {
        const keys = (await this.idempotency?.purge()) ?? 0;
        const approvals = (await this.approvals?.purge(this.config.approvalRetentionDays)) ?? 0;
        const flowSessions = await this.flow.taint.purge();
        if (keys + approvals + flowSessions > 0)
          this.logger.info(
            { idempotencyRecords: keys, approvals, flowSessions },
            'expired governance records purged',
          );
      } catch (err) {
        this.metrics.storeErrors.inc({ store: 'postgres', op: 'purge' });
        this.logger.warn({ err: (err as Error).message }, 'purge of expired governance records failed');
      }
    };
    // Spread replicas out so they do not all purge at the same moment.
    this.#timer = setInterval(() => void purge(), HOUSEKEEPING_MS + Math.floor(Math.random() * 60_000));
    this.#timer.unref();
    return suspensionsLoaded;
  }

  /**
   * Readiness checks, none critical: Redis (limits and cache fall back to this process) and the
   * reload of agent suspensions (a failed one keeps the last loaded set in force).
   */
  readiness(): ReadinessCheck[] {
    const redis = this.redis;
    const suspensions = this.suspensions ? [this.suspensions.readiness()] : [];
    if (!redis) return suspensions;
    return [
      ...suspensions,
      {
        name: 'redis',
        critical: false,
        check: async () => {
          if (redis.status !== 'ready')
            throw new Error(`redis ${redis.status}; limits and cache are per process`);
          await redis.ping();
        },
      },
    ];
  }

  /** Stops background work and closes the Redis connection it opened. */
  async close(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.suspensions?.close();
    this.flow.baseline.close();
    await this.flow.taint.close().catch(() => {});
    await this.inflight.close();
    if (this.#ownsRedis && this.redis) {
      await this.redis.quit().catch(() => this.redis?.disconnect());
    }
  }
}
