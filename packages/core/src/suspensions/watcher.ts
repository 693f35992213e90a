// The suspensions every server enforces: the active set, reloaded from the fleet database every
// SUSPENSION_POLL_MS (default 2 s, at most 5 s, so every server refuses a suspended agent well within
// 10 s of the suspension, and accepts it again as soon after a resume). A failed reload keeps the last
// set that loaded (a database outage does not resume anyone) and shows in /readyz (non-critical check
// `agent_suspensions`) and in `mcp_suspension_reload_failed`; `mcp_agents_suspended` counts the set.
// The check on a call (`suspensionOf`) is a map lookup: no query per call.
//
// A suspension applies to the agent id whatever tenant its token names, or none: the kill switch errs
// on stopping (the tenant of the person who suspended only limits who sees and resumes it: agent-desk).
// It also stops the agent's calls already in flight: every admitted call is tracked (`track`), and
// each reload that finds its agent suspended stops it (the pipeline cancels it, unless past its point
// of no return); the pipeline checks again right before the handler and at ctx.commit().
import { Gauge, type Registry } from 'prom-client';
import { identifierKey } from '../approvals/identifiers.js';
import type { ReadinessCheck } from '../kernel/call.js';
import type { Logger } from '../observability/logger.js';
import type { SuspensionStore, SuspensionView } from './suspension-store.js';

/** Default of SUSPENSION_POLL_MS. */
export const DEFAULT_SUSPENSION_POLL_MS = 2_000;
/** Largest SUSPENSION_POLL_MS: "every server refuses within 10 s" holds with margin. */
export const MAX_SUSPENSION_POLL_MS = 5_000;
const MIN_SUSPENSION_POLL_MS = 50;
/** A reload the fleet database has not answered by then failed (a hung database, not a slow one). */
const RELOAD_TIMEOUT_MS = 2_000;

/**
 * SUSPENSION_POLL_MS of an environment: a whole number of milliseconds, 50..5000 (default 2000).
 * Anything else fails the server's start, naming the variable.
 */
export function suspensionPollMs(env: Readonly<Record<string, string | undefined>>): number {
  const raw = env.SUSPENSION_POLL_MS?.trim();
  if (raw === undefined || raw === '') return DEFAULT_SUSPENSION_POLL_MS;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < MIN_SUSPENSION_POLL_MS || n > MAX_SUSPENSION_POLL_MS)
    throw new Error(
      `SUSPENSION_POLL_MS must be a whole number of milliseconds from ${MIN_SUSPENSION_POLL_MS} to ${MAX_SUSPENSION_POLL_MS}`,
    );
  return n;
}

/** Who a call is made by, as far as suspensions care. */
export interface SuspendableIdentity {
  agentId: string;
  tenant?: string | undefined;
}

/** Options for {@link SuspensionWatcher}. */
export interface SuspensionWatcherOptions {
  store: SuspensionStore;
  pollMs: number;
  logger: Logger;
  registry: Registry;
}

function gauge(registry: Registry, name: string, help: string): Gauge<never> {
  return (
    (registry.getSingleMetric(name) as Gauge<never> | undefined) ??
    new Gauge({ name, help, registers: [registry] })
  );
}

/** The active suspensions of the fleet, as this process last loaded them. */
export class SuspensionWatcher {
  readonly pollMs: number;
  readonly #o: SuspensionWatcherOptions;
  /** identifierKey(agent id) -> the suspensions in force for it. */
  #byAgent = new Map<string, SuspensionView[]>();
  #timer: NodeJS.Timeout | undefined;
  #loading: Promise<void> | undefined;
  #loadedAt: Date | undefined;
  #failure: string | undefined;
  #first: Promise<void> | undefined;
  /** The calls in flight on this process, with what stops each one. */
  readonly #inflight = new Set<{ identity: SuspendableIdentity; stop: (s: SuspensionView) => void }>();
  readonly #suspended: Gauge<never>;
  readonly #failed: Gauge<never>;

  constructor(o: SuspensionWatcherOptions) {
    this.#o = o;
    this.pollMs = o.pollMs;
    this.#suspended = gauge(
      o.registry,
      'mcp_agents_suspended',
      'Agent suspensions in force, as this server last loaded them from the fleet database.',
    );
    this.#failed = gauge(
      o.registry,
      'mcp_suspension_reload_failed',
      '1 while the last reload of agent suspensions from the fleet database failed (the last loaded set is still enforced).',
    );
  }

  /** Loads the set now and every `pollMs`; resolves after the first attempt (loaded or not). */
  start(): Promise<void> {
    if (!this.#timer) {
      this.#timer = setInterval(() => void this.reload(), this.pollMs);
      this.#timer.unref();
      this.#first = this.reload();
    }
    return this.#first ?? Promise.resolve();
  }

  /** Reloads the set now (after a suspend or resume on this server, so it holds here at once). */
  reload(): Promise<void> {
    this.#loading ??= this.#load().finally(() => {
      this.#loading = undefined;
    });
    return this.#loading;
  }

  async #load(): Promise<void> {
    try {
      const active = await this.#o.store.active(RELOAD_TIMEOUT_MS);
      const next = new Map<string, SuspensionView[]>();
      for (const s of active) {
        const key = identifierKey(s.agentId);
        next.set(key, [...(next.get(key) ?? []), s]);
      }
      this.#byAgent = next;
      this.#loadedAt = new Date();
      if (this.#failure) this.#o.logger.info('agent suspensions reloaded again');
      this.#failure = undefined;
      this.#suspended.set(active.length);
      this.#failed.set(0);
      this.#stopSuspended();
    } catch (err) {
      if (!this.#failure)
        this.#o.logger.warn(
          { err: (err as Error).message },
          'reloading agent suspensions failed; the last loaded set stays in force',
        );
      this.#failure = (err as Error).message;
      this.#failed.set(1);
    }
  }

  /**
   * The suspension in force for this caller's agent, if any: whatever tenant the caller's token names
   * (another, or none), a suspension of its agent id applies (the kill switch errs on stopping).
   */
  suspensionOf(identity: SuspendableIdentity): SuspensionView | undefined {
    if (this.#byAgent.size === 0) return undefined;
    return this.#byAgent.get(identifierKey(identity.agentId))?.[0];
  }

  /**
   * Tracks an admitted call until the returned function is called: when a reload finds its agent
   * suspended, `stop` is called once with the suspension (the pipeline cancels the call).
   */
  track(identity: SuspendableIdentity, stop: (s: SuspensionView) => void): () => void {
    const entry = { identity, stop };
    this.#inflight.add(entry);
    return () => {
      this.#inflight.delete(entry);
    };
  }

  /** Stops every tracked call whose agent is suspended now (after each reload). */
  #stopSuspended(): void {
    if (this.#byAgent.size === 0 || this.#inflight.size === 0) return;
    for (const entry of [...this.#inflight]) {
      const s = this.suspensionOf(entry.identity);
      if (!s) continue;
      this.#inflight.delete(entry);
      try {
        entry.stop(s);
      } catch (err) {
        this.#o.logger.error({ err: (err as Error).message }, 'stopping a suspended agent call failed');
      }
    }
  }

  /** How many suspensions are in force. */
  get size(): number {
    let n = 0;
    for (const list of this.#byAgent.values()) n += list.length;
    return n;
  }

  /** /readyz: failing (not critical) while the last reload failed. */
  readiness(): ReadinessCheck {
    return {
      name: 'agent_suspensions',
      critical: false,
      check: async () => {
        if (this.#failure !== undefined)
          throw new Error(
            `reloading agent suspensions failed (${this.#failure}); enforcing the set loaded ${this.#loadedAt?.toISOString() ?? 'never'}`,
          );
      },
    };
  }

  /** Stops reloading. */
  close(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
