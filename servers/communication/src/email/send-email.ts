// send_email: one message to exactly the recipients shown (to + cc, every domain allowed by policy),
// fixed sender, single-line subject, sanitised HTML, size caps, a Message-ID derived from the call.
import { createHash } from 'node:crypto';
import { ToolError } from '@mcp-fleet/core';
import { z } from 'zod';
import type { Connectors } from '../connectors.js';
import { type EmailRule, email } from '../dimensions.js';
import type { OutboundPlan, PlanContext, Planner } from '../outbound/plan.js';
import { tool } from '../tools/tool.js';
import { isUpstreamFailure, type UpstreamFailure, upstreamToolError } from '../upstream/failures.js';
import {
  destinationDenied,
  parseRecipients,
  type Recipient,
  RecipientRefusal,
  ruleProblem,
} from './addresses.js';
import { checkBodySize, checkSubject, SUBJECT_MAX_CHARS, sanitizeHtml } from './content.js';

const address = z.string().min(1).max(320);
const recipients = (what: string, min: number) =>
  z
    .union([address, z.array(address).min(min).max(500)])
    .describe(`${what}: one plain address, or an array of them`);

/** send_email's arguments. Strict: bcc, from, replyTo, headers, attachments… are refused, never ignored. */
export const sendEmailInput = z
  .object({
    to: recipients('Recipients, e.g. "alice@example.com" or ["alice@example.com", "ops@example.com"]', 1),
    cc: recipients('Copy recipients (counted with `to` against the recipient cap)', 0).optional(),
    subject: z.string().min(1).max(SUBJECT_MAX_CHARS).describe('One line, at most 250 characters'),
    text: z.string().describe('The plain-text body'),
    html: z
      .string()
      .optional()
      .describe(
        'Optional simple HTML alternative: only p, br, b, strong, i, em, u, s, ul, ol, li, h1-h4, blockquote, pre, code, hr and table tags WITHOUT attributes are kept; everything else (links, images, styles) shows as text',
      ),
  })
  .strict();

/** Validated send_email arguments. */
export type SendEmailArgs = z.output<typeof sendEmailInput>;

const output = z.object({
  messageId: z.string(),
  to: z.array(z.string()).describe('Exactly the To recipients the message was sent to'),
  cc: z.array(z.string()).describe('Exactly the Cc recipients'),
  accepted: z.array(z.string()).describe('Recipients the SMTP server accepted'),
  rejected: z
    .array(z.string())
    .describe('Recipients the SMTP server refused (the message did not reach them)'),
});

/** A call's message, checked and canonical, with its outbound plan. */
export interface PreparedEmail {
  plan: OutboundPlan;
  recipients: Recipient[];
  html: string | undefined;
}

/** Parses recipients, or answers the refusal the model sees (`destination_denied`). */
function recipientsOf(args: SendEmailArgs): Recipient[] {
  try {
    return parseRecipients(args);
  } catch (err) {
    if (err instanceof RecipientRefusal) throw destinationDenied(err.message);
    throw err;
  }
}

/** The plan's content items of one recipient argument: `[field]` for a string, `[field, i]` for an array. */
function recipientContent(field: 'to' | 'cc', v: string | string[] | undefined): OutboundPlan['content'] {
  if (v === undefined) return [];
  return Array.isArray(v) ? v.map((text, i) => ({ path: [field, i], text })) : [{ path: [field], text: v }];
}

/**
 * Checks a call completely against configuration and the granted values: subject (header_injection),
 * every recipient's parsed domain, the recipient cap and the body size of one granted value that
 * allows them all (destination_denied otherwise). Throws ToolError; pure apart from that.
 */
export function prepareEmail(
  args: SendEmailArgs,
  ctx: Pick<PlanContext, 'connectors' | 'constraints'>,
): PreparedEmail {
  checkSubject(args.subject);
  const list = recipientsOf(args);
  const { config } = ctx.connectors;
  const html = args.html === undefined ? undefined : sanitizeHtml(args.html);
  const bytes = checkBodySize(args.text, html?.html, config.emailMaxBytes);
  let onSecrets: OutboundPlan['onSecrets'] = 'refuse';
  if (ctx.constraints === null) {
    if (list.length > config.emailMaxRecipients)
      throw destinationDenied(`${list.length} recipients; at most ${config.emailMaxRecipients} are allowed.`);
  } else {
    const rules = ctx.constraints as readonly EmailRule[];
    const problems: string[] = [];
    const fitting = rules.filter((rule) => {
      const p =
        ruleProblem(list, rule, config.emailMaxRecipients) ??
        (rule.maxBytes !== undefined && bytes > rule.maxBytes
          ? `the body is ${bytes} bytes; your role may send at most ${rule.maxBytes}.`
          : null);
      if (p) problems.push(p);
      return p === null;
    });
    if (fitting.length === 0) throw destinationDenied(problems[0] ?? 'your role may not send email.');
    // Grants add up: a recipient set allowed by a grant that holds secrets for approval may be approved.
    onSecrets = fitting.some((r) => r.secrets === 'approval') ? 'approval' : 'refuse';
  }
  const content: OutboundPlan['content'] = [
    // Every recipient as the caller wrote it: an address leaves too, and can carry a secret.
    ...recipientContent('to', args.to),
    ...recipientContent('cc', args.cc),
    { path: ['subject'], text: args.subject },
    { path: ['text'], text: args.text },
  ];
  if (args.html !== undefined && html) {
    content.push({ path: ['html'], text: args.html });
    // What a reader sees (tags removed, entities decoded), so `sk_<b></b>live_…` is scanned whole.
    content.push({ path: ['html'], text: html.visibleText });
  }
  return {
    plan: { system: 'email', destinations: list.map((r) => `email:${r.address}`), content, onSecrets },
    recipients: list,
    html: html?.html,
  };
}

/** send_email's planner: destinations `email:<addr>` for every recipient, content to scan, onSecrets. */
export const emailPlan: Planner<SendEmailArgs> = async (args, ctx) => prepareEmail(args, ctx).plan;

/** The synchronous policy check: what can be decided from the arguments and one granted value alone. */
export function emailConstraintCheck(args: SendEmailArgs, rule: EmailRule): string | null {
  let list: Recipient[];
  try {
    list = parseRecipients(args);
  } catch (err) {
    if (err instanceof RecipientRefusal) return err.message;
    return 'the recipients could not be checked';
  }
  const problem = ruleProblem(list, rule, Number.POSITIVE_INFINITY);
  if (problem) return problem;
  if (rule.maxBytes !== undefined) {
    const html = args.html === undefined ? 0 : Buffer.byteLength(sanitizeHtml(args.html).html, 'utf8');
    const bytes = Buffer.byteLength(args.text, 'utf8') + html;
    if (bytes > rule.maxBytes)
      return `the body is ${bytes} bytes; your role may send at most ${rule.maxBytes}.`;
  }
  return null;
}

/** Who is calling, as far as the Message-ID needs it. */
export interface MessageIdSource {
  tenant?: string | undefined;
  agentId: string;
  session?: string | undefined;
  idempotencyKey?: string | undefined;
  requestId: string;
}

/**
 * A deterministic Message-ID at the sender's domain. With an idempotency key it depends only on the
 * caller (tenant, agent), the key and the message, so a retry is the same message to an upstream
 * that de-duplicates by Message-ID; without one, the request id makes every call its own message.
 */
export function messageIdFor(
  src: MessageIdSource,
  mail: PreparedEmail,
  args: SendEmailArgs,
  domain: string,
): string {
  const message = JSON.stringify([
    mail.recipients.map((r) => [r.field, r.address]),
    args.subject,
    args.text,
    mail.html ?? null,
  ]);
  const who = [src.tenant ?? '', src.agentId];
  const parts =
    src.idempotencyKey !== undefined
      ? ['send_email/key', ...who, src.idempotencyKey, message]
      : ['send_email/call', ...who, src.session ?? '', src.requestId, message];
  const id = createHash('sha256').update(parts.join('\u0000')).digest('hex').slice(0, 40);
  return `<${id}.mcp-fleet@${domain}>`;
}

/**
 * The answer to a send whose outcome is unknown (the connector says "may or may not have been sent"),
 * or undefined for any other failure. Not rerunSafe: SMTP delivery cannot be looked up, and a rerun
 * could deliver a second copy to an upstream that does not de-duplicate by Message-ID; so the same
 * key replays this answer, and the message says how to settle it instead.
 */
function uncertainSendError(f: UpstreamFailure, messageId: string): ToolError | undefined {
  if (!/may or may not have been sent/.test(f.message)) return undefined;
  const base = upstreamToolError(f);
  const what = f.message.replace(/;\s*the message may or may not have been sent.*$/s, '').trim();
  return new ToolError(
    `The mail server: ${what}; the message may or may not have been sent (Message-ID ${messageId}). ` +
      'It cannot be checked from here, and retrying with the same idempotency_key only repeats this answer. ' +
      'Ask a recipient, or the mail operator with the Message-ID, whether it arrived; send again with a new ' +
      'idempotency_key only if it did not (a new key sends a second copy if the first one arrived).',
    base.code,
    // The message may have been taken: audited `unknown`, not an error that sent nothing.
    { outcomeUnknown: true },
  );
}

/** send_email tool. */
export const sendEmail = tool({
  name: 'send_email',
  title: 'Send an email',
  description:
    'Sends one email from the fixed company sender to the recipients in `to` and optional `cc` (plain addresses only, ' +
    'e.g. "alice@example.com"; one address per entry; recipient domains must be allowed for your role). The subject is ' +
    'one line. No bcc, sender, reply-to, headers or attachments can be set. The result lists exactly who it was sent to ' +
    'and the Message-ID. Pass an idempotency key so a retry does not send it twice.',
  input: sendEmailInput,
  output,
  governance: { readOnly: false, commits: true, openWorld: true, timeoutMs: 30_000 },
  constraint: { dimension: email, check: emailConstraintCheck },
  toText: (d) =>
    `Sent ${d.messageId} to ${d.to.join(', ')}${d.cc.length ? ` (cc ${d.cc.join(', ')})` : ''}; accepted by the mail server for ${
      d.accepted.length ? d.accepted.join(', ') : 'nobody'
    }${d.rejected.length ? `; REFUSED for ${d.rejected.join(', ')} (not delivered to them)` : ''}.`,
  handler: async (args, ctx) => {
    const connector = ctx.connectors.email;
    if (!connector) throw new ToolError('Email is not configured on this server.', 'not_configured');
    // The same planner the governance step ran, again: only what it resolves is sent.
    const mail = prepareEmail(args, {
      connectors: ctx.connectors as Connectors,
      constraints: ctx.constraints,
    });
    const id = ctx.identity;
    const messageId = messageIdFor(
      {
        tenant: id.tenant,
        agentId: id.agentId,
        session: id.session,
        idempotencyKey: ctx.idempotencyKey,
        requestId: ctx.requestId,
      },
      mail,
      args,
      connector.senderDomain,
    );
    const to = mail.recipients.filter((r) => r.field === 'to').map((r) => r.address);
    const cc = mail.recipients.filter((r) => r.field === 'cc').map((r) => r.address);
    ctx.detail('destinations', mail.plan.destinations);
    ctx.detail('messageId', messageId);
    ctx.commit();
    let sent: Awaited<ReturnType<typeof connector.send>>;
    try {
      sent = await connector.send({
        to,
        cc,
        subject: args.subject,
        text: args.text,
        html: mail.html,
        messageId,
      });
    } catch (err) {
      if (isUpstreamFailure(err)) throw uncertainSendError(err, messageId) ?? upstreamToolError(err);
      throw err;
    }
    ctx.detail('upstreamId', sent.messageId);
    ctx.detail('smtpAccepted', sent.accepted);
    if (sent.rejected.length) ctx.detail('smtpRejected', sent.rejected);
    return { data: { messageId: sent.messageId, to, cc, accepted: sent.accepted, rejected: sent.rejected } };
  },
});
