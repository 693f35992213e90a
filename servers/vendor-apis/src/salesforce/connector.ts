// Salesforce through jsforce: one breaker for the vendor, one Connection per tenant built from the
// tenant map (the caller's org comes from the token's tenant, never from arguments: V12), every
// request through vendorCall (timeout, read retries, breaker) on a transport with jsforce's own
// retries off, and errors turned into short safe failures (errors.ts). Queries are only ever the
// typed builder's (soql.ts); record paths only ever hold ids checked by ids.ts.
import {
  type CallBounds,
  type Identity,
  isUpstreamFailure,
  type Logger,
  signalledFetch,
  UpstreamBreakers,
  UpstreamFailure,
} from '@mcp-fleet/core';
import { Connection } from 'jsforce';
import type { VendorApisConfig } from '../config.js';
import { type SalesforceTenant, SINGLE } from '../tenants.js';
import { vendorCall } from '../upstream/call.js';
import { classifySalesforceError, GovernedTransport } from './errors.js';
import { isIdOf, type SfObject } from './ids.js';
import type { BuiltQuery } from './soql.js';

/** A record as Salesforce returns it, without its `attributes`. */
export type SfRecord = Record<string, unknown>;

/** A call's own bounds: the tool's signal and the time by which the last attempt must end. */
export type { CallBounds };

type Caller = Pick<Identity, 'tenant'>;

const strip = (r: unknown): SfRecord => {
  const { attributes: _a, ...rest } = (r ?? {}) as Record<string, unknown>;
  return rest;
};

/** Salesforce as the tools use it. */
export class SalesforceConnector {
  /** The vendor's circuit breaker (readiness and metrics show it). */
  readonly breakers: UpstreamBreakers;
  readonly #config: VendorApisConfig;
  readonly #logger: Logger;
  /** Connections by tenant (`''` for a single-tenant deployment); never shared across tenants. */
  readonly #conns = new Map<string, Connection>();

  constructor(config: VendorApisConfig, logger: Logger) {
    this.#config = config;
    this.#logger = logger;
    this.breakers = new UpstreamBreakers('salesforce', {
      threshold: config.breakerThreshold,
      halfOpenAfterMs: config.breakerHalfOpenMs,
    });
  }

  /** Classifies a jsforce error (see {@link classifySalesforceError}). */
  classify(err: unknown): UpstreamFailure {
    return isUpstreamFailure(err) ? err : classifySalesforceError(err);
  }

  /** The tenant's Connection: its own instance URL and token (or a client-credentials login). */
  async #connection(tenant: string | null, t: SalesforceTenant): Promise<Connection> {
    const name = tenant ?? '';
    const existing = this.#conns.get(name);
    if (existing) return existing;
    const accessToken = t.accessToken ?? (await this.#login(t));
    const conn = new Connection({
      instanceUrl: t.instanceUrl.replace(/\/+$/, ''),
      accessToken,
      version: this.#config.salesforceApiVersion,
    });
    conn._transport = new GovernedTransport(this.#config.salesforceTimeoutMs);
    this.#conns.set(name, conn);
    this.#logger.debug(
      { vendor: 'salesforce', tenant, login: t.accessToken ? 'token' : 'client_credentials' },
      'Salesforce connection created',
    );
    return conn;
  }

  /** Client-credentials login on the tenant's own instance (the answer's instance_url is not trusted). */
  async #login(t: SalesforceTenant): Promise<string> {
    if (!t.clientId || !t.clientSecret)
      throw new UpstreamFailure(
        'salesforce',
        'auth',
        'no Salesforce credentials are configured for your tenant',
      );
    const res = await signalledFetch(`${t.instanceUrl.replace(/\/+$/, '')}/services/oauth2/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: t.clientId,
        client_secret: t.clientSecret,
      }),
      redirect: 'manual',
    });
    const body = (await res.json().catch(() => ({}))) as { access_token?: unknown };
    if (res.status >= 500)
      throw new UpstreamFailure('salesforce', 'unavailable', `Salesforce login failed (HTTP ${res.status})`, {
        status: res.status,
      });
    if (!res.ok || typeof body.access_token !== 'string')
      throw new UpstreamFailure(
        'salesforce',
        'auth',
        `Salesforce refused the client-credentials login (HTTP ${res.status})`,
        { status: res.status },
      );
    return body.access_token;
  }

  /** One request for the caller's tenant, governed by vendorCall. */
  async #call<T>(
    identity: Caller,
    bounds: CallBounds,
    kind: 'read' | 'write',
    subject: string | undefined,
    fn: (conn: Connection) => Promise<T>,
  ): Promise<T> {
    const t = this.#config.tenants.resolve(identity, 'salesforce');
    try {
      return await vendorCall(
        {
          vendor: 'salesforce',
          // Writes have their own breaker (see the HubSpot connector).
          breaker: this.breakers.of(
            kind === 'write' ? `${t.tenant ?? SINGLE} (writes)` : (t.tenant ?? SINGLE),
          ),
          timeoutMs: this.#config.salesforceTimeoutMs,
          signal: bounds.signal,
          kind,
          classify: (e) => this.classify(e),
          retries: this.#config.readRetries,
          deadline: bounds.deadline,
        },
        async () => fn(await this.#connection(t.tenant, t)),
      );
    } catch (err) {
      const f = this.classify(err);
      // A refused session of a client-credentials login: the next call logs in again.
      if (f.kind === 'auth' && !t.accessToken) this.#conns.delete(t.tenant ?? '');
      if (f.kind === 'not_found' && subject)
        throw new UpstreamFailure('salesforce', 'not_found', `no ${subject} in your Salesforce org`, {
          status: f.status,
          read: f.read,
        });
      throw f;
    }
  }

  /** Runs a query the builder made (one page: LIMIT ≤ 2,000 is Salesforce's batch size). */
  async query(
    identity: Caller,
    q: BuiltQuery,
    bounds: CallBounds,
  ): Promise<{ totalSize: number; records: SfRecord[] }> {
    const res = await this.#call(identity, bounds, 'read', undefined, (c) =>
      Promise.resolve(c.query<Record<string, unknown>>(q.soql, { autoFetch: false })),
    );
    return { totalSize: res.totalSize, records: res.records.map(strip) };
  }

  /** One record by id (the id's prefix already checked against the object). */
  async retrieve(
    identity: Caller,
    object: SfObject,
    id: string,
    fields: readonly string[],
    bounds: CallBounds,
  ): Promise<SfRecord> {
    if (!isIdOf(id, [object])) throw new Error('unchecked id');
    const rec = await this.#call(identity, bounds, 'read', `${object} ${id}`, (c) =>
      c.sobject(object).retrieve(id, { fields: [...fields] }),
    );
    return strip(rec);
  }

  /** PATCH of allow-listed fields; `commit` runs right before the request. Never retried after a 5xx or timeout. */
  async update(
    identity: Caller,
    object: SfObject,
    id: string,
    fields: Record<string, string | null>,
    bounds: CallBounds,
    commit: () => void,
  ): Promise<void> {
    if (!isIdOf(id, [object])) throw new Error('unchecked id');
    commit();
    const res = (await this.#call(identity, bounds, 'write', `${object} ${id}`, (c) =>
      c.sobject(object).update({ Id: id, ...fields }),
    )) as unknown;
    // Salesforce answers a PATCH with 204 No Content, which jsforce alone turns into {id, success: true};
    // any other 2xx (a 200 with a page, a JSON body of its own) is not known to have changed anything (C-2b).
    const r = (res && typeof res === 'object' ? res : {}) as { id?: unknown; success?: unknown };
    if (r.success !== true || r.id !== id)
      throw new UpstreamFailure(
        'salesforce',
        'uncertain',
        `Salesforce did not confirm the update of ${object} ${id}; it may or may not have changed, check before retrying`,
        { read: false },
      );
  }

  /** POST of a Task; `commit` runs right before the request. Returns the new Task's id. */
  async createTask(
    identity: Caller,
    fields: Record<string, string>,
    bounds: CallBounds,
    commit: () => void,
  ): Promise<string> {
    commit();
    const res = (await this.#call(identity, bounds, 'write', undefined, (c) =>
      c.sobject('Task').create(fields),
    )) as {
      id?: unknown;
      success?: unknown;
    };
    // A 201 {id, success: true} with a Task id; anything else leaves the Task's existence unknown (C-2b).
    if (
      !res ||
      typeof res !== 'object' ||
      res.success !== true ||
      typeof res.id !== 'string' ||
      !isIdOf(res.id, ['Task'])
    )
      throw new UpstreamFailure(
        'salesforce',
        'uncertain',
        'Salesforce answered the Task creation without confirming a Task id; the Task may or may not exist, check before retrying',
        { read: false },
      );
    return res.id;
  }

  /** Readiness: the org limits of the single tenant or the first configured one (cheap, authenticated). */
  async readiness(): Promise<void> {
    const first = this.#config.tenants.all().find((t) => t.salesforce !== undefined);
    if (!first?.salesforce) throw new Error('Salesforce is not configured for any tenant');
    const t = first.salesforce;
    await vendorCall(
      {
        vendor: 'salesforce',
        breaker: this.breakers.of(first.tenant ?? SINGLE),
        timeoutMs: this.#config.salesforceTimeoutMs,
        signal: AbortSignal.timeout(this.#config.salesforceTimeoutMs * 2),
        kind: 'read',
        retries: 0,
        classify: (e) => this.classify(e),
      },
      async () => {
        await (await this.#connection(first.tenant, t)).limits();
      },
    );
  }
}
