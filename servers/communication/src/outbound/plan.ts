// The seam between a send tool and the server's governance steps: a planner resolves where a call
// would send and what would leave, and refuses destinations policy does not allow.
import type { Connectors } from '../connectors.js';

/** Where one send goes and what leaves, as resolved and checked by its tool's planner. */
export interface OutboundPlan {
  system: 'slack' | 'email' | 'teams' | 'tickets';
  /** Canonical resolved destinations: 'slack:C0SUPPORT1', 'email:alice@example.com', 'teams:ops-alerts', 'jira:SUP'. */
  destinations: string[];
  /** Every text that leaves, with the argument path it came from (secrets scan, audit masking). */
  content: { path: (string | number)[]; text: string }[];
  /**
   * Destinations (of `destinations`) the system itself says are shared outside the company: a Slack
   * Connect channel (`is_ext_shared`/`is_shared`). The flow guard classifies them external.
   */
  externallyShared?: string[];
  /** What to do when the content holds a secret, from the granted value that allowed the destination. */
  onSecrets: 'refuse' | 'approval';
}

/** What a planner receives. */
export interface PlanContext {
  connectors: Connectors;
  /** The granted values of the tool's dimension; null = unconstrained ("*"). */
  constraints: readonly unknown[] | null;
  signal: AbortSignal;
}

/** Resolves and checks where a send goes; throws ToolError(message, 'destination_denied') when policy does not allow it. */
// biome-ignore lint/suspicious/noExplicitAny: planners of every tool's argument shape live in one table
export type Planner<Args = any> = (args: Args, ctx: PlanContext) => Promise<OutboundPlan>;
