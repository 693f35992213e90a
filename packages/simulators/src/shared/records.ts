// What every simulator records: the requests it received (secrets removed) and the outbox of what
// agents sent, which the hub merges into one page and may persist to a JSON file.
import { EventEmitter } from 'node:events';

/** One request as received, with credentials removed. */
export interface RecordedRequest {
  /** The vendor operation (`chat.postMessage`, `issue.create`, a Teams webhook id, `smtp.data`). */
  operation: string;
  /** HTTP method and path as received (SMTP: the stage). */
  method: string;
  path: string;
  /** Parameters or body as parsed (a Slack `token` parameter is removed). */
  params: unknown;
  /** Request headers without `authorization`, `cookie` and `proxy-authorization`. */
  headers: Record<string, string | string[] | undefined>;
  /** ISO time received. */
  at: string;
}

/** One thing an agent sent out, as a person would want to see it on the outbox page. */
export interface OutboxEntry {
  system: 'slack' | 'email' | 'teams' | 'jira' | (string & {});
  /** ISO time. */
  at: string;
  /** What kind of send (`post`, `update`, `reaction`, `email`, `issue`, `comment`). */
  kind: string;
  /** Where it went: `#channel (C0…)`, envelope recipients, Teams channel name, Jira key. */
  destination: string;
  /** The upstream id of what was created (Slack ts, Message-ID, Jira key, Teams channel). */
  upstreamId: string;
  /** A title line: a subject, a summary, the first words of a message. */
  title: string;
  /** The text content as sent (plain text; escaped by whoever renders it). */
  text: string;
  /** Anything else worth showing (envelope sender, cc, properties). */
  extra?: Record<string, unknown>;
}

const SECRET_HEADERS = new Set(['authorization', 'cookie', 'proxy-authorization']);

/** Headers with credentials removed, for the request log. */
export function safeHeaders(headers: Record<string, string | string[] | undefined>) {
  const out: Record<string, string | string[] | undefined> = {};
  for (const [k, v] of Object.entries(headers)) if (!SECRET_HEADERS.has(k.toLowerCase())) out[k] = v;
  return out;
}

/** The request log and outbox of one simulator; emits `'outbox'` with each new entry. */
export class Recorder extends EventEmitter<{ outbox: [OutboxEntry] }> {
  /** Every request received, oldest first. */
  readonly requests: RecordedRequest[] = [];
  /** Everything agents sent, oldest first. */
  readonly outbox: OutboxEntry[] = [];

  /** Append a request to the log. */
  request(r: Omit<RecordedRequest, 'at'>): void {
    this.requests.push({ ...r, at: new Date().toISOString() });
  }

  /** Append an entry to the outbox and tell listeners. */
  sent(e: Omit<OutboxEntry, 'at'>): void {
    const entry = { ...e, at: new Date().toISOString() };
    this.outbox.push(entry);
    this.emit('outbox', entry);
  }

  /** Forget requests and outbox (state such as created issues stays). */
  clear(): void {
    this.requests.length = 0;
    this.outbox.length = 0;
  }
}
