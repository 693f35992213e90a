// The SMTP simulator: a real smtp-server on 127.0.0.1 (no TLS; AUTH PLAIN/LOGIN optional) that keeps
// each message's envelope exactly as received, its raw bytes and its parsed headers.
import type { AddressObject } from 'mailparser';
import { simpleParser } from 'mailparser';
import { SMTPServer, type SMTPServerSession } from 'smtp-server';
import { type Fault, FaultBox, isAfterCommit } from './shared/faults.js';
import { Recorder } from './shared/records.js';

/** Options of the SMTP simulator. */
export interface SmtpSimulatorOptions {
  /** The accepted AUTH user and password (default agents@example.com / smtp-sim-password). */
  user?: string;
  password?: string;
  /** Refuse mail from clients that did not AUTH (default false: AUTH is optional). */
  requireAuth?: boolean;
}

/** A message as the simulator received it. */
export interface SmtpMessage {
  /** MAIL FROM and RCPT TO exactly as given in the envelope. */
  envelope: { mailFrom: string; rcptTo: string[] };
  /** The AUTH user, when the client authenticated. */
  user?: string;
  raw: Buffer;
  /** Headers and body parts as mailparser reads them. */
  parsed: {
    from: string;
    to: string[];
    cc: string[];
    bcc: string[];
    replyTo: string[];
    subject: string;
    messageId: string;
    text: string;
    html: string | false;
    attachments: number;
    headers: Record<string, string>;
  };
  at: string;
}

/**
 * Fault stages: `connect` (greeting), `mail` (MAIL FROM), `rcpt` (each RCPT TO), `data` (end of DATA).
 * `{status: 4xx|5xx}` answers that code; `{hang:true}` never answers; `{drop:true}` closes the socket;
 * `{rateLimit: s}` answers 421; at `data`, `{dropAfterCommit:true}` accepts the message and then cuts the
 * connection before the 250 reply, `{delayAfterCommit: ms}` accepts it and replies that much later.
 */
export type SmtpStage = 'connect' | 'mail' | 'rcpt' | 'data';

const addrs = (a: AddressObject | AddressObject[] | undefined) =>
  (Array.isArray(a) ? a : a ? [a] : []).flatMap((x) => x.value.map((v) => v.address ?? ''));

/** Simulates an SMTP relay; point nodemailer at `url` (smtp://user:pass@127.0.0.1:port). */
export class SmtpSimulator extends FaultBox {
  /** Requests (one per SMTP stage) and what agents sent. */
  readonly recorder = new Recorder();
  /** Every message accepted, oldest first. */
  readonly messages: SmtpMessage[] = [];
  readonly user: string;
  readonly password: string;
  #server: SMTPServer;
  #port = 0;
  #host = '127.0.0.1';

  constructor(opts: SmtpSimulatorOptions = {}) {
    super();
    this.user = opts.user ?? 'agents@example.com';
    this.password = opts.password ?? 'smtp-sim-password';
    this.#server = new SMTPServer({
      name: 'smtp.simulator.mcp-fleet.local',
      banner: 'mcp-fleet SMTP simulator (nothing is delivered)',
      logger: false,
      secure: false,
      disabledCommands: ['STARTTLS'],
      allowInsecureAuth: true,
      authOptional: !opts.requireAuth,
      authMethods: ['PLAIN', 'LOGIN'],
      size: 25 * 1024 * 1024,
      closeTimeout: 50,
      onConnect: (session, cb) => this.#stage('connect', session, {}, cb),
      onAuth: (auth, _session, cb) => {
        if (auth.username === this.user && auth.password === this.password)
          return cb(null, { user: auth.username });
        const err = Object.assign(new Error('Authentication credentials invalid'), { responseCode: 535 });
        return cb(err);
      },
      onMailFrom: (address, session, cb) => this.#stage('mail', session, { mailFrom: address.address }, cb),
      onRcptTo: (address, session, cb) => this.#stage('rcpt', session, { rcptTo: address.address }, cb),
      onData: (stream, session, cb) => {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          const raw = Buffer.concat(chunks);
          const after = this.#stage('data', session, { bytes: raw.length }, (err) => {
            if (err) return cb(err);
            this.#accept(raw, session).then(
              async (id) => {
                // An after-commit fault: the message is accepted (in `messages` and the outbox), then
                // its 250 reply is late, or never comes (the connection is cut).
                if (after && 'delayAfterCommit' in after)
                  await new Promise((resolve) => setTimeout(resolve, after.delayAfterCommit).unref());
                if (after && 'dropAfterCommit' in after) return this.#drop(session);
                cb(null, `Message queued as ${id}`);
              },
              (e: Error) => cb(Object.assign(e, { responseCode: 451 })),
            );
          });
        });
      },
    });
    this.#server.on('error', () => {});
  }

  /** Requests received, one per stage, oldest first (no passwords). */
  get requests() {
    return this.recorder.requests;
  }
  /** Everything agents sent, oldest first. */
  get outbox() {
    return this.recorder.outbox;
  }
  /** The port listened on. */
  get port(): number {
    return this.#port;
  }
  /** `smtp://user:pass@host:port` for SMTP_URL and nodemailer. */
  get url(): string {
    return `smtp://${encodeURIComponent(this.user)}:${encodeURIComponent(this.password)}@${this.#host}:${this.#port}`;
  }
  /** `smtp://host:port` without credentials (for clients that do not AUTH). */
  get plainUrl(): string {
    return `smtp://${this.#host}:${this.#port}`;
  }

  /** Starts listening (port 0 by default picks a free one); resolves to `url`. */
  async start(opts: { port?: number; host?: string } = {}): Promise<string> {
    this.#host = opts.host ?? '127.0.0.1';
    await new Promise<void>((resolve, reject) => {
      this.#server.server.once('error', reject);
      this.#server.listen(opts.port ?? 0, this.#host, () => resolve());
    });
    const addr = this.#server.server.address();
    this.#port = typeof addr === 'object' && addr ? addr.port : 0;
    return this.url;
  }

  /** Stops listening and cuts open sessions (hung ones included). */
  async close(): Promise<void> {
    for (const c of this.#connections()) c._socket?.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #connections(): { id: string; _socket?: { destroy(): void } }[] {
    const set = (
      this.#server as unknown as { connections?: Set<{ id: string; _socket?: { destroy(): void } }> }
    ).connections;
    return set ? [...set] : [];
  }

  /**
   * Records the stage and applies its fault. An after-commit fault lets the stage go on and is returned,
   * for DATA to apply once the message is accepted (at the other stages it is answered normally).
   */
  #stage(
    stage: SmtpStage,
    session: SMTPServerSession,
    params: object,
    cb: (err?: Error | null) => void,
  ): Fault | undefined {
    this.recorder.request({ operation: `smtp.${stage}`, method: 'SMTP', path: stage, params, headers: {} });
    const fault: Fault | undefined = this.take(stage);
    if (!fault || isAfterCommit(fault)) {
      cb();
      return fault;
    }
    if ('hang' in fault) return;
    if ('drop' in fault) {
      this.#drop(session);
      return;
    }
    const code = 'status' in fault ? fault.status : 'rateLimit' in fault ? 421 : 554;
    const msg =
      'status' in fault
        ? (fault.message ??
          (code >= 500 ? 'Requested action not taken (simulated)' : 'Try again later (simulated)'))
        : 'error' in fault
          ? fault.error
          : 'Too many messages, try again later (simulated)';
    cb(Object.assign(new Error(msg), { responseCode: code }));
  }

  /** Cuts the session's connection without a reply. */
  #drop(session: SMTPServerSession): void {
    for (const c of this.#connections()) if (c.id === session.id) c._socket?.destroy();
  }

  async #accept(raw: Buffer, session: SMTPServerSession): Promise<string> {
    const p = await simpleParser(raw);
    const headers: Record<string, string> = {};
    for (const line of p.headerLines) headers[line.key] = line.line.slice(line.line.indexOf(':') + 1).trim();
    const msg: SmtpMessage = {
      envelope: {
        mailFrom: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
        rcptTo: session.envelope.rcptTo.map((r) => r.address),
      },
      raw,
      parsed: {
        from: p.from?.text ?? '',
        to: addrs(p.to),
        cc: addrs(p.cc),
        bcc: addrs(p.bcc),
        replyTo: p.replyTo ? p.replyTo.value.map((v) => v.address ?? '') : [],
        subject: p.subject ?? '',
        messageId: p.messageId ?? '',
        text: p.text ?? '',
        html: p.html ?? false,
        attachments: p.attachments.length,
        headers,
      },
      at: new Date().toISOString(),
    };
    if (typeof session.user === 'string') msg.user = session.user;
    this.messages.push(msg);
    this.recorder.sent({
      system: 'email',
      kind: 'email',
      destination: msg.envelope.rcptTo.join(', '),
      upstreamId: msg.parsed.messageId,
      title: msg.parsed.subject,
      text: msg.parsed.text,
      extra: {
        mailFrom: msg.envelope.mailFrom,
        from: msg.parsed.from,
        cc: msg.parsed.cc,
        attachments: msg.parsed.attachments,
      },
    });
    return msg.parsed.messageId || `sim-${this.messages.length}`;
  }
}
