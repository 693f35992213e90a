// What can go wrong with an upstream system (Slack, SMTP, Jira, Stripe, HubSpot, Salesforce...),
// classified by the connector that saw it, and the ToolError the model sees for it: a code it can
// act on (`upstream_<kind>`), a safe message, and when to retry. Shared by every server that calls out.
import { ToolError } from '../kernel/errors.js';

/** The classes of upstream failure; each becomes the ToolError code `upstream_<kind>`. */
export type UpstreamFailureKind =
  | 'unavailable'
  | 'timeout'
  | 'rate_limited'
  | 'auth'
  | 'rejected'
  | 'not_found'
  /** A change was sent and its outcome is unknown (the connection dropped, no answer in time, a 5xx, a 2xx that is not the vendor's answer). */
  | 'uncertain';

/** What the caller should do next, per kind (appended to the connector's message). */
const NEXT_STEP: Record<UpstreamFailureKind, string> = {
  unavailable: 'it is unavailable right now; try again later',
  timeout: 'it did not answer in time; the send may or may not have happened, check before retrying',
  rate_limited: 'it asked us to slow down',
  auth: "the server's credentials were refused; an operator must fix the configuration, retrying will not help",
  rejected: 'it refused the request; change the arguments as the message says',
  not_found: 'nothing with that id exists there (or it is not visible to your tenant); check the id',
  uncertain:
    'the change was sent but whether it took effect is unknown: check there before doing it again. Retrying with the same idempotency_key repeats this answer; a new key may do it twice',
};

/** The longest Retry-After passed on (1 hour): an upstream asking for more is told "an hour" anyway. */
export const MAX_RETRY_AFTER_MS = 3_600_000;

/** A read that timed out changed nothing: its advice says so instead of "the send may have happened". */
const READ_TIMEOUT = 'it did not answer in time; nothing was changed, try again later';

/**
 * An upstream failure, classified by the connector that saw it. `message` is safe for a model: no URL
 * with credentials, no token, no session id, no raw vendor body. `cause` stays in the process, never
 * in results; connectors of vendors whose errors carry secrets leave it out.
 */
export class UpstreamFailure extends Error {
  /** The system's id, e.g. `slack`, `stripe` (also the breaker's and the readiness check's name). */
  readonly system: string;
  readonly kind: UpstreamFailureKind;
  readonly retryAfterMs: number | undefined;
  readonly status: number | undefined;
  /** The request only read (a timeout then changed nothing). */
  readonly read: boolean;
  /**
   * Nothing was sent, or the upstream said it processed nothing (a paused breaker, a 429, a 4xx): a
   * retry with the same idempotency key may run the change (core gives the key back).
   */
  readonly notSent: boolean;

  constructor(
    system: string,
    kind: UpstreamFailureKind,
    message: string,
    opts: { retryAfterMs?: number; status?: number; cause?: unknown; read?: boolean; notSent?: boolean } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'UpstreamFailure';
    this.system = system;
    this.kind = kind;
    const ms = opts.retryAfterMs;
    // An upstream's wish, bounded: a huge or far-future Retry-After is an hour (it reaches results and waits).
    this.retryAfterMs =
      ms !== undefined && Number.isFinite(ms) && ms >= 0
        ? Math.min(Math.ceil(ms), MAX_RETRY_AFTER_MS)
        : undefined;
    this.status = opts.status;
    this.read = opts.read ?? false;
    this.notSent = opts.notSent ?? false;
  }
}

/** True when `e` is an UpstreamFailure (also across module copies). */
export const isUpstreamFailure = (e: unknown): e is UpstreamFailure =>
  e instanceof UpstreamFailure ||
  (e instanceof Error && e.name === 'UpstreamFailure' && 'kind' in e && 'system' in e);

/** Parses an HTTP Retry-After header (seconds or HTTP date) into milliseconds; undefined when absent or bad. */
export function parseRetryAfter(value: string | null | undefined, now = Date.now()): number | undefined {
  if (value === null || value === undefined || value.trim() === '') return undefined;
  const v = value.trim();
  if (/^\d+(\.\d+)?$/.test(v)) return Math.min(Math.ceil(Number(v) * 1000), MAX_RETRY_AFTER_MS);
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.min(Math.max(0, at - now), MAX_RETRY_AFTER_MS);
}

/**
 * The ToolError for an upstream failure: code `upstream_<kind>`, `<System>: <message> (<next step>;
 * retry after N s)`, retryAfterMs carried; audited as `unknown` when the change's outcome is unknown;
 * a failure that sent nothing gives its idempotency key back. `names` maps system ids to how a person
 * calls them.
 */
export function upstreamToolError(
  f: UpstreamFailure,
  names: Readonly<Record<string, string>> = {},
): ToolError {
  const who = names[f.system] ?? f.system;
  let message = `${who}: ${f.message.trim()}`;
  if (!/[.!?]$/.test(message)) message += '.';
  message += ` (${f.kind === 'timeout' && f.read ? READ_TIMEOUT : NEXT_STEP[f.kind]}`;
  if (f.retryAfterMs !== undefined)
    message += `; retry after ${Math.max(1, Math.ceil(f.retryAfterMs / 1000))} s`;
  message += ')';
  return new ToolError(message, `upstream_${f.kind}`, {
    retryAfterMs: f.retryAfterMs,
    // Not sent: the key is given back, so "retry after N s" with the same key can succeed.
    rerunSafe: f.notSent,
    outcomeUnknown: f.kind === 'uncertain',
  });
}
