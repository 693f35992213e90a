// The Jira Cloud backend (REST v3 through jira.js): plain text in and out as Atlassian Document
// Format, exactly-once creates and comments through an `io.mcp-fleet` entity property, every request
// through the breaker and classified into UpstreamFailure.

import { ToolError } from '@mcp-fleet/core';
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
  CreateOutcome,
  FoundTicket,
  NewTicket,
  Ticket,
  TicketBackend,
  TicketCallOptions,
  TicketComment,
  TicketLocation,
  WriteOutcome,
} from './backend.js';
import { ExactlyOnce, sleep } from './exactly-once.js';
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

/** Comments per page when looking for an earlier attempt's comment (newest first). */
export const COMMENT_PAGE = 100;
/**
 * Most pages read: past COMMENT_PAGE × COMMENT_PAGES comments a comment is refused, nothing sent,
 * rather than risk adding it twice (an earlier attempt's comment could be further back).
 */
export const COMMENT_PAGES = 50;
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

/** Jira Cloud as a TicketBackend. */
export class JiraBackend implements TicketBackend {
  readonly source = 'jira';
  readonly #transport: JiraTransport;
  readonly #breaker: UpstreamBreaker;
  readonly #once: ExactlyOnce;
  /** Twice the request timeout: a request without an answer is assumed able to land until then. */
  readonly settleMs: number;

  constructor(opts: JiraBackendOptions) {
    this.#transport = new JiraTransport(opts);
    this.#breaker = opts.breaker;
    this.settleMs = 2 * opts.timeoutMs;
    this.#once = new ExactlyOnce(this.settleMs, opts.timeoutMs);
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

  createTicket(t: NewTicket, opts: TicketCallOptions): Promise<CreateOutcome> {
    const find = async (): Promise<CreateOutcome | null> => {
      const found = await this.findByIdempotencyKey(t.idempotencyKey, opts);
      return found && { id: found.key, project: found.project, created: false };
    };
    return this.#once.run(`issue\u0000${t.idempotencyKey}`, 'ticket', opts, find, async () => {
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
      const created = await this.#send(`the new ticket in project ${t.project}`, opts, (c) =>
        createIssue(c, {
          fields,
          properties: [{ key: FLEET_PROPERTY, value: { idempotencyKey: t.idempotencyKey } }],
        }),
      );
      const key = str(obj(created).key);
      if (!key) throw new Error('Jira created an issue but did not say its key');
      return { id: key, project: t.project, created: true };
    });
  }

  async findByIdempotencyKey(idempotencyKey: string, opts: TicketCallOptions): Promise<FoundTicket | null> {
    // No project clause: a ticket moved after its create keeps its property and must still be found.
    // The value is scoped to the caller already; the tool checks the project before revealing it.
    const jql = `issue.property[${FLEET_PROPERTY}].idempotencyKey = ${jqlString(idempotencyKey)}`;
    const found = await this.#run('the tickets of an earlier attempt', opts.signal, (c) =>
      searchAndReconsileIssuesUsingJqlPost(c, { jql, fields: ['project'], maxResults: 5 }),
    );
    const issues = obj(found).issues;
    for (const issue of Array.isArray(issues) ? issues : []) {
      const key = str(obj(issue).key);
      const project = str(obj(obj(obj(issue).fields).project).key);
      if (key && project) return { key, project };
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
    const find = () => this.#findComment(ticket, idempotencyKey, opts);
    return this.#once.run(
      `comment\u0000${ticket.id}\u0000${idempotencyKey}`,
      'comment',
      opts,
      find,
      async () => {
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
      },
    );
  }

  /**
   * The comment an earlier attempt with this key added, paging newest first through every comment
   * (new comments arriving meanwhile only push older ones to later pages, so none is skipped). Past
   * COMMENT_PAGES pages it refuses rather than risk a second comment.
   */
  async #findComment(
    ticket: TicketLocation,
    key: string,
    opts: TicketCallOptions,
  ): Promise<WriteOutcome | null> {
    let startAt = 0;
    for (let n = 0; n < COMMENT_PAGES; n++) {
      const page = obj(
        await this.#run(`the comments of ${ticket.key}`, opts.signal, (c) =>
          getComments(c, {
            issueIdOrKey: ticket.id,
            orderBy: '-created',
            startAt,
            maxResults: COMMENT_PAGE,
            expand: 'properties',
          }),
        ),
      );
      const comments = Array.isArray(page.comments) ? page.comments : [];
      for (const cm of comments) {
        const id = str(obj(cm).id);
        if (id && fleetKeyOf(obj(cm).properties) === key) return { id, created: false };
      }
      startAt += comments.length;
      const total = typeof page.total === 'number' ? page.total : startAt;
      if (comments.length === 0 || startAt >= total) return null;
    }
    throw new ToolError(
      `${ticket.key} has more than ${COMMENT_PAGE * COMMENT_PAGES} comments, more than the server reads to make sure an ` +
        'earlier attempt of this same request did not already add this comment, so nothing was added. Read the ' +
        'newest comments with get_ticket; comment on a linked ticket if it must be said.',
      'comment_unverifiable',
    );
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
