// HubSpot: one official SDK client per tenant (its portal's private-app token, from the tenant map,
// never from arguments), every request through vendorCall (timeout, the vendor's breaker, retries for
// reads, a write retried only after a 429 with Retry-After) and its errors classified into short,
// safe UpstreamFailures (status and a documented HubSpot category; never the token, URL, body or correlationId).

import { AsyncLocalStorage } from 'node:async_hooks';
import * as http from 'node:http';
import * as https from 'node:https';
import { Client } from '@hubspot/api-client';
import {
  type Identity,
  type Logger,
  parseRetryAfter,
  UpstreamBreakers,
  UpstreamFailure,
} from '@mcp-fleet/core';
import type { VendorApisConfig } from '../config.js';
import { SINGLE } from '../tenants.js';
import { vendorCall } from '../upstream/call.js';
import { knownHubSpotCategory, NETWORK_CODES } from './errors.js';
import { isHubSpotId } from './ids.js';

/** One filter of a search, as the tools build it (operators and properties are fixed by the tools). */
export interface HubSpotFilter {
  propertyName: string;
  operator: 'EQ' | 'CONTAINS_TOKEN';
  value: string;
}

/** A CRM record as HubSpot returns it, properties as strings. */
export interface HubSpotRecord {
  id: string;
  properties: Record<string, string | null>;
  createdAt?: Date;
  updatedAt?: Date;
  associations?: Record<string, string[]>;
}

/** What a search returned. */
export interface HubSpotPage {
  total: number;
  results: HubSpotRecord[];
}

/** Where a note goes: one contact or one company. */
export interface NoteTarget {
  type: 'contact' | 'company';
  id: string;
}

/** HUBSPOT_DEFINED association type ids: note → contact 202, note → company 190. */
const NOTE_TYPE_ID: Record<NoteTarget['type'], number> = { contact: 202, company: 190 };

/** Options of one connector call. */
export interface CallOptions {
  signal: AbortSignal;
  /** Absolute time by which the last attempt must end (a bit before the tool's timeout). */
  deadline?: number;
  /** The not-found message (what was looked for), instead of the generic one. */
  notFound?: string;
}

/** HubSpot's CRM for the tools: per-tenant clients, one breaker, safe errors. */
export class HubSpotConnector {
  /** The vendor's circuit breaker (shown in /readyz and the metrics). */
  readonly breakers: UpstreamBreakers;
  readonly #config: VendorApisConfig;
  readonly #logger: Logger;
  readonly #clients = new Map<string, Client>();
  /** The attempt in progress: the agent cuts its HTTP request when the attempt is aborted. */
  readonly #attempt = new AsyncLocalStorage<AbortSignal>();
  readonly #agent: http.Agent;
  readonly #basePath: string;

  constructor(config: VendorApisConfig, logger: Logger) {
    this.#config = config;
    this.#logger = logger;
    this.breakers = new UpstreamBreakers('hubspot', {
      threshold: config.breakerThreshold,
      halfOpenAfterMs: config.breakerHalfOpenMs,
    });
    this.#basePath = config.hubspotApiUrl.replace(/\/+$/, '');
    this.#agent = abortingAgent(
      this.#basePath.startsWith('https:') ? https.Agent : http.Agent,
      this.#attempt,
    );
  }

  /** Throws an UpstreamFailure unless HubSpot accepts a token (one owner read, of the first configured tenant). */
  async readiness(): Promise<void> {
    const first = this.#config.tenants.all().find((t) => t.hubspot);
    if (!first?.hubspot) throw new UpstreamFailure('hubspot', 'auth', 'no HubSpot token is configured');
    const client = this.#client(first.tenant ?? '', first.hubspot.token);
    await this.#run(
      'read',
      first.tenant ?? SINGLE,
      { signal: AbortSignal.timeout(this.#config.hubspotTimeoutMs * 2) },
      () => client.crm.owners.ownersApi.getPage(undefined, undefined, 1),
    );
  }

  /** Searches contacts or deals: filter groups (OR) of filters (AND) the tools built; `limit` results at most. */
  async search(
    identity: Identity,
    object: 'contacts' | 'deals',
    p: {
      groups: HubSpotFilter[][];
      properties: string[];
      limit: number;
      sort?: { propertyName: string; direction: 'ASCENDING' | 'DESCENDING' };
    },
    o: CallOptions,
  ): Promise<HubSpotPage> {
    const { client, key } = this.#for(identity);
    const request = {
      filterGroups: p.groups.map((filters) => ({ filters: filters.map((f) => ({ ...f })) })),
      properties: p.properties,
      limit: p.limit,
      after: '0',
      // HubSpot's documented sort shape (the SDK types sorts as strings but sends them as given).
      sorts: [p.sort ?? { propertyName: 'hs_object_id', direction: 'ASCENDING' }],
    };
    const api = object === 'contacts' ? client.crm.contacts.searchApi : client.crm.deals.searchApi;
    const r = await this.#run('read', key, o, () => api.doSearch(request as never));
    // A result whose id is not HubSpot's numeric id is dropped: vendor text never passes as an id (C-2a).
    const results = r.results
      .slice(0, p.limit)
      .filter((x) => isHubSpotId(x?.id))
      .map(record);
    return { total: r.total, results };
  }

  /** One contact or company by id, with the ids of associated records of `associations` types. */
  async get(
    identity: Identity,
    object: 'contacts' | 'companies',
    id: string,
    p: { properties: string[]; associations: string[] },
    o: CallOptions,
  ): Promise<HubSpotRecord> {
    const { client, key } = this.#for(identity);
    const api = object === 'contacts' ? client.crm.contacts.basicApi : client.crm.companies.basicApi;
    const r = await this.#run('read', key, o, () =>
      api.getById(id, p.properties, undefined, p.associations.length ? p.associations : undefined, false),
    );
    if (!isHubSpotId(r?.id))
      throw new UpstreamFailure('hubspot', 'unavailable', 'HubSpot answered without a valid record id', {
        read: true,
      });
    return record(r);
  }

  /**
   * Creates one note on a contact or company. Sent at most once unless HubSpot answered 429 with a
   * Retry-After that fits (then it processed nothing); a 5xx or a timeout is never retried.
   */
  async createNote(
    identity: Identity,
    p: { bodyHtml: string; timestamp: string; target: NoteTarget },
    o: CallOptions,
  ): Promise<HubSpotRecord> {
    const { client, key } = this.#for(identity);
    const input = {
      properties: { hs_note_body: p.bodyHtml, hs_timestamp: p.timestamp },
      associations: [
        {
          to: { id: p.target.id },
          types: [{ associationCategory: 'HUBSPOT_DEFINED', associationTypeId: NOTE_TYPE_ID[p.target.type] }],
        },
      ],
    };
    const r = await this.#run('write', key, o, () =>
      client.crm.objects.notes.basicApi.create(input as never),
    );
    // A 2xx without a note id is not a success: the note may or may not exist (C-2a).
    if (!isHubSpotId((r as { id?: unknown } | undefined)?.id))
      throw new UpstreamFailure(
        'hubspot',
        'uncertain',
        'HubSpot answered the note creation without a note id; the note may or may not exist, check before retrying',
        { read: false },
      );
    return record(r);
  }

  /** The caller's tenant's client: the token comes from the tenant directory, by the token's tenant. */
  #for(identity: Identity): { client: Client; key: string } {
    const t = this.#config.tenants.resolve(identity, 'hubspot');
    return { client: this.#client(t.tenant ?? '', t.token), key: t.tenant ?? SINGLE };
  }

  /** A client per tenant, created on first use and never shared across tenants. */
  #client(tenant: string, token: string): Client {
    let c = this.#clients.get(tenant);
    if (!c) {
      c = new Client({
        accessToken: token,
        basePath: this.#basePath,
        numberOfApiCallRetries: 0,
        httpAgent: this.#agent,
      });
      this.#clients.set(tenant, c);
    }
    return c;
  }

  async #run<T>(kind: 'read' | 'write', key: string, o: CallOptions, fn: () => Promise<T>): Promise<T> {
    return vendorCall(
      {
        vendor: 'hubspot',
        // Writes have their own breaker: reads that succeed (the lookup before a note) must not hide
        // a failing write endpoint by resetting its count of consecutive failures.
        breaker: this.breakers.of(kind === 'write' ? `${key} (writes)` : key),
        timeoutMs: this.#config.hubspotTimeoutMs,
        signal: o.signal,
        kind,
        classify: (err) => classifyHubSpotError(err, { read: kind === 'read', notFound: o.notFound }),
        retries: this.#config.readRetries,
        ...(o.deadline !== undefined ? { deadline: o.deadline } : {}),
      },
      (signal) => this.#attempt.run(signal, fn),
    );
  }

  /** The logger (for tools that log what they did, never arguments' values). */
  get logger(): Logger {
    return this.#logger;
  }
}

/**
 * An agent whose requests are destroyed when the attempt that made them is aborted (the SDK takes
 * no signal or custom fetch; it does take an http agent, which sees every request it makes).
 */
function abortingAgent(
  Base: typeof http.Agent | typeof https.Agent,
  attempt: AsyncLocalStorage<AbortSignal>,
): http.Agent {
  const agent = new Base({ keepAlive: true, maxSockets: 32 }) as http.Agent & {
    addRequest(req: http.ClientRequest, options: unknown): void;
  };
  const add = agent.addRequest.bind(agent);
  agent.addRequest = (req, options) => {
    const signal = attempt.getStore();
    if (signal) {
      const cut = () => req.destroy(new Error('attempt aborted'));
      if (signal.aborted) queueMicrotask(cut);
      else {
        signal.addEventListener('abort', cut, { once: true });
        req.once('close', () => signal.removeEventListener('abort', cut));
      }
    }
    add(req, options);
  };
  return agent;
}

/** A record of the SDK as plain data (association ids by type). */
function record(r: {
  id: string;
  properties: Record<string, string | null>;
  createdAt?: Date;
  updatedAt?: Date;
  associations?: Record<string, { results?: { id: string }[] }>;
}): HubSpotRecord {
  const associations: Record<string, string[]> = {};
  for (const [k, v] of Object.entries(r.associations ?? {}))
    associations[k] = (v.results ?? []).map((x) => x?.id).filter(isHubSpotId);
  return {
    id: String(r.id),
    properties: r.properties ?? {},
    ...(r.createdAt ? { createdAt: r.createdAt } : {}),
    ...(r.updatedAt ? { updatedAt: r.updatedAt } : {}),
    ...(r.associations ? { associations } : {}),
  };
}

/**
 * Turns what the SDK threw into an UpstreamFailure whose message holds only the status and HubSpot's
 * error category when it is a documented one (errors.ts; any other vendor string is dropped, attack
 * B-F1): never the SDK's message (it embeds the whole response body and headers), the correlationId,
 * the token, the URL or a body. No `cause` is kept.
 */
export function classifyHubSpotError(
  err: unknown,
  opts: { read: boolean; notFound?: string } = { read: true },
): UpstreamFailure {
  const read = opts.read;
  const e = err as { code?: unknown; body?: unknown; headers?: unknown; name?: unknown };
  if (typeof e?.code === 'number' && e.code >= 100 && e.code < 600) {
    const status = e.code;
    const body = (e.body && typeof e.body === 'object' ? e.body : {}) as Record<string, unknown>;
    const headers = (e.headers && typeof e.headers === 'object' ? e.headers : {}) as Record<string, unknown>;
    const category = knownHubSpotCategory(body.category) ?? knownHubSpotCategory(body.errorType);
    const what = `HTTP ${status}${category ? ` ${category}` : ''}`;
    const f = (kind: UpstreamFailure['kind'], msg: string, retryAfterMs?: number) =>
      new UpstreamFailure('hubspot', kind, msg, {
        status,
        read,
        ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
      });
    if (status === 401) return f('auth', `HubSpot refused the app token (${what})`);
    if (status === 403) return f('auth', `the HubSpot app lacks a scope for this (${what})`);
    if (status === 404)
      return f('not_found', opts.notFound ?? `no such record in your HubSpot portal (${what})`);
    if (status === 429) {
      const h = headers['retry-after'];
      return f(
        'rate_limited',
        `HubSpot rate limit reached (${what})`,
        parseRetryAfter(typeof h === 'string' ? h : undefined),
      );
    }
    if (status === 408 || status === 504) return f('timeout', `HubSpot timed out (${what})`);
    if (status >= 500) return f('unavailable', `HubSpot failed (${what})`);
    return f('rejected', `HubSpot rejected the request (${what})`);
  }
  // Network: refused, reset, DNS, an aborted attempt; words from a fixed list, never the error's own text.
  const code = String(
    (err as { cause?: { code?: unknown } })?.cause?.code ?? (err as { code?: unknown })?.code ?? '',
  );
  const known = NETWORK_CODES.has(code);
  return new UpstreamFailure(
    'hubspot',
    'unavailable',
    `HubSpot could not be reached${known ? ` (${code})` : ''}`,
    {
      read,
    },
  );
}
