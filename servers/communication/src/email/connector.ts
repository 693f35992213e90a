// The SMTP connector: nodemailer over SMTP_URL with a fixed sender, an explicit envelope (exactly the
// recipients shown), a caller-derived Message-ID, no automatic retry, and errors classified for the model.
import { ToolError, withUpstreamSpan } from '@mcp-fleet/core';
import emailAddresses from 'email-addresses';
import nodemailer, { type Transporter } from 'nodemailer';
import type { UpstreamBreaker } from '../upstream/breaker.js';
import { isUpstreamFailure, UpstreamFailure } from '../upstream/failures.js';

/** Options of an {@link EmailConnector}. */
export interface EmailConnectorOptions {
  /** smtp:// or smtps:// URL, with credentials (a Secret). */
  smtpUrl: string;
  /** The fixed From of every message, e.g. `Agents <agents@example.com>` (EMAIL_FROM). */
  from: string;
  /** The fixed Reply-To, when configured (EMAIL_REPLY_TO). */
  replyTo?: string | undefined;
  /** Connection, greeting and socket timeouts of one SMTP session (ms). */
  timeoutMs: number;
  breaker: UpstreamBreaker;
}

/** One message, already checked: recipients canonical, subject single-line, HTML sanitised. */
export interface OutgoingEmail {
  to: string[];
  cc: string[];
  subject: string;
  text: string;
  html?: string | undefined;
  /** `<id@sender-domain>`, deterministic per call (see messageIdFor). */
  messageId: string;
}

/** What the SMTP server said about a message it took. */
export interface SentEmail {
  messageId: string;
  accepted: string[];
  rejected: string[];
  response: string;
}

/** Parses a configured single mailbox (EMAIL_FROM / EMAIL_REPLY_TO); throws on anything else. */
function configuredMailbox(value: string, name: string): { address: string; domain: string } {
  const m = emailAddresses.parseOneAddress({ input: value, rfc6532: true });
  if (m?.type !== 'mailbox' || /[\r\n]/.test(value)) throw new Error(`${name} must be one mailbox`);
  return { address: m.address, domain: m.domain.toLowerCase() };
}

/** Errors that happen before an SMTP session exists. */
const NOT_CONNECTED = new Set([
  'ECONNREFUSED',
  'EDNS',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ETLS',
]);

const SMTP_ERROR_CODES_UNAVAILABLE = new Set([
  'ECONNECTION',
  'ECONNREFUSED',
  'ECONNRESET',
  'ESOCKET',
  'EDNS',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ETLS',
  'EPROTOCOL',
]);

/**
 * Classifies a nodemailer failure. `sending`: it came from a send, where a timeout or a dropped
 * connection with no SMTP reply leaves the outcome uncertain (the message says so). SMTP 4xx is
 * transient (unavailable, or rate_limited when the server says so), 5xx permanent (rejected),
 * 535/534/530 and EAUTH are auth.
 */
export function classifySmtpError(err: unknown, sending = false): UpstreamFailure {
  if (isUpstreamFailure(err)) return err;
  const e = (err ?? {}) as { code?: string; responseCode?: number; command?: string; message?: string };
  const status = typeof e.responseCode === 'number' ? e.responseCode : undefined;
  const command = typeof e.command === 'string' ? e.command.split(' ')[0]?.toUpperCase() : undefined;
  // Before a session exists (refused, DNS, TLS), nothing can have been sent. Any other silence
  // during a send (a timeout, a dropped socket) may have come after DATA: the outcome is uncertain.
  const connecting =
    (e.code !== undefined && NOT_CONNECTED.has(e.code)) ||
    /\b(ECONNREFUSED|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH)\b/.test(e.message ?? '');
  const uncertain =
    sending && status === undefined && !connecting
      ? '; the message may or may not have been sent, check before sending again'
      : '';
  // An SMTP error reply (4xx/5xx) means the server did not take the message: nothing was sent, and the
  // idempotency key is given back so the same key can send it once the server takes mail again.
  const opts = { cause: err, ...(status !== undefined ? { status, notSent: status >= 400 } : {}) };
  if (e.code === 'EAUTH' || status === 535 || status === 534 || status === 530)
    return new UpstreamFailure('email', 'auth', 'the SMTP login was refused', opts);
  if (e.code === 'ETIMEDOUT' || /timeout/i.test(e.message ?? ''))
    return new UpstreamFailure('email', 'timeout', `the SMTP server stopped answering${uncertain}`, opts);
  if (status !== undefined && status >= 400 && status < 500) {
    const rate = /rate|too many|slow down/i.test(e.message ?? '');
    return new UpstreamFailure(
      'email',
      rate ? 'rate_limited' : 'unavailable',
      `the SMTP server deferred the message (${status}${command ? ` at ${command}` : ''}); it was not sent`,
      { ...opts, ...(rate ? { retryAfterMs: 60_000 } : {}) },
    );
  }
  if (status !== undefined && status >= 500) {
    const what =
      command === 'RCPT'
        ? 'refused a recipient'
        : command === 'MAIL'
          ? 'refused the sender'
          : command === 'DATA' || command === 'MESSAGE'
            ? 'refused the message content'
            : 'refused the message';
    return new UpstreamFailure(
      'email',
      'rejected',
      `the SMTP server ${what} (${status}); it was not sent`,
      opts,
    );
  }
  if (e.code === 'EENVELOPE')
    return new UpstreamFailure(
      'email',
      'rejected',
      'the SMTP server refused every recipient; it was not sent',
      { ...opts, notSent: true },
    );
  if (e.code && SMTP_ERROR_CODES_UNAVAILABLE.has(e.code))
    return new UpstreamFailure('email', 'unavailable', `the SMTP connection failed${uncertain}`, opts);
  return new UpstreamFailure('email', 'unavailable', `sending failed${uncertain}`, opts);
}

/** Sends email over SMTP for send_email; one SMTP session per message (no pool). */
export class EmailConnector {
  /** The envelope sender and From address (from EMAIL_FROM). */
  readonly fromAddress: string;
  /** The sender's domain: the right-hand side of every Message-ID. */
  readonly senderDomain: string;
  readonly #from: string;
  readonly #replyTo: string | undefined;
  readonly #breaker: UpstreamBreaker;
  readonly #transport: Transporter;

  constructor(opts: EmailConnectorOptions) {
    const from = configuredMailbox(opts.from, 'EMAIL_FROM');
    if (opts.replyTo !== undefined) configuredMailbox(opts.replyTo, 'EMAIL_REPLY_TO');
    this.fromAddress = from.address;
    this.senderDomain = from.domain;
    this.#from = opts.from;
    this.#replyTo = opts.replyTo;
    this.#breaker = opts.breaker;
    this.#transport = nodemailer.createTransport({
      url: opts.smtpUrl,
      pool: false,
      connectionTimeout: opts.timeoutMs,
      greetingTimeout: opts.timeoutMs,
      socketTimeout: opts.timeoutMs,
      disableFileAccess: true,
      disableUrlAccess: true,
      logger: false,
      debug: false,
    } as Parameters<typeof nodemailer.createTransport>[0]);
  }

  /** The circuit breaker's state (for readiness). */
  get breakerState(): string {
    return this.#breaker.state;
  }

  /** Readiness: the SMTP server answers, and the credentials are accepted (SMTP verify). */
  async readiness(): Promise<void> {
    await this.#breaker.execute(async () => {
      try {
        await this.#transport.verify();
      } catch (err) {
        throw classifySmtpError(err);
      }
    });
  }

  /**
   * Sends one message. The SMTP envelope is set explicitly to exactly `to` + `cc`, so no header and
   * no address parser can add a recipient; From and Reply-To come only from configuration. There is
   * no retry: once the session started, the message may have been taken.
   */
  async send(mail: OutgoingEmail): Promise<SentEmail> {
    const recipients = [...mail.to, ...mail.cc];
    if (recipients.length === 0) throw new ToolError('Not sent: no recipient.', 'destination_denied');
    return this.#breaker.execute(async () => {
      try {
        const info = await withUpstreamSpan('smtp send', { 'upstream.system': 'smtp' }, () =>
          this.#transport.sendMail({
            from: this.#from,
            ...(this.#replyTo ? { replyTo: this.#replyTo } : {}),
            to: mail.to,
            ...(mail.cc.length ? { cc: mail.cc } : {}),
            subject: mail.subject,
            text: mail.text,
            ...(mail.html !== undefined ? { html: mail.html } : {}),
            messageId: mail.messageId,
            envelope: { from: this.fromAddress, to: recipients },
            disableFileAccess: true,
            disableUrlAccess: true,
          }),
        );
        const list = (v: unknown): string[] =>
          Array.isArray(v)
            ? v.map((a) => (typeof a === 'string' ? a : String((a as { address?: string }).address)))
            : [];
        return {
          messageId: mail.messageId,
          accepted: list(info.accepted),
          rejected: list(info.rejected),
          response: String(info.response ?? ''),
        };
      } catch (err) {
        throw classifySmtpError(err, true);
      }
    });
  }

  /** Releases the transport. */
  close(): void {
    this.#transport.close();
  }
}
