// Anomaly scores (issue 17): how surprising a call is after the one before it in its agent session,
// by a first-order Markov chain over "server/tool" states learned from the audit trail. Explainable by
// design: a score is -log2 of one smoothed frequency, and everything it used (the transition's count,
// the number of transitions out of the earlier call, the baseline they came from) is returned with it,
// so a held call's reason and the console say exactly why it is unusual.
//
// Baselines are per agent (`agent:<id>`) and per role (`role:<name>`): the agent's own is used when
// it has seen at least `minBaseline` transitions out of the earlier call; else the caller's roles' (the
// most permissive one: the role whose baseline gives the highest probability, so having one more role
// never makes a call look more unusual); else there is none and the score is 0 (no judgement without a
// baseline: a new tool or a new role is not an anomaly, it is unknown).
//
// Baselines are per tenant: a call is scored against its own tenant's only.
//
// Smoothing is additive (Lidstone, α = 0.5 by default) over the vocabulary V = the distinct states the
// tenant's role baselines have seen as a call (what agents of a role do together: one agent's own tools do not
// widen it, which would raise every unseen transition's score), plus one for "a state never seen":
// p = (count + α) / (total + α·V). A
// transition never seen gets α / (total + α·V): the more the baseline has seen from that call, the
// more surprising something new is.
//
// Scoring is map lookups and one log2: no I/O, nothing proportional to the model's size.
import type pg from 'pg';
import type { Logger } from '../observability/logger.js';
import {
  DEFAULT_BASELINE_RELOAD_MS,
  DEFAULT_LEARN_EVERY_MS,
  type LearnResult,
  learnBaseline,
  loadBaseline,
  type TransitionRow,
} from './anomaly-learner.js';
import type { FlowAnomalyScore } from './engine.js';

export {
  ANOMALY_MIGRATIONS,
  DEFAULT_BASELINE_RELOAD_MS,
  flowBaselineReloadMs,
  type LearnResult,
  learnBaseline,
  type TransitionRow,
} from './anomaly-learner.js';

/** The state of a session before its first call. */
export const SESSION_START = '^';

/** One call's score and everything it was computed from (declared once, in engine.ts, which decides on it). */
export type AnomalyScore = FlowAnomalyScore;

/** Options of {@link AnomalyModel.fromTransitions}. */
export interface AnomalyModelOptions {
  /** Additive smoothing (default {@link DEFAULT_ALPHA}); > 0. */
  alpha?: number;
  /** When the rows were learned (shown by the console and the CLI). */
  learnedAt?: Date | undefined;
}

/** Default additive smoothing. */
export const DEFAULT_ALPHA = 0.5;

interface FromCounts {
  total: number;
  to: Map<string, number>;
}

/** One tenant's baselines: counts per scope, the same by agent id and by role name, and its vocabulary. */
interface TenantCounts {
  scopes: Map<string, Map<string, FromCounts>>;
  agents: Map<string, Map<string, FromCounts>>;
  roles: Map<string, Map<string, FromCounts>>;
  /** Distinct states its role baselines saw as a call, + 1. */
  vocabulary: number;
}

/**
 * Transition counts per tenant and scope, and the score they give. Immutable once built. A call is
 * scored against its own tenant's baselines only ('' for calls without a tenant).
 */
export class AnomalyModel {
  readonly alpha: number;
  readonly learnedAt: Date | undefined;
  /** Number of rows (distinct tenant, scope, from, to) the model holds. */
  readonly size: number;
  readonly #tenants: Map<string, TenantCounts>;

  private constructor(tenants: Map<string, TenantCounts>, size: number, o: AnomalyModelOptions) {
    this.#tenants = tenants;
    this.size = size;
    this.alpha = o.alpha ?? DEFAULT_ALPHA;
    this.learnedAt = o.learnedAt;
    if (!(this.alpha > 0) || !Number.isFinite(this.alpha))
      throw new Error('anomaly smoothing α must be a positive number');
  }

  /** A model with no baseline: every score is 0 (`baseline: 'none'`). */
  static empty(): AnomalyModel {
    return AnomalyModel.fromTransitions([]);
  }

  /** The model of these counts (rows of one tenant, scope, from and to are summed if repeated). */
  static fromTransitions(rows: readonly TransitionRow[], opts: AnomalyModelOptions = {}): AnomalyModel {
    const tenants = new Map<string, { t: TenantCounts; states: Set<string> }>();
    let size = 0;
    for (const r of rows) {
      const count = Number(r.count);
      if (!(count > 0) || !Number.isFinite(count)) continue;
      const tenant = r.tenant ?? '';
      let e = tenants.get(tenant);
      if (!e) {
        e = {
          t: { scopes: new Map(), agents: new Map(), roles: new Map(), vocabulary: 1 },
          states: new Set(),
        };
        tenants.set(tenant, e);
      }
      let froms = e.t.scopes.get(r.scope);
      if (!froms) {
        froms = new Map();
        e.t.scopes.set(r.scope, froms);
        if (r.scope.startsWith('agent:')) e.t.agents.set(r.scope.slice(6), froms);
        else if (r.scope.startsWith('role:')) e.t.roles.set(r.scope.slice(5), froms);
      }
      let f = froms.get(r.from);
      if (!f) {
        f = { total: 0, to: new Map() };
        froms.set(r.from, f);
      }
      const before = f.to.get(r.to);
      if (before === undefined) size++;
      f.to.set(r.to, (before ?? 0) + count);
      f.total += count;
      if (r.scope.startsWith('role:')) e.states.add(r.to);
    }
    const out = new Map<string, TenantCounts>();
    for (const [tenant, { t, states }] of tenants) out.set(tenant, { ...t, vocabulary: states.size + 1 });
    return new AnomalyModel(out, size, opts);
  }

  /** The smoothing vocabulary V of a tenant's baselines: distinct states its role baselines saw as a call, + 1. */
  vocabularyOf(tenant = ''): number {
    return this.#tenants.get(tenant)?.vocabulary ?? 1;
  }

  /** Transitions out of `from` in `scope` of `tenant` (0 when unknown). */
  total(scope: string, from: string, tenant = ''): number {
    return this.#tenants.get(tenant)?.scopes.get(scope)?.get(from)?.total ?? 0;
  }

  /** Times `scope` of `tenant` saw `from` → `to`. */
  count(scope: string, from: string, to: string, tenant = ''): number {
    return this.#tenants.get(tenant)?.scopes.get(scope)?.get(from)?.to.get(to) ?? 0;
  }

  /** Every row of the model (for tests and the CLI; not used on the call path). */
  rows(): TransitionRow[] {
    const out: TransitionRow[] = [];
    for (const [tenant, t] of this.#tenants)
      for (const [scope, froms] of t.scopes)
        for (const [from, f] of froms)
          for (const [to, count] of f.to) out.push({ tenant, scope, from, to, count });
    return out;
  }

  /**
   * The score of a call `to` after `from` (the session's previous call that ran, or `^`), for a caller
   * of `tenant` ('' or absent: none) with these roles and agent id, against that tenant's baselines
   * only. The agent's baseline is used when it saw at least `minBaseline` transitions out of `from`;
   * else the role (of `roles`) with at least that many that gives the highest p; else none (score 0).
   */
  score(
    i: { tenant?: string | undefined; roles: readonly string[]; agentId: string; from: string; to: string },
    minBaseline: number,
  ): AnomalyScore {
    const min = Math.max(minBaseline, 1);
    const t = this.#tenants.get(i.tenant ?? '');
    const agent = t?.agents.get(i.agentId)?.get(i.from);
    if (t !== undefined && agent !== undefined && agent.total >= min)
      return this.#scored(`agent:${i.agentId}`, agent, t.vocabulary, i.from, i.to);
    let best: FromCounts | undefined;
    let bestRole = '';
    let bestP = -1;
    if (t !== undefined)
      for (const role of i.roles) {
        const f = t.roles.get(role)?.get(i.from);
        if (f === undefined || f.total < min) continue;
        const p = this.#p(f, t.vocabulary, i.to);
        if (p > bestP) {
          bestP = p;
          best = f;
          bestRole = role;
        }
      }
    if (t !== undefined && best !== undefined)
      return this.#scored(`role:${bestRole}`, best, t.vocabulary, i.from, i.to);
    return { score: 0, p: 1, from: i.from, to: i.to, count: 0, total: 0, baseline: 'none' };
  }

  #p(f: FromCounts, vocabulary: number, to: string): number {
    return ((f.to.get(to) ?? 0) + this.alpha) / (f.total + this.alpha * vocabulary);
  }

  #scored(scope: string, f: FromCounts, vocabulary: number, from: string, to: string): AnomalyScore {
    const count = f.to.get(to) ?? 0;
    const p = (count + this.alpha) / (f.total + this.alpha * vocabulary);
    return { score: -Math.log2(p), p, from, to, count, total: f.total, baseline: scope };
  }
}

/**
 * One line explaining a score, for a held call's reason and the CLI:
 * `database/run_query → email/send_email: 0 of 412 transitions from database/run_query in role:support's baseline (p 0.0012, 9.7 bits)`.
 */
export function explainAnomaly(s: AnomalyScore): string {
  if (s.baseline === 'none')
    return `${s.from} → ${s.to}: no baseline with enough transitions from ${s.from} (not scored)`;
  const from = s.from === SESSION_START ? 'session starts' : s.from;
  return `${s.from} → ${s.to}: ${s.count} of ${s.total} transitions from ${from} in ${s.baseline}'s baseline (p ${s.p.toPrecision(2)}, ${s.score.toFixed(1)} bits)`;
}

/** Options of {@link AnomalyBaseline}. */
export interface AnomalyBaselineOptions {
  /** The fleet database (undefined: no baseline, every score 0). */
  pool: pg.Pool | undefined;
  logger: Logger;
  /** This server's name (who learned, in flow_baseline_runs). */
  server: string;
  /** How often the rows are reloaded (FLOW_BASELINE_RELOAD_MS, default 60 s). */
  reloadMs?: number;
  /** How often this process tries to learn (default 15 min; one process of the fleet does). 0: never. */
  learnEveryMs?: number;
  /** Days of trail to learn from (the policy's flow.anomaly.learnDays, read at each learning; default 14). */
  learnDays?: () => number;
  /** Smoothing α of the model. */
  alpha?: number;
}

/**
 * The baseline one process scores with: the rows of flow_baseline, reloaded every `reloadMs` into an
 * in-memory {@link AnomalyModel}; every `learnEveryMs` it tries to relearn them from the audit trail
 * (one process of the fleet learns: the advisory lock, and a learning younger than the interval is not
 * repeated). A failed load keeps the last model; a failed learning is logged and retried next time.
 */
export class AnomalyBaseline {
  readonly #o: AnomalyBaselineOptions;
  #model: AnomalyModel;
  #reload: NodeJS.Timeout | undefined;
  #learn: NodeJS.Timeout | undefined;
  #loading: Promise<void> | undefined;
  #failure: string | undefined;

  constructor(o: AnomalyBaselineOptions) {
    this.#o = o;
    this.#model = AnomalyModel.fromTransitions([], { alpha: o.alpha });
  }

  /** The model as last loaded (scoring is synchronous and in memory). */
  get model(): AnomalyModel {
    return this.#model;
  }

  /** The last load's failure, if it failed (the previous model stays in use). */
  get failure(): string | undefined {
    return this.#failure;
  }

  /** Loads the baseline now, then reloads and tries to learn periodically; resolves after the first load. */
  async start(): Promise<void> {
    if (!this.#o.pool || this.#reload) return;
    this.#reload = setInterval(() => void this.reload(), this.#o.reloadMs ?? DEFAULT_BASELINE_RELOAD_MS);
    this.#reload.unref();
    const every = this.#o.learnEveryMs ?? DEFAULT_LEARN_EVERY_MS;
    if (every > 0) {
      this.#learn = setInterval(() => void this.#periodicLearn(every), every);
      this.#learn.unref();
    }
    await this.reload();
  }

  /** Reloads the rows now. */
  reload(): Promise<void> {
    this.#loading ??= this.#load().finally(() => {
      this.#loading = undefined;
    });
    return this.#loading;
  }

  async #load(): Promise<void> {
    const pool = this.#o.pool;
    if (!pool) return;
    try {
      const { rows, learnedAt } = await loadBaseline(pool);
      this.#model = AnomalyModel.fromTransitions(rows, { alpha: this.#o.alpha, learnedAt });
      if (this.#failure) this.#o.logger.info('flow baseline reloaded again');
      this.#failure = undefined;
    } catch (err) {
      if (!this.#failure)
        this.#o.logger.warn(
          { err: (err as Error).message },
          'reloading the flow baseline failed; the last loaded baseline stays in use',
        );
      this.#failure = (err as Error).message;
    }
  }

  /** Learns now if no other process is (`unlessWithinMs`: skip when the last learning is that recent), then reloads. */
  async learn(unlessWithinMs = 0): Promise<LearnResult> {
    const pool = this.#o.pool;
    if (!pool) return { learned: false, skipped: 'locked', rows: 0, transitions: 0 };
    const r = await learnBaseline(pool, {
      learnDays: this.#o.learnDays?.() ?? 14,
      learnedBy: this.#o.server,
      unlessWithinMs,
    });
    if (r.learned) {
      this.#o.logger.info({ rows: r.rows, transitions: r.transitions }, 'flow baseline learned');
      await this.reload();
    }
    return r;
  }

  async #periodicLearn(every: number): Promise<void> {
    try {
      // A little less than the interval: the process that learned last is not always the next.
      await this.learn(Math.floor(every * 0.9));
    } catch (err) {
      this.#o.logger.warn(
        { err: (err as Error).message },
        'learning the flow baseline failed; retried later',
      );
    }
  }

  /** Stops reloading and learning. */
  close(): void {
    if (this.#reload) clearInterval(this.#reload);
    if (this.#learn) clearInterval(this.#learn);
    this.#reload = undefined;
    this.#learn = undefined;
  }
}
