// The Microsoft Teams incoming-webhook simulator: `POST /teams/webhook/<id>` takes a MessageCard or an
// Adaptive Card message and answers like a classic connector ("1", or a 400/413/429 text body).
import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Fault } from './shared/faults.js';
import { HttpSimulator } from './shared/http.js';

/** Teams refuses webhook payloads above about 28 KB. */
export const TEAMS_MAX_BYTES = 28 * 1024;

/** A payload a webhook accepted. */
export interface TeamsPost {
  webhookId: string;
  /** The configured channel name of the webhook. */
  channel: string;
  kind: 'messageCard' | 'adaptiveCard';
  payload: unknown;
  /** Text found in the card (MessageCard text/summary/title, Adaptive Card TextBlocks). */
  text: string;
  bytes: number;
  at: string;
}

/** Options of the Teams simulator. */
export interface TeamsSimulatorOptions {
  /** Channel names to create webhooks for (default the demo channels ops-alerts and general). */
  channels?: string[];
}

const ADAPTIVE = 'application/vnd.microsoft.card.adaptive';
const BAD_PAYLOAD = 'Bad payload received by generic incoming webhook.';

/** Simulates Teams incoming webhooks; `channels` maps each channel name to its webhook URL (TEAMS_CHANNELS). */
export class TeamsSimulator extends HttpSimulator {
  protected readonly standalonePrefix = '/teams';
  /** Every accepted post, oldest first. */
  readonly posts: TeamsPost[] = [];
  /** Webhook id -> channel name. */
  readonly #hooks = new Map<string, string>();

  constructor(opts: TeamsSimulatorOptions = {}) {
    super();
    for (const name of opts.channels ?? ['ops-alerts', 'general']) this.addChannel(name);
  }

  /** Adds a channel with a fresh webhook; returns the webhook id. */
  addChannel(name: string): string {
    const id = `${name.replace(/[^a-z0-9-]/gi, '')}-${randomUUID()}`;
    this.#hooks.set(id, name);
    return id;
  }

  /** Removes a channel's webhook (posts to it then get 404, as a deleted connector). */
  removeChannel(name: string): void {
    for (const [id, n] of this.#hooks) if (n === name) this.#hooks.delete(id);
  }

  /** Channel name -> webhook URL (the TEAMS_CHANNELS value, once listening). */
  get channels(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [id, name] of this.#hooks) out[name] = `${this.url}/webhook/${id}`;
    return out;
  }

  /** The webhook id of a channel name (fault keys are webhook ids, or the channel name, or '*'). */
  webhookId(name: string): string | undefined {
    for (const [id, n] of this.#hooks) if (n === name) return id;
    return undefined;
  }

  protected routes(scope: FastifyInstance): void {
    // Teams reads the body itself: malformed JSON is its own 400, not fastify's.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'string', bodyLimit: 16 * 1024 * 1024 }, (_r, body, done) =>
      done(null, body),
    );
    scope.post('/webhook/:id', (req, reply) => this.#handle(req, reply));
  }

  protected faultReply(reply: FastifyReply, fault: Fault): FastifyReply {
    reply.type('text/plain');
    if ('rateLimit' in fault) {
      return reply
        .code(429)
        .header('retry-after', String(fault.rateLimit))
        .send('Microsoft Teams endpoint returned HTTP error 429 with ContextId tcid=0,server=sim.');
    }
    if ('status' in fault)
      return reply.code(fault.status).send(fault.message ?? 'Service unavailable (simulated).');
    if ('error' in fault) return reply.code(400).send(fault.error);
    return reply;
  }

  async #handle(req: FastifyRequest, reply: FastifyReply) {
    const id = (req.params as { id: string }).id;
    const body = typeof req.body === 'string' ? req.body : '';
    const channel = this.#hooks.get(id);
    let payload: unknown;
    try {
      payload = JSON.parse(body);
    } catch {
      payload = undefined;
    }
    // Fault keys: the webhook id, or its channel name.
    if (await this.intercept(req, reply, id, payload ?? body, channel ? [id, channel] : [id])) return reply;
    reply.type('text/plain');
    if (!channel) return reply.code(404).send('Webhook not found or deleted.');
    const bytes = Buffer.byteLength(body);
    if (bytes > TEAMS_MAX_BYTES) {
      return reply
        .code(413)
        .send(
          'Webhook message delivery failed with error: Microsoft Teams endpoint returned HTTP error 413.',
        );
    }
    const checked = check(payload);
    if (typeof checked === 'string') return reply.code(400).send(checked);
    this.posts.push({ webhookId: id, channel, ...checked, payload, bytes, at: new Date().toISOString() });
    this.recorder.sent({
      system: 'teams',
      kind: checked.kind,
      destination: channel,
      upstreamId: channel,
      title: checked.kind === 'adaptiveCard' ? 'Adaptive Card' : 'MessageCard',
      text: checked.text,
    });
    // An after-commit fault: the message is in the channel, its answer is late or lost.
    if (await this.afterCommit(req, reply)) return reply;
    return reply.code(200).send('1');
  }
}

function check(p: unknown): { kind: TeamsPost['kind']; text: string } | string {
  if (!p || typeof p !== 'object' || Array.isArray(p)) return BAD_PAYLOAD;
  const o = p as Record<string, unknown>;
  if (Array.isArray(o.attachments)) {
    if (o.type !== 'message' || !o.attachments.length) return BAD_PAYLOAD;
    const texts: string[] = [];
    for (const a of o.attachments as Record<string, unknown>[]) {
      if (a?.contentType !== ADAPTIVE) return BAD_PAYLOAD;
      const c = a.content as Record<string, unknown> | undefined;
      if (c?.type !== 'AdaptiveCard' || !Array.isArray(c.body)) return BAD_PAYLOAD;
      collectText(c.body, texts);
    }
    return { kind: 'adaptiveCard', text: texts.join('\n') };
  }
  const text = [o.title, o.summary, o.text].filter((x): x is string => typeof x === 'string' && x !== '');
  if (!text.length && !Array.isArray(o.sections)) return 'Summary or Text is required.';
  return { kind: 'messageCard', text: text.join('\n') };
}

function collectText(node: unknown, out: string[]): void {
  if (Array.isArray(node)) for (const n of node) collectText(n, out);
  else if (node && typeof node === 'object') {
    const o = node as Record<string, unknown>;
    if (o.type === 'TextBlock' && typeof o.text === 'string') out.push(o.text);
    for (const v of Object.values(o)) if (typeof v === 'object') collectText(v, out);
  }
}
