// The SCIM 2.0 simulator (RFC 7643 / RFC 7644) of the company's user directory, as Okta and Entra ID
// speak it to a provisioning client: Bearer token auth, `application/scim+json`, /Users (filter
// `userName eq "…"`, startIndex/count paging, POST, GET, PUT, PATCH with PatchOp add/replace/remove —
// Okta's `{op:"replace", value:{active:false}}` and Entra's `{op:"Replace", path:"active", value:"False"}`
// alike — DELETE 204), /Groups (GET, PATCH members add/remove/replace, `members[value eq "…"]`),
// /ServiceProviderConfig, /ResourceTypes, /Schemas; SCIM error bodies (`status` as a string,
// `scimType`); weak ETags in meta.version honoured in If-Match; Okta-like ids (`00u…`, `00g…`).
// Seeded from DEMO_PEOPLE / DEMO_GROUPS. The control plane of every simulator (requests, faults)
// is at /_simulator; `failAfterCommit` makes a write land and then answer an error.
import { createHash, randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Fault } from '../shared/faults.js';
import { createApp, HttpSimulator, type ListenOptions, originOf } from '../shared/http.js';
import { DEMO_GROUPS, DEMO_PEOPLE, type DemoGroup, type DemoPerson } from '../vendors/demo-people.js';
import { parseScimFilter, type ScimComparison, ScimFilterError } from './filter.js';

/** The simulator's fixed facts. */
export const SCIM_SIM = {
  /** The Bearer token the simulator accepts (SCIM_TOKEN of the local fleet). */
  token: 'scim-sim-token-fleet-admin',
  /** The local fleet's port (FLEET_SCIM_SIM_PORT). */
  port: 7415,
  /** The path of the SCIM API under the simulator's origin. */
  basePath: '/scim/v2',
} as const;

export const SCIM_SCHEMAS = {
  user: 'urn:ietf:params:scim:schemas:core:2.0:User',
  group: 'urn:ietf:params:scim:schemas:core:2.0:Group',
  list: 'urn:ietf:params:scim:api:messages:2.0:ListResponse',
  patch: 'urn:ietf:params:scim:api:messages:2.0:PatchOp',
  error: 'urn:ietf:params:scim:api:messages:2.0:Error',
  spc: 'urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig',
  resourceType: 'urn:ietf:params:scim:schemas:core:2.0:ResourceType',
  schema: 'urn:ietf:params:scim:schemas:core:2.0:Schema',
} as const;

const SCIM_JSON = 'application/scim+json; charset=utf-8';
const MAX_COUNT = 200;

/** A user as the simulator stores it. */
export interface ScimSimUser {
  id: string;
  externalId?: string;
  userName: string;
  givenName: string;
  familyName: string;
  displayName: string;
  emails: string[];
  active: boolean;
  created: string;
  lastModified: string;
  version: number;
}

/** A group as the simulator stores it (members by user id). */
export interface ScimSimGroup {
  id: string;
  displayName: string;
  description?: string;
  members: string[];
  created: string;
  lastModified: string;
  version: number;
}

/** Options of the simulator. */
export interface ScimSimulatorOptions {
  /** The accepted Bearer token (default SCIM_SIM.token). */
  token?: string;
  /** The people to seed (default DEMO_PEOPLE). */
  people?: readonly DemoPerson[];
  /** The groups to seed (default DEMO_GROUPS). */
  groups?: readonly DemoGroup[];
}

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const base62 = (bytes: Uint8Array, n: number) =>
  Array.from(bytes.slice(0, n), (b) => BASE62[b % 62]).join('');

/** An Okta-like id: `00u…` (users) or `00g…` (groups), 20 characters; stable for a seed name. */
export function oktaLikeId(kind: 'user' | 'group', seed?: string): string {
  const bytes =
    seed === undefined ? randomBytes(32) : createHash('sha256').update(`${kind}:${seed}`).digest();
  return `00${kind === 'user' ? 'u' : 'g'}${base62(bytes, 17)}`;
}

/** A SCIM error a handler throws (answered as SCIM's Error message). */
export class ScimError extends Error {
  constructor(
    readonly status: number,
    readonly scimType: string | undefined,
    detail: string,
  ) {
    super(detail);
  }
}

const lower = (s: string) => s.toLowerCase();
const etag = (v: number) => `W/"${v}"`;

/** Simulates a SCIM 2.0 service provider (the company's directory). */
export class ScimSimulator extends HttpSimulator {
  protected readonly standalonePrefix = '';
  readonly token: string;
  /** Users by id, in creation order. */
  readonly users = new Map<string, ScimSimUser>();
  /** Groups by id, in creation order. */
  readonly groups = new Map<string, ScimSimGroup>();
  /** Writes that changed the directory (each applied create/replace/patch/delete). */
  writes = 0;
  readonly #afterCommitStatus = new Map<string, number[]>();
  #origin = '';

  constructor(opts: ScimSimulatorOptions = {}) {
    super();
    this.token = opts.token ?? SCIM_SIM.token;
    const now = new Date('2026-01-05T09:00:00.000Z').toISOString();
    for (const p of opts.people ?? DEMO_PEOPLE) {
      const u: ScimSimUser = {
        id: oktaLikeId('user', p.userName),
        userName: p.userName,
        givenName: p.givenName,
        familyName: p.familyName,
        displayName: p.displayName,
        emails: [p.email],
        active: p.active,
        created: now,
        lastModified: now,
        version: 1,
      };
      this.users.set(u.id, u);
    }
    for (const g of opts.groups ?? DEMO_GROUPS) {
      const members = (opts.people ?? DEMO_PEOPLE)
        .filter((p) => p.groups.includes(g.displayName))
        .map((p) => oktaLikeId('user', p.userName));
      const group: ScimSimGroup = {
        id: oktaLikeId('group', g.displayName),
        displayName: g.displayName,
        description: g.description,
        members,
        created: now,
        lastModified: now,
        version: 1,
      };
      this.groups.set(group.id, group);
    }
  }

  /** The SCIM base URL (`<origin>/scim/v2`), known once listening. */
  get baseUrl(): string {
    return `${this.url}${SCIM_SIM.basePath}`;
  }

  override listening(origin: string): void {
    this.#origin = origin;
    super.listening(origin);
  }

  /** The user with this userName (case-insensitive, as SCIM compares userName). */
  userByName(userName: string): ScimSimUser | undefined {
    return [...this.users.values()].find((u) => lower(u.userName) === lower(userName));
  }

  /** The group with this displayName (exact). */
  groupByName(displayName: string): ScimSimGroup | undefined {
    return [...this.groups.values()].find((g) => g.displayName === displayName);
  }

  /** The displayNames of the groups `userName` is a member of, sorted. */
  groupsOf(userName: string): string[] {
    const u = this.userByName(userName);
    if (!u) return [];
    return [...this.groups.values()]
      .filter((g) => g.members.includes(u.id))
      .map((g) => g.displayName)
      .sort();
  }

  /** Requests that were not reads (POST, PUT, PATCH, DELETE on the SCIM API), oldest first. */
  get writeRequests() {
    return this.requests.filter((r) => r.method !== 'GET' && !r.path.includes('/_simulator'));
  }

  /**
   * The next `operation` (`users.patch`, `users.delete`, `groups.patch`...) applies its change and then
   * answers `status` with a SCIM error (a 5xx after the write: the client cannot know it landed).
   */
  failAfterCommit(operation: string, status: number): void {
    const list = this.#afterCommitStatus.get(operation) ?? [];
    list.push(status);
    this.#afterCommitStatus.set(operation, list);
  }

  /** Forget every fault, after-commit statuses included. */
  override clearFaults(): void {
    super.clearFaults();
    this.#afterCommitStatus.clear();
  }

  protected routes(scope: FastifyInstance): void {
    const parseJson = (_req: FastifyRequest, body: string, done: (e: Error | null, v?: unknown) => void) => {
      if (body === '') return done(null, undefined);
      try {
        done(null, JSON.parse(body));
      } catch {
        done(new ScimError(400, 'invalidSyntax', 'The request body is not valid JSON.'));
      }
    };
    scope.removeContentTypeParser('application/json');
    scope.addContentTypeParser('application/json', { parseAs: 'string' }, (r, b, d) =>
      parseJson(r, String(b), d),
    );
    scope.addContentTypeParser('application/scim+json', { parseAs: 'string' }, (r, b, d) =>
      parseJson(r, String(b), d),
    );
    scope.setErrorHandler((err, _req, reply) => {
      if (err instanceof ScimError) return this.#error(reply, err.status, err.scimType, err.message);
      const status = (err as { statusCode?: number }).statusCode ?? 500;
      return this.#error(reply, status, status === 400 ? 'invalidSyntax' : undefined, 'The request failed.');
    });
    scope.addHook('onSend', async (_req, reply) => {
      reply.header('x-simulator', 'mcp-fleet scim simulator');
    });
    const base = SCIM_SIM.basePath;
    const on = (
      method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
      url: string,
      operation: string,
      fn: (req: FastifyRequest, reply: FastifyReply) => unknown,
    ) =>
      scope.route({
        method,
        url: `${base}${url}`,
        handler: (req, reply) => this.#handle(req, reply, operation, method !== 'GET', fn),
      });

    on('GET', '/ServiceProviderConfig', 'config.spc', () => this.#serviceProviderConfig());
    on('GET', '/ResourceTypes', 'config.resourceTypes', () => this.#list(this.#resourceTypes(), 1, 100));
    on('GET', '/Schemas', 'config.schemas', () => this.#list(this.#schemas(), 1, 100));

    on('GET', '/Users', 'users.list', (req) => {
      const q = (req.query ?? {}) as Record<string, string | undefined>;
      const filter = q.filter === undefined ? [] : this.#filter(q.filter, 'User');
      const all = [...this.users.values()].filter((u) => filter.every((c) => this.#userMatches(u, c)));
      return this.#list(
        all.map((u) => this.#renderUser(u)),
        q.startIndex,
        q.count,
      );
    });
    on('POST', '/Users', 'users.create', (req, reply) => {
      const body = this.#object(req.body);
      const now = new Date().toISOString();
      const u: ScimSimUser = {
        id: oktaLikeId('user'),
        userName: '',
        givenName: '',
        familyName: '',
        displayName: '',
        emails: [],
        active: true,
        created: now,
        lastModified: now,
        version: 1,
      };
      this.#assignUser(u, body, true);
      this.users.set(u.id, u);
      this.writes++;
      reply.code(201).header('location', this.#location('Users', u.id));
      return this.#renderUser(u);
    });
    on('GET', '/Users/:id', 'users.get', (req) => this.#renderUser(this.#user(req)));
    on('PUT', '/Users/:id', 'users.replace', (req) => {
      const u = this.#user(req);
      this.#precondition(req, u.version);
      const next = { ...u, emails: [...u.emails] };
      this.#assignUser(next, this.#object(req.body), true);
      this.#commitUser(next);
      return this.#renderUser(next);
    });
    on('PATCH', '/Users/:id', 'users.patch', (req) => {
      const u = this.#user(req);
      this.#precondition(req, u.version);
      const next = { ...u, emails: [...u.emails] };
      for (const op of this.#patchOps(req.body)) this.#patchUser(next, op);
      this.#commitUser(next);
      return this.#renderUser(next);
    });
    on('DELETE', '/Users/:id', 'users.delete', (req, reply) => {
      const u = this.#user(req);
      this.#precondition(req, u.version);
      this.users.delete(u.id);
      for (const g of this.groups.values())
        if (g.members.includes(u.id))
          this.#touchGroup(
            g,
            g.members.filter((m) => m !== u.id),
          );
      this.writes++;
      reply.code(204);
      return null;
    });

    on('GET', '/Groups', 'groups.list', (req) => {
      const q = (req.query ?? {}) as Record<string, string | undefined>;
      const filter = q.filter === undefined ? [] : this.#filter(q.filter, 'Group');
      const all = [...this.groups.values()].filter((g) => filter.every((c) => this.#groupMatches(g, c)));
      const excluded = (q.excludedAttributes ?? '').toLowerCase().split(',').includes('members');
      return this.#list(
        all.map((g) => this.#renderGroup(g, excluded)),
        q.startIndex,
        q.count,
      );
    });
    on('GET', '/Groups/:id', 'groups.get', (req) => this.#renderGroup(this.#group(req), false));
    on('PATCH', '/Groups/:id', 'groups.patch', (req) => {
      const g = this.#group(req);
      this.#precondition(req, g.version);
      let members = [...g.members];
      let displayName = g.displayName;
      for (const op of this.#patchOps(req.body)) {
        const r = this.#patchGroup(members, displayName, op);
        members = r.members;
        displayName = r.displayName;
      }
      if (displayName !== g.displayName && this.groupByName(displayName))
        throw new ScimError(409, 'uniqueness', `A group named "${displayName}" already exists.`);
      g.displayName = displayName;
      this.#touchGroup(g, members);
      this.writes++;
      return this.#renderGroup(g, false);
    });

    scope.get('/_simulator/state', async () => ({
      users: [...this.users.values()].map((u) => ({
        id: u.id,
        userName: u.userName,
        active: u.active,
        groups: this.groupsOf(u.userName),
      })),
      groups: [...this.groups.values()].map((g) => ({
        id: g.id,
        displayName: g.displayName,
        members: g.members.map((m) => this.users.get(m)?.userName ?? m),
      })),
    }));
    scope.setNotFoundHandler((req, reply) =>
      this.#handle(req, reply, 'unknown', false, () => {
        throw new ScimError(404, undefined, `Unknown endpoint ${req.method} ${req.url.split('?')[0]}.`);
      }),
    );
  }

  protected faultReply(reply: FastifyReply, fault: Fault): FastifyReply {
    if ('rateLimit' in fault) {
      if (fault.rateLimit > 0) reply.header('retry-after', String(fault.rateLimit));
      return this.#error(reply, 429, undefined, 'Too many requests.');
    }
    if ('status' in fault)
      return this.#error(reply, fault.status, undefined, fault.message ?? 'Injected failure.');
    if ('error' in fault) return this.#error(reply, 400, fault.error, `The request failed: ${fault.error}`);
    return reply;
  }

  #error(reply: FastifyReply, status: number, scimType: string | undefined, detail: string): FastifyReply {
    if (status === 401) reply.header('www-authenticate', 'Bearer realm="scim"');
    return reply
      .code(status)
      .type(SCIM_JSON)
      .send({
        schemas: [SCIM_SCHEMAS.error],
        status: String(status),
        ...(scimType ? { scimType } : {}),
        detail,
      });
  }

  async #handle(
    req: FastifyRequest,
    reply: FastifyReply,
    operation: string,
    write: boolean,
    fn: (req: FastifyRequest, reply: FastifyReply) => unknown,
  ): Promise<FastifyReply> {
    const params = { query: req.query, body: req.body, params: req.params };
    if (await this.intercept(req, reply, operation, params)) return reply;
    const auth = req.headers.authorization ?? '';
    const m = /^Bearer +(\S+)$/i.exec(auth);
    if (!m) return this.#error(reply, 401, undefined, 'Authentication required: a Bearer token.');
    if (m[1] !== this.token) return this.#error(reply, 401, undefined, 'The Bearer token is not valid.');
    let out: unknown;
    try {
      out = fn(req, reply);
    } catch (err) {
      if (err instanceof ScimError) return this.#error(reply, err.status, err.scimType, err.message);
      throw err;
    }
    if (write) {
      const status = this.#afterCommitStatus.get(operation)?.shift();
      if (status !== undefined)
        return this.#error(reply, status, undefined, 'Injected failure after the change.');
      if (await this.afterCommit(req, reply)) return reply;
    }
    const version = (out as { meta?: { version?: string } } | null)?.meta?.version;
    if (version) reply.header('etag', version);
    if (out === null) return reply.send();
    return reply.type(SCIM_JSON).send(out);
  }

  #filter(filter: string, resource: 'User' | 'Group'): ScimComparison[] {
    try {
      return parseScimFilter(filter, resource);
    } catch (err) {
      if (err instanceof ScimFilterError) throw new ScimError(400, 'invalidFilter', err.message);
      throw err;
    }
  }

  #userMatches(u: ScimSimUser, c: ScimComparison): boolean {
    const v = c.value;
    switch (c.attr) {
      case 'username':
        return typeof v === 'string' && lower(u.userName) === lower(v);
      case 'externalid':
        return u.externalId === v;
      case 'id':
        return u.id === v;
      case 'emails.value':
        return typeof v === 'string' && u.emails.some((e) => lower(e) === lower(v));
      case 'active':
        return u.active === v;
      case 'displayname':
        return u.displayName === v;
      default:
        return false;
    }
  }

  #groupMatches(g: ScimSimGroup, c: ScimComparison): boolean {
    switch (c.attr) {
      case 'displayname':
        return typeof c.value === 'string' && lower(g.displayName) === lower(c.value);
      case 'id':
        return g.id === c.value;
      case 'members.value':
        return typeof c.value === 'string' && g.members.includes(c.value);
      default:
        return false;
    }
  }

  #list(resources: unknown[], startIndexRaw: unknown, countRaw: unknown) {
    const int = (v: unknown, def: number) => {
      if (v === undefined) return def;
      const n = Number(v);
      if (!Number.isInteger(n))
        throw new ScimError(400, 'invalidValue', 'startIndex and count must be integers.');
      return n;
    };
    const startIndex = Math.max(1, int(startIndexRaw, 1));
    const count = Math.min(MAX_COUNT, Math.max(0, int(countRaw, 100)));
    const page = resources.slice(startIndex - 1, startIndex - 1 + count);
    return {
      schemas: [SCIM_SCHEMAS.list],
      totalResults: resources.length,
      startIndex,
      itemsPerPage: page.length,
      Resources: page,
    };
  }

  #location(kind: 'Users' | 'Groups', id: string) {
    return `${this.#origin}${SCIM_SIM.basePath}/${kind}/${id}`;
  }

  #renderUser(u: ScimSimUser) {
    const groups = [...this.groups.values()]
      .filter((g) => g.members.includes(u.id))
      .map((g) => ({
        value: g.id,
        display: g.displayName,
        $ref: this.#location('Groups', g.id),
        type: 'direct',
      }));
    return {
      schemas: [SCIM_SCHEMAS.user],
      id: u.id,
      ...(u.externalId !== undefined ? { externalId: u.externalId } : {}),
      userName: u.userName,
      name: {
        givenName: u.givenName,
        familyName: u.familyName,
        formatted: `${u.givenName} ${u.familyName}`.trim(),
      },
      displayName: u.displayName,
      emails: u.emails.map((value, i) => ({ value, type: 'work', primary: i === 0 })),
      active: u.active,
      groups,
      meta: {
        resourceType: 'User',
        created: u.created,
        lastModified: u.lastModified,
        location: this.#location('Users', u.id),
        version: etag(u.version),
      },
    };
  }

  #renderGroup(g: ScimSimGroup, excludeMembers: boolean) {
    return {
      schemas: [SCIM_SCHEMAS.group],
      id: g.id,
      displayName: g.displayName,
      ...(excludeMembers
        ? {}
        : {
            members: g.members.map((m) => ({
              value: m,
              display: this.users.get(m)?.displayName ?? m,
              $ref: this.#location('Users', m),
              type: 'User',
            })),
          }),
      meta: {
        resourceType: 'Group',
        created: g.created,
        lastModified: g.lastModified,
        location: this.#location('Groups', g.id),
        version: etag(g.version),
      },
    };
  }

  #user(req: FastifyRequest): ScimSimUser {
    const id = (req.params as { id: string }).id;
    const u = this.users.get(id);
    if (!u) throw new ScimError(404, undefined, `Resource ${id} not found.`);
    return u;
  }

  #group(req: FastifyRequest): ScimSimGroup {
    const id = (req.params as { id: string }).id;
    const g = this.groups.get(id);
    if (!g) throw new ScimError(404, undefined, `Resource ${id} not found.`);
    return g;
  }

  #precondition(req: FastifyRequest, version: number): void {
    const h = req.headers['if-match'];
    if (h === undefined) return;
    const tags = String(h)
      .split(',')
      .map((t) => t.trim());
    if (tags.includes('*') || tags.includes(etag(version))) return;
    throw new ScimError(412, undefined, 'Failed to update. Resource changed on the server.');
  }

  #object(body: unknown): Record<string, unknown> {
    if (body === null || typeof body !== 'object' || Array.isArray(body))
      throw new ScimError(400, 'invalidSyntax', 'The request body must be a JSON object.');
    return body as Record<string, unknown>;
  }

  #commitUser(next: ScimSimUser): void {
    next.version += 1;
    next.lastModified = new Date().toISOString();
    this.users.set(next.id, next);
    this.writes++;
  }

  #touchGroup(g: ScimSimGroup, members: string[]): void {
    g.members = members;
    g.version += 1;
    g.lastModified = new Date().toISOString();
  }

  #checkUserName(u: ScimSimUser, userName: unknown): string {
    if (typeof userName !== 'string' || userName.trim() === '')
      throw new ScimError(400, 'invalidValue', 'userName is required and must be a non-empty string.');
    const other = this.userByName(userName);
    if (other && other.id !== u.id)
      throw new ScimError(
        409,
        'uniqueness',
        'One or more of the attribute values are already in use or are reserved.',
      );
    return userName;
  }

  /** Applies a full representation (POST, PUT): userName required; readOnly attributes ignored. */
  #assignUser(u: ScimSimUser, body: Record<string, unknown>, full: boolean): void {
    const get = (k: string) => Object.entries(body).find(([key]) => lower(key) === lower(k))?.[1];
    u.userName = this.#checkUserName(u, get('userName'));
    const name = (get('name') ?? {}) as Record<string, unknown>;
    if (full) {
      u.givenName = typeof name.givenName === 'string' ? name.givenName : '';
      u.familyName = typeof name.familyName === 'string' ? name.familyName : '';
      const dn = get('displayName');
      u.displayName = typeof dn === 'string' ? dn : `${u.givenName} ${u.familyName}`.trim();
      const ext = get('externalId');
      if (typeof ext === 'string') u.externalId = ext;
      else delete u.externalId;
      u.emails = this.#emails(get('emails'));
      const active = get('active');
      u.active = active === undefined ? true : this.#bool(active, 'active');
    }
  }

  #emails(v: unknown): string[] {
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v)) throw new ScimError(400, 'invalidValue', 'emails must be a list.');
    return v.map((e) => {
      const value = (e as { value?: unknown })?.value;
      if (typeof value !== 'string') throw new ScimError(400, 'invalidValue', 'every email needs a value.');
      return value;
    });
  }

  /** A boolean as clients send it: true/false, or Entra's "True"/"False" strings. */
  #bool(v: unknown, what: string): boolean {
    if (typeof v === 'boolean') return v;
    if (typeof v === 'string' && /^(true|false)$/i.test(v)) return lower(v) === 'true';
    throw new ScimError(400, 'invalidValue', `${what} must be a boolean.`);
  }

  #patchOps(body: unknown): { op: 'add' | 'replace' | 'remove'; path: string | undefined; value: unknown }[] {
    const b = this.#object(body);
    const schemas = b.schemas;
    if (!Array.isArray(schemas) || !schemas.includes(SCIM_SCHEMAS.patch))
      throw new ScimError(
        400,
        'invalidSyntax',
        `A PATCH request must carry the schema ${SCIM_SCHEMAS.patch}.`,
      );
    const ops = b.Operations ?? b.operations;
    if (!Array.isArray(ops) || ops.length === 0)
      throw new ScimError(400, 'invalidSyntax', 'Operations must be a non-empty list.');
    return ops.map((raw) => {
      const o = this.#object(raw);
      const op = typeof o.op === 'string' ? lower(o.op) : '';
      if (op !== 'add' && op !== 'replace' && op !== 'remove')
        throw new ScimError(400, 'invalidSyntax', `Unknown operation "${String(o.op)}".`);
      if (o.path !== undefined && typeof o.path !== 'string')
        throw new ScimError(400, 'invalidPath', 'path must be a string.');
      return { op, path: o.path as string | undefined, value: o.value };
    });
  }

  #patchUser(u: ScimSimUser, o: { op: string; path: string | undefined; value: unknown }): void {
    if (o.path === undefined) {
      if (o.op === 'remove') throw new ScimError(400, 'noTarget', 'A remove operation needs a path.');
      const v = this.#object(o.value);
      for (const [k, val] of Object.entries(v)) this.#setUserAttr(u, lower(k), val);
      return;
    }
    const path = lower(o.path);
    if (o.op === 'remove') {
      if (path === 'displayname') u.displayName = '';
      else if (path === 'externalid') delete u.externalId;
      else if (path === 'emails') u.emails = [];
      else if (path === 'username' || path === 'active')
        throw new ScimError(400, 'mutability', `${o.path} cannot be removed.`);
      else throw new ScimError(400, 'invalidPath', `Unsupported path "${o.path}".`);
      return;
    }
    this.#setUserAttr(u, path, o.value);
  }

  #setUserAttr(u: ScimSimUser, attr: string, v: unknown): void {
    switch (attr) {
      case 'active':
        u.active = this.#bool(v, 'active');
        return;
      case 'username':
        u.userName = this.#checkUserName(u, v);
        return;
      case 'displayname':
        if (typeof v !== 'string') throw new ScimError(400, 'invalidValue', 'displayName must be a string.');
        u.displayName = v;
        return;
      case 'externalid':
        if (typeof v !== 'string') throw new ScimError(400, 'invalidValue', 'externalId must be a string.');
        u.externalId = v;
        return;
      case 'name': {
        const n = this.#object(v);
        for (const [k, val] of Object.entries(n)) this.#setUserAttr(u, `name.${lower(k)}`, val);
        return;
      }
      case 'name.givenname':
      case 'name.familyname':
        if (typeof v !== 'string') throw new ScimError(400, 'invalidValue', `${attr} must be a string.`);
        if (attr === 'name.givenname') u.givenName = v;
        else u.familyName = v;
        return;
      case 'name.formatted':
        return;
      case 'emails':
        u.emails = this.#emails(v);
        return;
      case 'groups':
        throw new ScimError(400, 'mutability', "groups is read-only; change a group's members instead.");
      default:
        throw new ScimError(400, 'invalidPath', `Unsupported attribute "${attr}".`);
    }
  }

  #memberIds(v: unknown): string[] {
    if (!Array.isArray(v)) throw new ScimError(400, 'invalidValue', 'members must be a list of {value}.');
    return v.map((m) => {
      const id = (m as { value?: unknown })?.value;
      if (typeof id !== 'string') throw new ScimError(400, 'invalidValue', 'every member needs a value.');
      if (!this.users.has(id)) throw new ScimError(400, 'invalidValue', `No user with id ${id}.`);
      return id;
    });
  }

  #patchGroup(
    members: string[],
    displayName: string,
    o: { op: string; path: string | undefined; value: unknown },
  ): { members: string[]; displayName: string } {
    const path = o.path === undefined ? undefined : o.path.trim();
    if (path === undefined) {
      if (o.op === 'remove') throw new ScimError(400, 'noTarget', 'A remove operation needs a path.');
      const v = this.#object(o.value);
      for (const [k, val] of Object.entries(v)) {
        if (lower(k) === 'displayname' && typeof val === 'string' && val !== '') displayName = val;
        else if (lower(k) === 'members') {
          const ids = this.#memberIds(val);
          members = o.op === 'replace' ? [...new Set(ids)] : [...new Set([...members, ...ids])];
        } else throw new ScimError(400, 'invalidPath', `Unsupported attribute "${k}".`);
      }
      return { members, displayName };
    }
    const filtered = /^members\[\s*value\s+eq\s+"([^"\\]*)"\s*\]$/i.exec(path);
    if (filtered) {
      if (o.op !== 'remove')
        throw new ScimError(400, 'invalidPath', 'Only remove takes a members filter here.');
      return { members: members.filter((m) => m !== filtered[1]), displayName };
    }
    if (lower(path) === 'displayname') {
      if (o.op === 'remove' || typeof o.value !== 'string' || o.value === '')
        throw new ScimError(400, 'invalidValue', 'displayName must be a non-empty string.');
      return { members, displayName: o.value };
    }
    if (lower(path) !== 'members') throw new ScimError(400, 'invalidPath', `Unsupported path "${o.path}".`);
    if (o.op === 'remove') {
      if (o.value === undefined) return { members: [], displayName };
      const ids = new Set(
        (Array.isArray(o.value) ? o.value : []).map((m) => (m as { value?: unknown })?.value),
      );
      return { members: members.filter((m) => !ids.has(m)), displayName };
    }
    const ids = this.#memberIds(o.value);
    return {
      members: o.op === 'replace' ? [...new Set(ids)] : [...new Set([...members, ...ids])],
      displayName,
    };
  }

  #serviceProviderConfig() {
    return {
      schemas: [SCIM_SCHEMAS.spc],
      documentationUri: 'https://datatracker.ietf.org/doc/html/rfc7644',
      patch: { supported: true },
      bulk: { supported: false, maxOperations: 0, maxPayloadSize: 0 },
      filter: { supported: true, maxResults: MAX_COUNT },
      changePassword: { supported: false },
      sort: { supported: false },
      etag: { supported: true },
      authenticationSchemes: [
        {
          type: 'oauthbearertoken',
          name: 'OAuth Bearer Token',
          description: 'Authentication with a Bearer token in the Authorization header',
          primary: true,
        },
      ],
      meta: {
        resourceType: 'ServiceProviderConfig',
        location: `${this.#origin}${SCIM_SIM.basePath}/ServiceProviderConfig`,
      },
    };
  }

  #resourceTypes() {
    return [
      { name: 'User', endpoint: '/Users', schema: SCIM_SCHEMAS.user },
      { name: 'Group', endpoint: '/Groups', schema: SCIM_SCHEMAS.group },
    ].map((r) => ({
      schemas: [SCIM_SCHEMAS.resourceType],
      id: r.name,
      name: r.name,
      endpoint: r.endpoint,
      schema: r.schema,
      meta: {
        resourceType: 'ResourceType',
        location: `${this.#origin}${SCIM_SIM.basePath}/ResourceTypes/${r.name}`,
      },
    }));
  }

  #schemas() {
    const attr = (name: string, type: string, extra: Record<string, unknown> = {}) => ({
      name,
      type,
      multiValued: false,
      required: false,
      caseExact: false,
      mutability: 'readWrite',
      returned: 'default',
      uniqueness: 'none',
      ...extra,
    });
    return [
      {
        schemas: [SCIM_SCHEMAS.schema],
        id: SCIM_SCHEMAS.user,
        name: 'User',
        attributes: [
          attr('userName', 'string', { required: true, uniqueness: 'server' }),
          attr('displayName', 'string'),
          attr('active', 'boolean'),
          attr('emails', 'complex', { multiValued: true }),
          attr('groups', 'complex', { multiValued: true, mutability: 'readOnly' }),
        ],
      },
      {
        schemas: [SCIM_SCHEMAS.schema],
        id: SCIM_SCHEMAS.group,
        name: 'Group',
        attributes: [
          attr('displayName', 'string', { required: true }),
          attr('members', 'complex', { multiValued: true }),
        ],
      },
    ];
  }
}

/** A SCIM simulator listening alone. */
export interface StartedScimSimulator {
  simulator: ScimSimulator;
  /** `http://127.0.0.1:<port>` */
  url: string;
  /** `http://127.0.0.1:<port>/scim/v2` (SCIM_BASE_URL). */
  baseUrl: string;
  token: string;
  close(): Promise<void>;
}

/** Starts the SCIM simulator on `port` (0 or unset: a free one). */
export async function startScimSimulator(
  opts: ListenOptions & ScimSimulatorOptions = {},
): Promise<StartedScimSimulator> {
  const simulator = new ScimSimulator(opts);
  const app = createApp();
  await simulator.register(app, '');
  const host = opts.host ?? '127.0.0.1';
  await app.listen({ port: opts.port ?? 0, host });
  simulator.listening(originOf(app, host));
  return {
    simulator,
    url: simulator.url,
    baseUrl: simulator.baseUrl,
    token: simulator.token,
    close: () => app.close(),
  };
}
