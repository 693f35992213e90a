// The admin server's SCIM 2.0 client (RFC 7644) on Node's fetch (undici): every request with the
// call's AbortSignal and a per-attempt timeout, through the directory's circuit breaker; reads retried
// after a timeout, a 5xx or a 429 (with backoff, honouring Retry-After, never past the call's
// deadline); writes sent once — a write that may have reached the directory (a 5xx, a dropped
// connection, no answer in time, a 2xx that is not SCIM) is `uncertain`, never retried. Answers are
// parsed with zod; ids are re-validated before they go into a path. The Bearer token is only ever in
// the Authorization header: never logged, never in an error, and redirects are refused so it is never
// sent elsewhere.
import {
  isUpstreamFailure,
  type Logger,
  signalledFetch,
  UpstreamBreaker,
  UpstreamFailure,
  upstreamCall,
} from '@mcp-fleet/core';
import { z } from 'zod';
import type { ScimConfig } from './config.js';
import { classifyScimAnswer, classifyScimNetworkError, SCIM_SYSTEM } from './errors.js';
import { isScimId, scimId } from './ids.js';

const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
/** The largest answer read (bytes): a directory answer beyond it is broken, not parsed. */
const MAX_ANSWER_BYTES = 2 * 1024 * 1024;
/** Most group members inspected when looking for another active admin. */
export const MAX_ADMIN_LOOKUPS = 50;

const text = (max: number) => z.string().max(max);
const bool = z
  .union([z.boolean(), z.enum(['true', 'false', 'True', 'False'])])
  .transform((v) => v === true || v === 'true' || v === 'True');

const userSchema = z.object({
  id: scimId,
  userName: text(1024).min(1),
  externalId: text(1024).optional(),
  displayName: text(1024).optional(),
  name: z
    .object({
      givenName: text(1024).optional(),
      familyName: text(1024).optional(),
      formatted: text(2048).optional(),
    })
    .optional(),
  emails: z
    .array(z.object({ value: text(1024), primary: z.boolean().optional() }))
    .max(50)
    .optional(),
  active: bool.optional(),
  groups: z
    .array(z.object({ value: scimId, display: text(1024).optional() }))
    .max(5000)
    .optional(),
  meta: z.object({ version: text(256).optional() }).optional(),
});
const groupSchema = z.object({
  id: scimId,
  displayName: text(1024),
  members: z
    .array(z.object({ value: scimId }))
    .max(100_000)
    .optional(),
  meta: z.object({ version: text(256).optional() }).optional(),
});
const listSchema = <T extends z.ZodType>(item: T) =>
  z.object({
    totalResults: z.number().int().min(0),
    Resources: z.array(item).max(1000).optional(),
  });

/** A user as the tools see it. */
export interface DirectoryUser {
  id: string;
  userName: string;
  externalId: string | undefined;
  displayName: string | undefined;
  emails: string[];
  /** undefined when the directory did not say. */
  active: boolean | undefined;
  /** The groups the directory lists on the user (undefined: it does not list them). */
  groups: { id: string; display: string | undefined }[] | undefined;
  /** meta.version (ETag) for If-Match. */
  version: string | undefined;
}

/** A group as the tools see it. */
export interface DirectoryGroup {
  id: string;
  displayName: string;
  /** Member ids (undefined when not requested). */
  members: string[] | undefined;
  version: string | undefined;
}

/** The bounds of one connector call. */
export interface CallOptions {
  signal: AbortSignal;
  /** When the last attempt must have ended (ms since the epoch). */
  deadline?: number;
  /** The not-found message. */
  notFound?: string;
}

type Kind = 'read' | 'write';

interface Answer {
  status: number;
  body: unknown;
  etag: string | null;
}

const toUser = (u: z.output<typeof userSchema>): DirectoryUser => ({
  id: u.id,
  userName: u.userName,
  externalId: u.externalId,
  displayName: u.displayName ?? u.name?.formatted,
  emails: (u.emails ?? []).map((e) => e.value),
  active: u.active,
  groups: u.groups?.map((g) => ({ id: g.value, display: g.display })),
  version: u.meta?.version,
});

const toGroup = (g: z.output<typeof groupSchema>, etag?: string | null): DirectoryGroup => ({
  id: g.id,
  displayName: g.displayName,
  members: g.members?.map((m) => m.value),
  version: g.meta?.version ?? etag ?? undefined,
});

/** A SCIM filter string literal: JSON string rules, so `"` and `\` in a name are escaped. */
export const scimLiteral = (v: string): string => JSON.stringify(v);

/** The directory over SCIM 2.0, for the user tools. */
export class ScimClient {
  /** The directory's circuit breaker (readiness, metrics). */
  readonly breaker: UpstreamBreaker;
  readonly #config: ScimConfig & { baseUrl: string; token: string };
  readonly #logger: Logger | undefined;

  constructor(config: ScimConfig, logger?: Logger) {
    if (config.baseUrl === undefined || config.token === undefined)
      throw new Error('ScimClient needs SCIM_BASE_URL and SCIM_TOKEN');
    this.#config = config as ScimConfig & { baseUrl: string; token: string };
    this.#logger = logger;
    this.breaker = new UpstreamBreaker(SCIM_SYSTEM, {
      threshold: config.breakerThreshold,
      halfOpenAfterMs: config.breakerHalfOpenMs,
    });
  }

  /** Readiness probe: /ServiceProviderConfig answers with the token. */
  async probe(signal: AbortSignal = AbortSignal.timeout(this.#config.timeoutMs * 2)): Promise<void> {
    await this.#run('read', { signal }, (s) => this.#send('GET', '/ServiceProviderConfig', {}, s, 'read'));
  }

  /** The user whose userName is `userName` (case-insensitive, as SCIM compares it), or undefined. */
  async findUser(userName: string, o: CallOptions): Promise<DirectoryUser | undefined> {
    const a = await this.#run('read', o, (s) =>
      this.#send(
        'GET',
        '/Users',
        { query: { filter: `userName eq ${scimLiteral(userName)}`, startIndex: '1', count: '2' } },
        s,
        'read',
      ),
    );
    const list = this.#parse(listSchema(userSchema), a.body, 'read');
    // The filter is the directory's; the exact match is checked here again.
    const hits = (list.Resources ?? []).filter((u) => u.userName.toLowerCase() === userName.toLowerCase());
    if (hits.length > 1)
      throw new UpstreamFailure(
        SCIM_SYSTEM,
        'rejected',
        'the directory has more than one user with that user name',
        {
          read: true,
        },
      );
    return hits[0] ? toUser(hits[0]) : undefined;
  }

  /** One user by id. */
  async getUser(id: string, o: CallOptions): Promise<DirectoryUser> {
    const a = await this.#run('read', o, (s) => this.#send('GET', `/Users/${this.#id(id)}`, {}, s, 'read'));
    const u = toUser(this.#parse(userSchema, a.body, 'read'));
    if (u.id !== id) throw this.#broken('read', 'the directory answered with another user');
    return { ...u, version: u.version ?? a.etag ?? undefined };
  }

  /** The group whose displayName is exactly `displayName` (members not included), or undefined. */
  async findGroup(displayName: string, o: CallOptions): Promise<DirectoryGroup | undefined> {
    const a = await this.#run('read', o, (s) =>
      this.#send(
        'GET',
        '/Groups',
        {
          query: {
            filter: `displayName eq ${scimLiteral(displayName)}`,
            excludedAttributes: 'members',
            startIndex: '1',
            count: '10',
          },
        },
        s,
        'read',
      ),
    );
    const list = this.#parse(listSchema(groupSchema), a.body, 'read');
    const exact = (list.Resources ?? []).filter((g) => g.displayName === displayName);
    if (exact.length > 1)
      throw new UpstreamFailure(
        SCIM_SYSTEM,
        'rejected',
        'the directory has more than one group with that name',
        {
          read: true,
        },
      );
    return exact[0] ? toGroup({ ...exact[0], members: undefined }) : undefined;
  }

  /** One group by id, with its members. */
  async getGroup(id: string, o: CallOptions): Promise<DirectoryGroup> {
    const a = await this.#run('read', o, (s) => this.#send('GET', `/Groups/${this.#id(id)}`, {}, s, 'read'));
    const g = toGroup(this.#parse(groupSchema, a.body, 'read'), a.etag);
    if (g.id !== id) throw this.#broken('read', 'the directory answered with another group');
    return g;
  }

  /** The groups `userId` is a member of, when the user resource does not list them. */
  async groupsOfUser(userId: string, o: CallOptions): Promise<{ id: string; display: string }[]> {
    const a = await this.#run('read', o, (s) =>
      this.#send(
        'GET',
        '/Groups',
        {
          query: {
            filter: `members.value eq ${scimLiteral(this.#id(userId))}`,
            excludedAttributes: 'members',
            startIndex: '1',
            count: '200',
          },
        },
        s,
        'read',
      ),
    );
    const list = this.#parse(listSchema(groupSchema), a.body, 'read');
    if (list.totalResults > (list.Resources ?? []).length)
      throw this.#broken('read', 'the user is in more groups than one page of the directory holds');
    return (list.Resources ?? []).map((g) => ({ id: g.id, display: g.displayName }));
  }

  /**
   * Sets `active` to false (PATCH replace, If-Match the version read). Resolves when the directory
   * confirmed it; an answer that does not confirm it is `uncertain`.
   */
  async deactivate(user: DirectoryUser, o: CallOptions): Promise<void> {
    const a = await this.#run('write', o, (s) =>
      this.#send(
        'PATCH',
        `/Users/${this.#id(user.id)}`,
        {
          body: { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'active', value: false }] },
          ifMatch: user.version,
        },
        s,
        'write',
      ),
    );
    if (a.status === 204) return;
    const u = this.#parse(userSchema, a.body, 'write');
    if (u.id !== user.id || u.active !== false)
      throw this.#broken(
        'write',
        'the directory answered the change without confirming the user is inactive',
      );
  }

  /** Deletes the user (DELETE, If-Match the version read). */
  async deleteUser(user: DirectoryUser, o: CallOptions): Promise<void> {
    await this.#run('write', o, (s) =>
      this.#send('DELETE', `/Users/${this.#id(user.id)}`, { ifMatch: user.version }, s, 'write'),
    );
  }

  /** Adds the user to, or removes them from, one group (PATCH members; If-Match when a version is given). */
  async changeMembership(
    group: { id: string; version?: string | undefined },
    userId: string,
    change: 'add' | 'remove',
    o: CallOptions & { ifMatch?: boolean },
  ): Promise<void> {
    const id = this.#id(userId);
    const op =
      change === 'add'
        ? { op: 'add', path: 'members', value: [{ value: id }] }
        : { op: 'remove', path: `members[value eq ${scimLiteral(id)}]` };
    await this.#run('write', o, (s) =>
      this.#send(
        'PATCH',
        `/Groups/${this.#id(group.id)}`,
        { body: { schemas: [PATCH_OP], Operations: [op] }, ifMatch: o.ifMatch ? group.version : undefined },
        s,
        'write',
      ),
    );
  }

  /**
   * Whether the group has an active member other than `exceptUserId` (looking at most at
   * MAX_ADMIN_LOOKUPS members; past that, answers false: the caller then refuses, fail closed).
   */
  async hasOtherActiveMember(group: DirectoryGroup, exceptUserId: string, o: CallOptions): Promise<boolean> {
    const others = (group.members ?? []).filter((m) => m !== exceptUserId).slice(0, MAX_ADMIN_LOOKUPS);
    for (const id of others) {
      try {
        const u = await this.getUser(id, o);
        if (u.active === true) return true;
      } catch (err) {
        if (isUpstreamFailure(err) && err.kind === 'not_found') continue;
        throw err;
      }
    }
    return false;
  }

  #id(id: string): string {
    if (!isScimId(id)) throw this.#broken('read', 'the directory gave an id this server does not follow');
    return id;
  }

  #broken(kind: Kind, message: string): UpstreamFailure {
    return kind === 'read'
      ? new UpstreamFailure(SCIM_SYSTEM, 'unavailable', message, { read: true })
      : new UpstreamFailure(SCIM_SYSTEM, 'uncertain', `${message}; the change may or may not have happened`);
  }

  #parse<T extends z.ZodType>(schema: T, body: unknown, kind: Kind): z.output<T> {
    const r = schema.safeParse(body);
    if (!r.success)
      throw this.#broken(
        kind,
        'the directory answered with something that is not the expected SCIM resource',
      );
    return r.data;
  }

  /** One HTTP exchange; throws UpstreamFailure for an error answer or a non-SCIM answer. */
  async #send(
    method: 'GET' | 'PATCH' | 'DELETE',
    path: string,
    p: { query?: Record<string, string>; body?: unknown; ifMatch?: string | undefined },
    signal: AbortSignal,
    kind: Kind,
  ): Promise<Answer> {
    const url = new URL(`${this.#config.baseUrl}${path}`);
    for (const [k, v] of Object.entries(p.query ?? {})) url.searchParams.set(k, v);
    const headers: Record<string, string> = {
      authorization: `Bearer ${this.#config.token}`,
      accept: 'application/scim+json, application/json',
    };
    if (p.body !== undefined) headers['content-type'] = 'application/scim+json';
    if (p.ifMatch !== undefined) headers['if-match'] = p.ifMatch;
    // signalledFetch: an HTTP span, and the call's traceparent to the directory (issue 16).
    const res = await signalledFetch(url, {
      method,
      headers,
      signal,
      redirect: 'error',
      ...(p.body !== undefined ? { body: JSON.stringify(p.body) } : {}),
    });
    const declared = Number(res.headers.get('content-length') ?? '0');
    if (declared > MAX_ANSWER_BYTES) {
      await res.body?.cancel().catch(() => {});
      throw this.#broken(kind, 'the directory answer is too large');
    }
    const raw = await res.text();
    if (raw.length > MAX_ANSWER_BYTES) throw this.#broken(kind, 'the directory answer is too large');
    let body: unknown;
    const json = /^application\/(scim\+)?json\b/i.test(res.headers.get('content-type') ?? '');
    if (raw !== '' && json) {
      try {
        body = JSON.parse(raw);
      } catch {
        body = undefined;
      }
    }
    if (!res.ok)
      throw classifyScimAnswer(res.status, body, res.headers.get('retry-after'), { read: kind === 'read' });
    if (res.status !== 204 && (body === undefined || !json) && method !== 'DELETE')
      throw this.#broken(kind, 'the directory answered without a SCIM JSON body');
    return { status: res.status, body, etag: res.headers.get('etag') };
  }

  /**
   * One request through core's upstreamCall: the breaker, the per-attempt timeout, reads retried
   * (readRetries), writes sent once. The directory's own rules: a cancelled read sent nothing, a read's
   * not-found carries the tool's message, a failed write is settled by SCIM's list of "not processed"
   * answers (and logged, without its message).
   */
  #run<T>(kind: Kind, o: CallOptions, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
    return upstreamCall(
      {
        system: SCIM_SYSTEM,
        who: 'the directory',
        breaker: this.breaker,
        timeoutMs: this.#config.timeoutMs,
        signal: o.signal,
        deadline: o.deadline,
        kind,
        retries: kind === 'read' ? this.#config.readRetries : 0,
        classify: (err) => classifyScimNetworkError(err, kind === 'read'),
        settle:
          kind === 'write'
            ? (f) => {
                const final = writeOutcome(f);
                this.#logger?.warn({ kind: final.kind, status: final.status }, 'SCIM write failed');
                return final;
              }
            : (f) => withNotFound(f, o.notFound),
        cancelledReadNotSent: true,
      },
      fn,
    );
  }
}

const withNotFound = (f: UpstreamFailure, notFound: string | undefined) =>
  notFound !== undefined && f.kind === 'not_found'
    ? new UpstreamFailure(SCIM_SYSTEM, 'not_found', notFound, { status: f.status, read: true })
    : f;

/** Answers by which a directory says it processed nothing. */
const NOT_PROCESSED = new Set([400, 401, 403, 404, 405, 409, 412, 413, 415, 422, 429]);

/**
 * A failed write: refused by the directory (a NOT_PROCESSED status) or never sent (a paused breaker):
 * nothing happened. Anything else — a 5xx, a 3xx, no answer in time, a dropped connection, a 2xx that
 * is not SCIM — leaves the outcome unknown: `uncertain`, said as such, never retried.
 */
function writeOutcome(f: UpstreamFailure): UpstreamFailure {
  if (f.kind === 'uncertain') return f;
  if (f.notSent || (f.status !== undefined && NOT_PROCESSED.has(f.status)))
    return new UpstreamFailure(f.system, f.kind, f.message, {
      status: f.status,
      notSent: true,
      ...(f.retryAfterMs !== undefined ? { retryAfterMs: f.retryAfterMs } : {}),
    });
  return new UpstreamFailure(SCIM_SYSTEM, 'uncertain', `no clear answer to the change (${f.message})`, {
    ...(f.status !== undefined ? { status: f.status } : {}),
  });
}
