// The Teams connector: posts JSON to the configured incoming-webhook URLs with fetch (a timeout and the
// caller's signal, redirects refused), through the breaker, HTTP errors classified into UpstreamFailure.
import { withUpstreamSpan } from '@mcp-fleet/core';
import type { UpstreamBreaker } from '../upstream/breaker.js';
import { parseRetryAfter, UpstreamFailure } from '../upstream/failures.js';

/** Options of a TeamsConnector. */
export interface TeamsConnectorOptions {
  /** Configured channel name -> webhook URL (the model only ever sees the names). */
  channels: Map<string, string>;
  /** Timeout of one request (ms). */
  timeoutMs: number;
  breaker: UpstreamBreaker;
}

/** Socket errors before a request could be sent. */
const NOT_CONNECTED = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

/**
 * Classifies a webhook's HTTP answer (not 2xx) into an UpstreamFailure. A 4xx (429 included) means
 * Teams took nothing (`notSent`: the idempotency key is given back); a 5xx may have posted.
 */
export function classifyTeamsStatus(status: number, retryAfter: string | null): UpstreamFailure {
  const notSent = status >= 400 && status <= 499;
  if (status === 429)
    return new UpstreamFailure('teams', 'rate_limited', 'Teams rate-limited the webhook', {
      retryAfterMs: parseRetryAfter(retryAfter),
      status,
      notSent,
    });
  if (status >= 500)
    return new UpstreamFailure('teams', 'unavailable', `Teams answered HTTP ${status}`, { status });
  if (status === 401 || status === 403)
    return new UpstreamFailure('teams', 'auth', `Teams refused the webhook (HTTP ${status})`, {
      status,
      notSent,
    });
  if (status === 404 || status === 410)
    return new UpstreamFailure(
      'teams',
      'auth',
      'the webhook of this channel no longer exists; an operator must renew it',
      { status, notSent },
    );
  if (status === 413)
    return new UpstreamFailure('teams', 'rejected', 'the message is too large for Teams', {
      status,
      notSent,
    });
  return new UpstreamFailure(
    'teams',
    'rejected',
    `Teams refused the message (HTTP ${status}); check the card`,
    { status, notSent },
  );
}

/** Posts to Teams channels through their webhooks. */
export class TeamsConnector {
  readonly #channels: Map<string, string>;
  readonly #timeoutMs: number;
  readonly #breaker: UpstreamBreaker;

  constructor(opts: TeamsConnectorOptions) {
    this.#channels = new Map(opts.channels);
    this.#timeoutMs = opts.timeoutMs;
    this.#breaker = opts.breaker;
  }

  /** The configured channel names, sorted. */
  names(): string[] {
    return [...this.#channels.keys()].sort();
  }

  /** True when `name` is a configured channel (exact). */
  has(name: string): boolean {
    return this.#channels.has(name);
  }

  /** Nothing to probe without sending: Teams webhooks have no test endpoint. Ready when configured. */
  async readiness(): Promise<void> {
    if (this.#channels.size === 0)
      throw new UpstreamFailure('teams', 'unavailable', 'no Teams channel is configured');
  }

  /** Posts one JSON payload to a configured channel, once (never retried here). */
  async post(name: string, payload: unknown, signal: AbortSignal): Promise<void> {
    const url = this.#channels.get(name);
    if (!url)
      throw new UpstreamFailure('teams', 'rejected', `no Teams channel is configured under the name ${name}`);
    signal.throwIfAborted();
    await this.#breaker.execute(async () => {
      let res: Response;
      try {
        res = await withUpstreamSpan('teams post', { 'upstream.system': 'teams' }, () =>
          fetch(url, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify(payload),
            redirect: 'error',
            signal: AbortSignal.any([signal, AbortSignal.timeout(this.#timeoutMs)]),
          }),
        );
      } catch (err) {
        if (signal.aborted) throw signal.reason;
        if ((err as Error)?.name === 'TimeoutError')
          throw new UpstreamFailure('teams', 'timeout', `Teams did not answer within ${this.#timeoutMs} ms`, {
            cause: err,
          });
        // No connection was made (refused, no such host): nothing reached Teams.
        const socketCode = (err as { cause?: { code?: unknown } } | undefined)?.cause?.code;
        const notSent = typeof socketCode === 'string' && NOT_CONNECTED.has(socketCode);
        throw new UpstreamFailure('teams', 'unavailable', 'Teams could not be reached', {
          cause: err,
          notSent,
        });
      }
      // The body is never shown (it may echo the payload); only drained.
      await res.arrayBuffer().catch(() => undefined);
      if (res.status < 200 || res.status > 299)
        throw classifyTeamsStatus(res.status, res.headers.get('retry-after'));
    });
  }
}
