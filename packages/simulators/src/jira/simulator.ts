// The Jira Cloud REST v3 simulator: Basic auth (email:api_token), projects, create metadata, issues with
// ADF descriptions and comments, issue properties, and the enhanced JQL search (`/rest/api/3/search/jql`).
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Fault } from '../shared/faults.js';
import { HttpSimulator } from '../shared/http.js';
import {
  commentJson,
  commentPage,
  commentProperties,
  createFields,
  issueJson,
  issueTypeJson,
  JIRA_ACCOUNT,
  JiraError,
  list,
  projectJson,
  userJson,
  validateCreate,
} from './issues.js';
import { searchIssues } from './jql.js';
import { adf, adfText, isAdf, type JiraIssue, type JiraProject, seedIssues, seedProjects } from './seed.js';

/** Options of the Jira simulator. */
export interface JiraSimulatorOptions {
  /** Accepted Basic credentials (default agents@example.com / jira-sim-api-token). */
  email?: string;
  apiToken?: string;
}

type Q = Record<string, string | string[] | undefined>;
type Handler = (req: FastifyRequest, reply: FastifyReply) => unknown;

const NOT_FOUND = 'Issue does not exist or you do not have permission to see it.';

/** Simulates a Jira Cloud site with projects SUP, OPS and SEC; point jira.js's `host` at `url`. */
export class JiraSimulator extends HttpSimulator {
  protected readonly standalonePrefix = '';
  readonly projects: JiraProject[] = seedProjects();
  /** Every issue, seeded and created, in creation order. */
  readonly issues: JiraIssue[] = seedIssues();
  readonly email: string;
  readonly apiToken: string;
  #revoked = false;
  #nextId = 10_300;

  constructor(opts: JiraSimulatorOptions = {}) {
    super();
    this.email = opts.email ?? 'agents@example.com';
    this.apiToken = opts.apiToken ?? 'jira-sim-api-token';
  }

  /** From now on the API token answers 401 (pass false to restore it). */
  revokeToken(revoked = true): void {
    this.#revoked = revoked;
  }

  /** An issue by key (current or from before a move) or id. */
  issue(ref: string): JiraIssue | undefined {
    const k = ref.toUpperCase();
    return this.issues.find((i) => i.key === k || i.id === ref || i.formerKeys?.includes(k));
  }

  /**
   * Moves an issue to another project as Jira does: it gets the next key there and keeps answering
   * to its old key. Returns the new key.
   */
  moveIssue(ref: string, project: string): string {
    const i = this.issue(ref);
    if (!i) throw new Error(`no issue ${ref}`);
    if (!this.projects.some((p) => p.key === project)) throw new Error(`no project ${project}`);
    i.formerKeys = [...(i.formerKeys ?? []), i.key];
    i.key = `${project}-${this.#nextNumber(project)}`;
    i.project = project;
    return i.key;
  }

  /**
   * Holds the next request of `operation` for `ms` before Jira sees it (a proxy or queue in front of
   * the site), then runs it even if the client gave up meanwhile: a request that lands late. The
   * promise resolves once the held request has been handled (its change landed, or it was refused).
   */
  holdNext(operation: string, ms: number): Promise<void> {
    return new Promise((resolve) => {
      const list = this.#holds.get(operation) ?? [];
      list.push({ ms, done: resolve });
      this.#holds.set(operation, list);
    });
  }
  readonly #holds = new Map<string, { ms: number; done: () => void }[]>();

  #nextNumber(project: string): number {
    const numbers = this.issues.flatMap((i) =>
      [i.key, ...(i.formerKeys ?? [])]
        .filter((k) => k.startsWith(`${project}-`))
        .map((k) => Number(k.split('-')[1])),
    );
    return numbers.reduce((m, n) => Math.max(m, n), 0) + 1;
  }

  protected faultReply(reply: FastifyReply, fault: Fault): FastifyReply {
    if ('rateLimit' in fault) {
      return reply
        .code(429)
        .header('retry-after', String(fault.rateLimit))
        .send({ errorMessages: ['Rate limit exceeded.'], errors: {} });
    }
    if ('status' in fault)
      return reply
        .code(fault.status)
        .send({ errorMessages: [fault.message ?? 'Service unavailable (simulated).'], errors: {} });
    if ('error' in fault) return reply.code(401).send({ errorMessages: [fault.error], errors: {} });
    return reply;
  }

  protected routes(s: FastifyInstance): void {
    const r = (method: 'GET' | 'POST' | 'PUT', url: string, op: string, fn: Handler) =>
      s.route({ method, url, handler: (req, reply) => this.#run(op, req, reply, fn) });
    const base = () => this.url;
    r('GET', '/rest/api/3/myself', 'myself', () => ({
      ...userJson(base()),
      emailAddress: this.email,
      timeZone: 'UTC',
      locale: 'en_US',
    }));
    r('GET', '/rest/api/3/serverInfo', 'serverInfo', () => ({
      baseUrl: base(),
      version: '1001.0.0-SNAPSHOT',
      deploymentType: 'Cloud',
      serverTitle: 'Jira (mcp-fleet simulator)',
    }));
    r('GET', '/rest/api/3/project/search', 'project.search', (req) => {
      const q = req.query as Q;
      const keys = list(q.keys);
      const values = this.projects
        .filter((p) => !keys || keys.includes(p.key))
        .map((p) => projectJson(base(), p));
      return {
        self: `${base()}/rest/api/3/project/search`,
        maxResults: 50,
        startAt: 0,
        total: values.length,
        isLast: true,
        values,
      };
    });
    r('GET', '/rest/api/3/project/:key', 'project.get', (req) => projectJson(base(), this.#project(req)));
    r('GET', '/rest/api/3/issue/createmeta/:key/issuetypes', 'createmeta.issuetypes', (req) => {
      const types = this.#project(req).issueTypes.map((t) => issueTypeJson(base(), t));
      return { issueTypes: types, maxResults: 50, startAt: 0, total: types.length };
    });
    r('GET', '/rest/api/3/issue/createmeta/:key/issuetypes/:typeId', 'createmeta.fields', (req) => {
      const p = this.#project(req);
      const t = p.issueTypes
        .map((n) => issueTypeJson(base(), n))
        .find((x) => x.id === (req.params as { typeId: string }).typeId);
      if (!t) throw new JiraError(404, ['Issue type with id does not exist in the project.']);
      const fields = createFields(t.name);
      return { fields, results: fields, maxResults: 50, startAt: 0, total: fields.length };
    });
    for (const v of ['2', '3'])
      r('POST', `/rest/api/${v}/issue`, 'issue.create', (req, reply) => this.#create(req, reply, v === '2'));
    r('GET', '/rest/api/3/issue/:key', 'issue.get', (req) => {
      const q = req.query as Q;
      return issueJson(base(), this.projects, this.#issue(req), list(q.fields), list(q.properties));
    });
    for (const v of ['2', '3'])
      r('POST', `/rest/api/${v}/issue/:key/comment`, 'comment.add', (req, reply) =>
        this.#comment(req, reply, v === '2'),
      );
    r('GET', '/rest/api/3/issue/:key/comment', 'comment.list', (req) => {
      const i = this.#issue(req);
      const q = req.query as Q;
      return commentPage(
        base(),
        i,
        q.orderBy === '-created',
        list(q.expand)?.includes('properties') ?? false,
        q,
      );
    });
    r('GET', '/rest/api/3/issue/:key/comment/:id', 'comment.get', (req) => {
      const i = this.#issue(req);
      const c = i.comments.find((x) => x.id === (req.params as { id: string }).id);
      if (!c) throw new JiraError(404, ['Can not find a comment for the id.']);
      return commentJson(base(), i, c);
    });
    r('GET', '/rest/api/3/issue/:key/properties', 'property.keys', (req) => {
      const i = this.#issue(req);
      return {
        keys: [...i.properties.keys()].map((key) => ({
          key,
          self: `${base()}/rest/api/3/issue/${i.id}/properties/${key}`,
        })),
      };
    });
    r('GET', '/rest/api/3/issue/:key/properties/:prop', 'property.get', (req) => {
      const i = this.#issue(req);
      const key = (req.params as { prop: string }).prop;
      if (!i.properties.has(key))
        throw new JiraError(404, [`The property with key '${key}' does not exist.`]);
      return { key, value: i.properties.get(key) };
    });
    r('PUT', '/rest/api/3/issue/:key/properties/:prop', 'property.set', (req, reply) => {
      const i = this.#issue(req);
      const key = (req.params as { prop: string }).prop;
      if (key.length > 255)
        throw new JiraError(400, ['The property key must be between 1 and 255 characters.']);
      const existed = i.properties.has(key);
      i.properties.set(key, req.body);
      return reply.code(existed ? 200 : 201).send();
    });
    r('GET', '/rest/api/3/search/jql', 'search', (req) =>
      searchIssues(req.query as Q, this.projects, this.issues, this.url),
    );
    r('POST', '/rest/api/3/search/jql', 'search', (req) =>
      searchIssues((req.body ?? {}) as Q, this.projects, this.issues, this.url),
    );
  }

  async #run(op: string, req: FastifyRequest, reply: FastifyReply, fn: Handler) {
    const hold = this.#holds.get(op)?.shift();
    if (!hold) return this.#handle(op, req, reply, fn);
    await new Promise((resolve) => setTimeout(resolve, hold.ms).unref());
    try {
      return await this.#handle(op, req, reply, fn);
    } finally {
      hold.done();
    }
  }

  async #handle(op: string, req: FastifyRequest, reply: FastifyReply, fn: Handler) {
    const params = {
      ...(req.params as object),
      ...(req.query as object),
      ...(req.body && typeof req.body === 'object' ? { body: req.body } : {}),
    };
    if (await this.intercept(req, reply, op, params)) return reply;
    const auth = req.headers.authorization ?? '';
    const creds = auth.startsWith('Basic ') ? Buffer.from(auth.slice(6), 'base64').toString('utf8') : '';
    if (creds !== `${this.email}:${this.apiToken}` || this.#revoked) {
      return reply
        .code(401)
        .send({ errorMessages: ['Client must be authenticated to access this resource.'], errors: {} });
    }
    try {
      const answer = await fn(req, reply);
      if (await this.afterCommit(req, reply)) return reply;
      return answer;
    } catch (err) {
      if (err instanceof JiraError)
        return reply.code(err.status).send({ errorMessages: err.errorMessages, errors: err.errors });
      throw err;
    }
  }

  #project(req: FastifyRequest): JiraProject {
    const key = (req.params as { key: string }).key;
    const p = this.projects.find((x) => x.key === key.toUpperCase() || x.id === key);
    if (!p) throw new JiraError(404, [`No project could be found with key '${key}'.`]);
    return p;
  }

  #issue(req: FastifyRequest): JiraIssue {
    const i = this.issue((req.params as { key: string }).key);
    if (!i) throw new JiraError(404, [NOT_FOUND]);
    return i;
  }

  #create(req: FastifyRequest, reply: FastifyReply, v2: boolean) {
    const c = validateCreate(req.body, this.projects, v2);
    const n = this.#nextNumber(c.project.key);
    const now = new Date().toISOString().replace('Z', '+0000');
    const issue: JiraIssue = {
      id: String(this.#nextId++),
      key: `${c.project.key}-${n}`,
      project: c.project.key,
      issueType: c.type.name,
      summary: c.summary,
      description: c.description,
      labels: c.labels,
      priority: c.priority,
      status: 'To Do',
      extra: c.extra,
      created: now,
      updated: now,
      comments: [],
      properties: new Map(c.properties),
    };
    this.issues.push(issue);
    this.recorder.sent({
      system: 'jira',
      kind: 'issue',
      destination: `${c.project.key} (${c.type.name})`,
      upstreamId: issue.key,
      title: issue.summary,
      text: adfText(issue.description),
      extra: { labels: issue.labels, properties: Object.fromEntries(issue.properties) },
    });
    // Returned, not sent: an after-commit fault may still hold or drop the answer.
    reply.code(201);
    return { id: issue.id, key: issue.key, self: `${this.url}/rest/api/3/issue/${issue.id}` };
  }

  #comment(req: FastifyRequest, reply: FastifyReply, v2: boolean) {
    const i = this.#issue(req);
    const body = (req.body as { body?: unknown } | undefined)?.body;
    const doc = isAdf(body) ? body : v2 && typeof body === 'string' ? adf(body) : null;
    if (!doc) throw new JiraError(400, [], { comment: 'Comment body is not valid!' });
    if (!adfText(doc).trim()) throw new JiraError(400, [], { comment: 'Comment body can not be empty!' });
    const c = {
      id: String(this.#nextId++),
      body: doc,
      created: new Date().toISOString().replace('Z', '+0000'),
      author: JIRA_ACCOUNT.displayName,
      properties: new Map(commentProperties(req.body)),
    };
    i.comments.push(c);
    this.recorder.sent({
      system: 'jira',
      kind: 'comment',
      destination: i.key,
      upstreamId: `${i.key}#${c.id}`,
      title: `comment on ${i.key}`,
      text: adfText(doc),
      extra: { properties: Object.fromEntries(c.properties) },
    });
    reply.code(201);
    return commentJson(this.url, i, c);
  }
}
