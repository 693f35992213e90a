// The Jira Cloud backend (REST v3 through jira.js): plain text in and out as Atlassian Document
// Format, exactly-once creates and comments through an `io.mcp-fleet` entity property, every request
// through the breaker and classified into UpstreamFailure.

import {
  addComment,
  createIssue,
  getComments,
  getCurrentUser,
  getIssue,
  searchAndReconsileIssuesUsingJqlPost,
} from 'jira.js/cloud';
import type { Client } from 'jira.js/core';
import type { UpstreamBreaker } from '../upstream/breaker.js';
import { isUpstreamFailure } from '../upstream/failures.js';
import { adfToText, textToAdf } from './adf.js';
import type {
  NewTicket,
  Ticket,
  TicketBackend,
  TicketCallOptions,
  TicketComment,
  TicketLocation,
  WriteOutcome,
} from './backend.js';
import { classifyJiraError } from './jira-errors.js';
import { JiraTransport } from './jira-transport.js';
import { jqlString } from './keys.js';

/** The entity property (on issues and comments) that carries the fleet's idempotency key. */
export const FLEET_PROPERTY = 'io.mcp-fleet';

/** How a JiraBackend reaches its site. */
export interface JiraBackendOptions {
  /** Site URL, e.g. https://acme.atlassian.net (no credentials in it). */
  url: string;
  email: string;
  apiToken: string;
  /** Timeout of one request (ms). */
  timeoutMs: number;
  breaker: UpstreamBreaker;
}

/** Most recent comments searched for an earlier attempt's comment. */
const COMMENT_LOOKBACK = 100;
const ISSUE_FIELDS = [
  'summary',
  'description',
  'issuetype',
  'project',
  'status',
  'priority',
  'labels',
  'components',
  'duedate',
  'reporter',
  'assignee',
  'created',
  'updated',
];

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (v !== null && typeof v === 'object' ? (v as Obj) : {});
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const nameOf = (v: unknown): string | undefined => str(obj(v).name) ?? str(obj(v).displayName);

/** The fleet idempotency key an entity's `properties` carry, if any. */
function fleetKeyOf(properties: unknown): string | undefined {
  if (!Array.isArray(properties)) return undefined;
  const p = properties.find((x) => obj(x).key === FLEET_PROPERTY);
  return str(obj(obj(p).value).idempotencyKey);
}

/** Waits `ms`, or rejects when `signal` fires. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const t = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** Jira Cloud as a TicketBackend. */
export class JiraBackend implements TicketBackend {
  readonly source = 'jira';
  readonly #transport: JiraTransport;
  readonly #breaker: UpstreamBreaker;
  /** Writes in flight in this process, by idempotency key: concurrent identical calls share one. */
  readonly #inflight = new Map<string, Promise<WriteOutcome>>();

  constructor(opts: JiraBackendOptions) {
    this.#transport = new JiraTransport(opts);
    this.#breaker = opts.breaker;
  }

  /** One upstream request through the breaker, its failure classified. */
  #run<T>(what: string, signal: AbortSignal, fn: (client: Client) => Promise<T>): Promise<T> {
    return this.#breaker.execute(async () => {
      try {
        return await fn(this.#transport.client(signal));
      } catch (err) {
        throw classifyJiraError(err, what);
      }
    });
  }

  /** Runs a write once per key in this process; later identical calls wait for the first. */
  #once(key: string, write: () => Promise<WriteOutcome>): Promise<WriteOutcome> {
    const running = this.#inflight.get(key);
    if (running) return running.then((o) => ({ ...o, created: false }));
    const p = write().finally(() => this.#inflight.delete(key));
    this.#inflight.set(key, p);
    return p;
  }

  /** A sending request; after a 429 it is sent once more only when the wait fits before the deadline. */
  async #send<T>(what: string, opts: TicketCallOptions, fn: (client: Client) => Promise<T>): Promise<T> {
    try {
      return await this.#run(what, opts.signal, fn);
    } catch (err) {
      const wait = isUpstreamFailure(err) && err.kind === 'rate_limited' ? err.retryAfterMs : undefined;
      if (wait === undefined || opts.deadline === undefined || Date.now() + wait + 1000 > opts.deadline)
        throw err;
      await sleep(wait, opts.signal);
      return this.#run(what, opts.signal, fn);
    }
  }

  createTicket(t: NewTicket, opts: TicketCallOptions): Promise<WriteOutcome> {
    return this.#once(`issue\u0000${t.project}\u0000${t.idempotencyKey}`, async () => {
      const existing = await this.findByIdempotencyKey(t.project, t.idempotencyKey, opts);
      if (existing) return { id: existing, created: false };
      const f = t.fields;
      const fields: Obj = {
        project: { key: t.project },
        issuetype: { name: t.issueType },
        summary: t.summary,
        description: textToAdf(t.description),
        ...(f.priority !== undefined ? { priority: { name: f.priority } } : {}),
        ...(f.labels !== undefined ? { labels: f.labels } : {}),
        ...(f.components !== undefined ? { components: f.components.map((name) => ({ name })) } : {}),
        ...(f.duedate !== undefined ? { duedate: f.duedate } : {}),
      };
      opts.commit?.();
      const created = await this.#send(`the new ticket in project ${t.project}`, opts, (c) =>
        createIssue(c, {
          fields,
          properties: [{ key: FLEET_PROPERTY, value: { idempotencyKey: t.idempotencyKey } }],
        }),
      );
      const key = str(obj(created).key);
      if (!key) throw new Error('Jira created an issue but did not say its key');
      return { id: key, created: true };
    });
  }

  async findByIdempotencyKey(
    project: string,
    idempotencyKey: string,
    opts: TicketCallOptions,
  ): Promise<string | null> {
    const jql =
      `project = ${jqlString(project)} AND ` +
      `issue.property[${FLEET_PROPERTY}].idempotencyKey = ${jqlString(idempotencyKey)}`;
    const found = await this.#run(`project ${project}`, opts.signal, (c) =>
      searchAndReconsileIssuesUsingJqlPost(c, { jql, fields: ['project'], maxResults: 5 }),
    );
    const issues = obj(found).issues;
    for (const issue of Array.isArray(issues) ? issues : []) {
      const key = str(obj(issue).key);
      // Only an issue really in the project asked for counts (the search is filtered, this is a second look).
      if (key && obj(obj(obj(issue).fields).project).key === project) return key;
    }
    return null;
  }

  async locateTicket(key: string, opts: TicketCallOptions): Promise<TicketLocation | null> {
    const issue = await this.#getIssue(key, ['project'], opts);
    if (!issue) return null;
    return this.#location(key, issue);
  }

  #location(asked: string, issue: Obj): TicketLocation {
    const project = str(obj(obj(issue.fields).project).key);
    const key = str(issue.key);
    const id = str(issue.id);
    if (!project || !key || !id) throw new Error(`Jira answered ${asked} without its key, id or project`);
    return { key, id, project };
  }

  async #getIssue(key: string, fields: string[], opts: TicketCallOptions): Promise<Obj | null> {
    try {
      return obj(
        await this.#run(`issue ${key}`, opts.signal, (c) => getIssue(c, { issueIdOrKey: key, fields })),
      );
    } catch (err) {
      if (isUpstreamFailure(err) && err.status === 404) return null;
      throw err;
    }
  }

  addComment(ticket: TicketLocation, body: string, idempotencyKey: string, opts: TicketCallOptions) {
    return this.#once(`comment\u0000${ticket.id}\u0000${idempotencyKey}`, async () => {
      const page = await this.#run(`the comments of ${ticket.key}`, opts.signal, (c) =>
        getComments(c, {
          issueIdOrKey: ticket.id,
          orderBy: '-created',
          maxResults: COMMENT_LOOKBACK,
          expand: 'properties',
        }),
      );
      const comments = obj(page).comments;
      for (const cm of Array.isArray(comments) ? comments : []) {
        const id = str(obj(cm).id);
        if (id && fleetKeyOf(obj(cm).properties) === idempotencyKey) return { id, created: false };
      }
      opts.commit?.();
      const created = await this.#send(`the comment on ${ticket.key}`, opts, (c) =>
        addComment(c, {
          issueIdOrKey: ticket.id,
          body: textToAdf(body),
          properties: [{ key: FLEET_PROPERTY, value: { idempotencyKey } }],
        }),
      );
      const id = str(obj(created).id);
      if (!id) throw new Error('Jira added a comment but did not say its id');
      return { id, created: true };
    });
  }

  async getTicket(
    key: string,
    maxComments: number,
    opts: TicketCallOptions,
    guard?: (where: TicketLocation) => void,
  ): Promise<Ticket | null> {
    const issue = await this.#getIssue(key, ISSUE_FIELDS, opts);
    if (!issue) return null;
    const where = this.#location(key, issue);
    guard?.(where);
    const f = obj(issue.fields);
    let comments: TicketComment[] = [];
    let commentTotal = 0;
    if (maxComments > 0) {
      const page = obj(
        await this.#run(`the comments of ${where.key}`, opts.signal, (c) =>
          getComments(c, { issueIdOrKey: where.id, orderBy: '-created', maxResults: maxComments }),
        ),
      );
      const list = Array.isArray(page.comments) ? page.comments : [];
      // Oldest first, whatever order the site answered in; the latest `maxComments` kept.
      comments = list
        .map((cm) => ({
          id: str(obj(cm).id) ?? '',
          author: nameOf(obj(cm).author) ?? 'unknown',
          created: str(obj(cm).created) ?? '',
          body: adfToText(obj(cm).body),
        }))
        .sort((a, b) => Date.parse(a.created) - Date.parse(b.created) || Number(a.id) - Number(b.id))
        .slice(-maxComments);
      commentTotal = typeof page.total === 'number' ? page.total : list.length;
    }
    const labels = Array.isArray(f.labels) ? f.labels.filter((l): l is string => typeof l === 'string') : [];
    const components = Array.isArray(f.components)
      ? f.components.map(nameOf).filter((c): c is string => c !== undefined)
      : [];
    return {
      key: where.key,
      project: where.project,
      issueType: nameOf(f.issuetype) ?? '',
      status: nameOf(f.status) ?? '',
      summary: str(f.summary) ?? '',
      description: adfToText(f.description),
      priority: nameOf(f.priority),
      labels,
      components,
      duedate: str(f.duedate),
      reporter: nameOf(f.reporter),
      assignee: nameOf(f.assignee),
      created: str(f.created),
      updated: str(f.updated),
      comments,
      commentTotal,
    };
  }

  async readiness(): Promise<void> {
    await this.#run('the server account', AbortSignal.timeout(30_000), (c) => getCurrentUser(c));
  }
}
