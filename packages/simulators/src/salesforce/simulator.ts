// The Salesforce REST API simulator: one org per demo tenant under `/orgs/<tenant>` (its instance URL;
// jsforce keeps a path in instanceUrl), each answering only its own session id. It speaks what the
// vendor-apis tools use: query (SOQL subset, paged), sobject retrieve / update / create, versions,
// limits, and the client-credentials token endpoint — with Salesforce's error bodies and codes.
import { randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Fault } from '../shared/faults.js';
import { createApp, HttpSimulator, type ListenOptions, originOf } from '../shared/http.js';
import { QUERY_BATCH, type QueryAnswer, SalesforceOrg, SfApiError } from './org.js';
import { SF_OBJECTS } from './schema.js';
import {
  orgFacts,
  SALESFORCE_TENANTS,
  type SalesforceOrgFacts,
  type SalesforceTenantName,
  type SfRecord,
} from './seed.js';
import { SoqlError } from './soql.js';

/** A tenant's org as a client connects to it. */
export interface SalesforceOrgAccess extends SalesforceOrgFacts {
  /** The org's instance URL (simulator origin + `/orgs/<tenant>`). */
  instanceUrl: string;
}

/** One request as the tests count them: which org it reached, and the SOQL it carried, decoded. */
export interface SalesforceCall {
  operation: string;
  method: string;
  path: string;
  org: string;
  soql?: string;
  object?: string;
  id?: string;
  body?: unknown;
}

const HEADER = 'mcp-fleet salesforce simulator';
const VERSIONS = ['58.0', '59.0', '60.0', '61.0', '62.0', '63.0'];

type Params = { org: string; version?: string; object?: string; id?: string; locator?: string };

/** Simulates the Salesforce REST API of the demo tenants' orgs. */
export class SalesforceSimulator extends HttpSimulator {
  protected readonly standalonePrefix = '';
  /** The orgs, by tenant; tests may change their records. */
  readonly orgs: Record<SalesforceTenantName, SalesforceOrg>;
  readonly #facts: Record<SalesforceTenantName, SalesforceOrgFacts>;
  readonly #tokens = new Map<string, string>();
  readonly #cursors = new Map<
    string,
    { org: string; answer: QueryAnswer; offset: number; version: string }
  >();

  constructor() {
    super();
    this.orgs = {} as Record<SalesforceTenantName, SalesforceOrg>;
    this.#facts = {} as Record<SalesforceTenantName, SalesforceOrgFacts>;
    SALESFORCE_TENANTS.forEach((t, i) => {
      this.orgs[t] = new SalesforceOrg(t, i + 1);
      this.#facts[t] = orgFacts(t);
      this.#tokens.set(t, this.#facts[t].accessToken);
    });
  }

  /** Each tenant's org: instance URL, session id, org id, connected app (known once listening). */
  get tenants(): Record<SalesforceTenantName, SalesforceOrgAccess> {
    const out = {} as Record<SalesforceTenantName, SalesforceOrgAccess>;
    for (const t of SALESFORCE_TENANTS)
      out[t] = {
        ...this.#facts[t],
        accessToken: this.#tokens.get(t) as string,
        instanceUrl: this.url + this.#facts[t].path,
      };
    return out;
  }

  /** The requests received, as tests count them. */
  get calls(): SalesforceCall[] {
    return this.requests.map((r) => ({
      operation: r.operation,
      method: r.method,
      path: r.path,
      ...(r.params as Omit<SalesforceCall, 'operation' | 'method' | 'path'>),
    }));
  }

  /** Expires a tenant's session: its token answers INVALID_SESSION_ID until a client-credentials login. */
  expireSession(tenant: SalesforceTenantName): void {
    this.#tokens.set(
      tenant,
      `${this.#facts[tenant].orgId.slice(0, 15)}!AQ${randomBytes(40).toString('hex')}`,
    );
  }

  protected routes(scope: FastifyInstance): void {
    scope.addHook('onRequest', async (_req, reply) => {
      reply.header('x-simulator', HEADER);
    });
    scope.addContentTypeParser(
      'application/x-www-form-urlencoded',
      { parseAs: 'string' },
      (_req, body, done) => done(null, Object.fromEntries(new URLSearchParams(String(body)))),
    );
    const data = '/orgs/:org/services/data';
    scope.get(`${data}`, (req, reply) => this.#versions(req, reply));
    scope.get(`${data}/`, (req, reply) => this.#versions(req, reply));
    scope.get(`${data}/:version/limits`, (req, reply) => this.#api(req, reply, 'limits', () => LIMITS));
    scope.get(`${data}/:version/query`, (req, reply) => this.#query(req, reply));
    scope.get(`${data}/:version/query/:locator`, (req, reply) => this.#query(req, reply));
    scope.get(`${data}/:version/sobjects/:object/:id`, (req, reply) =>
      this.#api(req, reply, 'retrieve', (org, p) => this.#retrieve(org, p, req)),
    );
    scope.patch(`${data}/:version/sobjects/:object/:id`, (req, reply) =>
      this.#api(req, reply, 'update', (org, p) => {
        org.update(this.#object(p), p.id as string, req.body);
        reply.code(204);
        return undefined;
      }),
    );
    scope.post(`${data}/:version/sobjects/:object`, (req, reply) =>
      this.#api(req, reply, 'create', (org, p) => {
        const id = org.create(this.#object(p), req.body);
        reply.code(201);
        return { id, success: true, errors: [] };
      }),
    );
    scope.post('/orgs/:org/services/oauth2/token', (req, reply) => this.#token(req, reply));
    scope.all('/orgs/:org/*', (req, reply) =>
      this.#api(req, reply, 'unsupported', () => {
        throw new SfApiError(404, 'NOT_FOUND', 'The requested resource does not exist');
      }),
    );
  }

  protected faultReply(reply: FastifyReply, fault: Fault): FastifyReply {
    if ('rateLimit' in fault)
      return reply
        .code(403)
        .header('retry-after', String(fault.rateLimit))
        .send([{ message: 'TotalRequests Limit exceeded.', errorCode: 'REQUEST_LIMIT_EXCEEDED' }]);
    if ('status' in fault) {
      const code =
        fault.status === 401
          ? 'INVALID_SESSION_ID'
          : fault.status === 404
            ? 'NOT_FOUND'
            : fault.status === 503
              ? 'SERVER_UNAVAILABLE'
              : fault.status >= 500
                ? 'UNKNOWN_EXCEPTION'
                : 'BAD_REQUEST';
      return reply
        .code(fault.status)
        .send([{ message: fault.message ?? 'An unexpected error occurred.', errorCode: code }]);
    }
    if ('error' in fault)
      return reply.code(400).send([{ message: `${fault.error}`, errorCode: fault.error }]);
    return reply;
  }

  #object(p: Params): string {
    const name = Object.keys(SF_OBJECTS).find((o) => o.toLowerCase() === (p.object ?? '').toLowerCase());
    if (!name) throw new SfApiError(404, 'NOT_FOUND', `The requested resource does not exist`);
    return name;
  }

  #versions(req: FastifyRequest, reply: FastifyReply) {
    const p = req.params as Params;
    this.recorder.request({
      operation: 'versions',
      method: req.method,
      path: req.url,
      params: { org: p.org },
      headers: {},
    });
    if (!this.#org(p.org)) return reply.code(404).send([{ message: 'Not found', errorCode: 'NOT_FOUND' }]);
    return VERSIONS.map((v) => ({ label: `v${v}`, url: `/services/data/v${v}`, version: v }));
  }

  #org(name: string): SalesforceOrg | undefined {
    return (SALESFORCE_TENANTS as readonly string[]).includes(name)
      ? this.orgs[name as SalesforceTenantName]
      : undefined;
  }

  /** Records, applies faults, checks the org, version and session, then answers `fn` or its error. */
  async #api(
    req: FastifyRequest,
    reply: FastifyReply,
    operation: string,
    fn: (org: SalesforceOrg, p: Params) => unknown,
    extra: Record<string, unknown> = {},
  ) {
    const p = req.params as Params;
    const params: Record<string, unknown> = { org: p.org, ...extra };
    if (p.object) params.object = p.object;
    if (p.id) params.id = p.id;
    if (req.body !== undefined && req.method !== 'GET') params.body = req.body;
    if (await this.intercept(req, reply, operation, params, [operation, `${p.org}:${operation}`]))
      return reply;
    const org = this.#org(p.org);
    if (!org)
      return reply
        .code(404)
        .send([{ message: 'The requested resource does not exist', errorCode: 'NOT_FOUND' }]);
    const auth = req.headers.authorization ?? '';
    const token = /^(?:Bearer|OAuth) (.+)$/.exec(auth)?.[1];
    if (!token || token !== this.#tokens.get(p.org))
      return reply
        .code(401)
        .send([{ message: 'Session expired or invalid', errorCode: 'INVALID_SESSION_ID' }]);
    if (p.version !== undefined && !/^v\d{2,3}\.0$/.test(p.version))
      return reply
        .code(404)
        .send([{ message: 'The requested resource does not exist', errorCode: 'NOT_FOUND' }]);
    try {
      const out = fn(org, p);
      // A dropAfterCommit / delayAfterCommit fault: the change landed, the answer is lost or late.
      if (await this.afterCommit(req, reply)) return reply;
      if (out === undefined) return reply.send();
      return reply.send(out);
    } catch (err) {
      if (err instanceof SfApiError)
        return reply
          .code(err.status)
          .send([
            { message: err.message, errorCode: err.errorCode, ...(err.fields ? { fields: err.fields } : {}) },
          ]);
      if (err instanceof SoqlError)
        return reply.code(400).send([{ message: err.message, errorCode: err.errorCode }]);
      throw err;
    }
  }

  #record(object: string, r: SfRecord, fields: string[], version: string) {
    const out: Record<string, unknown> = {
      attributes: { type: object, url: `/services/data/${version}/sobjects/${object}/${r.Id}` },
    };
    for (const f of fields) out[f] = r[f] ?? null;
    return out;
  }

  #retrieve(org: SalesforceOrg, p: Params, req: FastifyRequest) {
    const object = this.#object(p);
    const rec = org.find(object, p.id as string);
    if (!rec) throw new SfApiError(404, 'NOT_FOUND', 'The requested resource does not exist');
    const d = SF_OBJECTS[object] as Record<string, unknown>;
    const asked = (req.query as { fields?: string }).fields;
    const fields = asked ? asked.split(',').map((f) => f.trim()) : Object.keys(d);
    for (const f of fields)
      if (!Object.hasOwn(d, f))
        throw new SfApiError(400, 'INVALID_FIELD', `No such column '${f}' on sobject of type ${object}`);
    return this.#record(object, rec, fields, p.version as string);
  }

  async #query(req: FastifyRequest, reply: FastifyReply) {
    const p = req.params as Params;
    const soql = (req.query as { q?: unknown }).q;
    const extra = p.locator ? { locator: p.locator } : { soql: typeof soql === 'string' ? soql : undefined };
    return this.#api(
      req,
      reply,
      'query',
      (_org, params) => {
        let cursor: { org: string; answer: QueryAnswer; offset: number; version: string };
        if (params.locator) {
          const c = this.#cursors.get(params.locator);
          if (!c || c.org !== params.org)
            throw new SfApiError(400, 'INVALID_QUERY_LOCATOR', 'invalid query locator');
          cursor = c;
        } else {
          if (typeof soql !== 'string' || soql.trim() === '')
            throw new SfApiError(400, 'MALFORMED_QUERY', 'A query string has to be specified');
          const org = this.orgs[params.org as SalesforceTenantName];
          cursor = { org: params.org, answer: org.query(soql), offset: 0, version: params.version as string };
        }
        const { answer } = cursor;
        const page = answer.records.slice(cursor.offset, cursor.offset + QUERY_BATCH);
        const next = cursor.offset + page.length;
        const done = next >= answer.records.length;
        let nextRecordsUrl: string | undefined;
        if (!done) {
          const locator = `01g${randomBytes(6).toString('hex')}-${next}`;
          this.#cursors.set(locator, { ...cursor, offset: next });
          nextRecordsUrl = `/services/data/${cursor.version}/query/${locator}`;
        }
        return {
          totalSize: answer.records.length,
          done,
          ...(nextRecordsUrl ? { nextRecordsUrl } : {}),
          records: page.map((r) => this.#record(answer.object, r, answer.fields, cursor.version)),
        };
      },
      extra,
    );
  }

  async #token(req: FastifyRequest, reply: FastifyReply) {
    const p = req.params as Params;
    const body = (req.body ?? {}) as Record<string, string>;
    if (
      await this.intercept(req, reply, 'token', { org: p.org, grant_type: body.grant_type }, [
        'token',
        `${p.org}:token`,
      ])
    )
      return reply;
    const facts = (SALESFORCE_TENANTS as readonly string[]).includes(p.org)
      ? this.#facts[p.org as SalesforceTenantName]
      : undefined;
    if (body.grant_type !== 'client_credentials')
      return reply
        .code(400)
        .send({ error: 'unsupported_grant_type', error_description: 'grant type not supported' });
    if (!facts || body.client_id !== facts.clientId || body.client_secret !== facts.clientSecret)
      return reply
        .code(400)
        .send({ error: 'invalid_client', error_description: 'invalid client credentials' });
    const token = `${facts.orgId.slice(0, 15)}!AQ${randomBytes(40).toString('hex')}`;
    this.#tokens.set(facts.tenant, token);
    return {
      access_token: token,
      instance_url: this.url + facts.path,
      id: `${this.url}${facts.path}/id/${facts.orgId}/${this.orgs[facts.tenant].records.User?.keys().next().value}`,
      token_type: 'Bearer',
      issued_at: String(Date.now()),
      signature: randomBytes(32).toString('base64'),
      scope: 'api',
    };
  }
}

const LIMITS = {
  DailyApiRequests: { Max: 100_000, Remaining: 99_000 },
  ConcurrentAsyncGetReportInstances: { Max: 200, Remaining: 200 },
};

/** A started Salesforce simulator. */
export interface StartedSalesforceSimulator {
  /** The simulator's origin; each org is at `${url}/orgs/<tenant>` (see `simulator.tenants`). */
  url: string;
  simulator: SalesforceSimulator;
  tenants: Record<SalesforceTenantName, SalesforceOrgAccess>;
  close(): Promise<void>;
}

/** Starts a Salesforce simulator at the root of its own fastify app. */
export async function startSalesforceSimulator(
  opts: ListenOptions = {},
): Promise<StartedSalesforceSimulator> {
  const simulator = new SalesforceSimulator();
  const app = createApp();
  await simulator.register(app, '');
  const host = opts.host ?? '127.0.0.1';
  await app.listen({ port: opts.port ?? 0, host });
  simulator.listening(originOf(app, host));
  return {
    url: simulator.url,
    simulator,
    tenants: simulator.tenants,
    close: () => app.close(),
  };
}
