// The Slack Web API simulator: `POST /api/<method>` with a bot token (Bearer header or `token` field),
// form-encoded or JSON bodies, answers shaped like Slack's (HTTP 200 with ok:false for application errors).
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Fault } from '../shared/faults.js';
import { HttpSimulator } from '../shared/http.js';
import { type MethodContext, type SlackParams, type SlackSend, slackMethods } from './methods.js';
import { SLACK_IDS } from './seed.js';
import { SlackError, SlackWorkspace } from './workspace.js';

/** Options of a Slack simulator. */
export interface SlackSimulatorOptions {
  /** The bot token accepted (default SLACK_IDS.token). */
  token?: string;
}

/** A message posted (or updated, or a reaction added) through the simulator. */
export interface SlackPost extends SlackSend {
  at: string;
}

/** Simulates the Slack Web API for the demo workspace; point WebClient's `slackApiUrl` at `apiUrl`. */
export class SlackSimulator extends HttpSimulator {
  protected readonly standalonePrefix = '';
  /** The workspace state (channels, users, messages); tests may change it, e.g. `isMember = false`. */
  readonly workspace = new SlackWorkspace();
  /** Every post, update and reaction, oldest first, with the parameters exactly as received. */
  readonly posts: SlackPost[] = [];
  /** The bot token accepted. */
  readonly token: string;
  #revoked = false;

  constructor(opts: SlackSimulatorOptions = {}) {
    super();
    this.token = opts.token ?? SLACK_IDS.token;
  }

  /** The Web API base URL (ends with `/api/`), for WebClient's `slackApiUrl` and SLACK_API_URL. */
  get apiUrl(): string {
    return `${this.url}/api/`;
  }

  /** From now on the token answers `token_revoked` (pass false to restore it). */
  revokeToken(revoked = true): void {
    this.#revoked = revoked;
  }

  protected routes(scope: FastifyInstance): void {
    scope.addContentTypeParser(
      'application/x-www-form-urlencoded',
      { parseAs: 'string' },
      (_req, body, done) => {
        done(null, Object.fromEntries(new URLSearchParams(String(body))));
      },
    );
    scope.addContentTypeParser('multipart/form-data', (_req, _payload, done) => done(null, {}));
    scope.all('/api/:method', (req, reply) => this.#handle(req, reply));
  }

  protected faultReply(reply: FastifyReply, fault: Fault): FastifyReply {
    if ('rateLimit' in fault) {
      return reply
        .code(429)
        .header('retry-after', String(fault.rateLimit))
        .send({ ok: false, error: 'ratelimited' });
    }
    if ('status' in fault) {
      // Slack's edge answers 5xx with an HTML page, not JSON.
      return reply
        .code(fault.status)
        .type('text/html')
        .send(`<html><body>${fault.message ?? 'Service Unavailable'}</body></html>`);
    }
    if ('error' in fault) return reply.code(200).send({ ok: false, error: fault.error });
    return reply;
  }

  async #handle(req: FastifyRequest, reply: FastifyReply) {
    const method = (req.params as { method: string }).method;
    const query = (req.query ?? {}) as SlackParams;
    const body = req.body && typeof req.body === 'object' ? (req.body as SlackParams) : {};
    const { token: bodyToken, ...params } = { ...query, ...body };
    if (await this.intercept(req, reply, method, params)) return reply;
    const auth = req.headers.authorization;
    const token = auth?.startsWith('Bearer ')
      ? auth.slice(7)
      : typeof bodyToken === 'string'
        ? bodyToken
        : '';
    reply.header('x-slack-req-id', `sim-${this.requests.length}`);
    if (!token) return { ok: false, error: 'not_authed' };
    if (token !== this.token) return { ok: false, error: 'invalid_auth' };
    if (this.#revoked) return { ok: false, error: 'token_revoked' };
    const fn = slackMethods[method];
    if (!fn) return { ok: false, error: 'unknown_method', req_method: method };
    const ctx: MethodContext = { ws: this.workspace, params, send: (s) => this.#record(s) };
    let answer: Record<string, unknown>;
    try {
      answer = { ok: true, ...fn(ctx) };
    } catch (err) {
      if (err instanceof SlackError) return { ok: false, error: err.code };
      throw err;
    }
    // An after-commit fault: the method did its work (a post is in the channel), then the answer is late or lost.
    if (await this.afterCommit(req, reply)) return reply;
    return answer;
  }

  #record(s: SlackSend) {
    this.posts.push({ ...s, at: new Date().toISOString() });
    const where = s.channelName ? `#${s.channelName} (${s.channel})` : s.channel;
    this.recorder.sent({
      system: 'slack',
      kind: s.kind,
      destination: s.threadTs ? `${where}, thread ${s.threadTs}` : where,
      upstreamId: s.ts,
      title: s.kind === 'post' ? 'message' : s.kind,
      text: s.text,
      extra: pick(s.params, ['unfurl_links', 'unfurl_media', 'link_names', 'parse', 'mrkdwn', 'blocks']),
    });
  }
}

function pick(o: SlackParams, keys: string[]) {
  const out: SlackParams = {};
  for (const k of keys) if (o[k] !== undefined) out[k] = o[k];
  return out;
}
