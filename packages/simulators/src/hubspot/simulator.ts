// The HubSpot CRM API simulator: the v3 endpoints the vendor-apis tools use (contacts and deals search,
// contact and company reads, note creation, owners), with Bearer private-app tokens that select the
// portal, HubSpot's error bodies (status, message, correlationId, category) and its 429 Retry-After.
// Mounted at the root of its own app (the SDK's basePath is an origin), or under a prefix in a hub.
import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { type Fault, isAfterCommit, never } from '../shared/faults.js';
import { HttpSimulator, type ListenOptions } from '../shared/http.js';
import { type RecordedRequest, safeHeaders } from '../shared/records.js';
import { parseSearch, runSearch, SearchError } from './search.js';
import {
  associate,
  HUBSPOT_TENANTS,
  type HubSpotObject,
  type HubSpotPortal,
  type HubSpotTenantName,
  NOTE_BASE,
  seedPortals,
} from './seed.js';

/** One request as HubSpot received it: which portal its token selected, its query and body. */
export interface HubSpotRequest extends RecordedRequest {
  /** The portal's tenant, or null when the token selected none. */
  portal: HubSpotTenantName | null;
  query: Record<string, unknown>;
  body: unknown;
}

/** Object types the simulator serves. */
type ObjectType = 'contacts' | 'companies' | 'deals' | 'notes';

/** Properties returned when a request names none (HubSpot's defaults). */
const DEFAULT_PROPERTIES: Record<ObjectType, string[]> = {
  contacts: ['createdate', 'email', 'firstname', 'hs_object_id', 'lastmodifieddate', 'lastname'],
  companies: ['createdate', 'domain', 'hs_lastmodifieddate', 'hs_object_id', 'name'],
  deals: [
    'amount',
    'closedate',
    'createdate',
    'dealname',
    'dealstage',
    'hs_lastmodifieddate',
    'hs_object_id',
    'pipeline',
  ],
  notes: ['hs_createdate', 'hs_lastmodifieddate', 'hs_object_id'],
};
/** Properties a free-text `query` looks in. */
const TEXT_PROPERTIES: Record<'contacts' | 'deals', string[]> = {
  contacts: ['firstname', 'lastname', 'email', 'phone', 'company'],
  deals: ['dealname'],
};
/** HUBSPOT_DEFINED association type ids of a note: to a contact, to a company, to a deal. */
const NOTE_ASSOCIATIONS: Record<number, 'contacts' | 'companies' | 'deals'> = {
  202: 'contacts',
  190: 'companies',
  214: 'deals',
};
const SINGULAR: Record<string, string> = { contacts: 'contact', companies: 'company', deals: 'deal' };

/** An error answered in HubSpot's shape. */
class HubSpotError extends Error {
  constructor(
    readonly status: number,
    readonly category: string,
    message: string,
    readonly context?: Record<string, string[]>,
  ) {
    super(message);
  }
}

/** Simulates HubSpot's CRM API for the demo portals; point the SDK's `basePath` at `url`. */
export class HubSpotSimulator extends HttpSimulator {
  protected readonly standalonePrefix = '';
  /** The portals (CRM state) by tenant; tests may read or change them. */
  readonly portals = seedPortals();
  #noteSeq = 0;

  /** Every request received, oldest first, with the portal it hit (Authorization removed). */
  override get requests(): HubSpotRequest[] {
    return this.recorder.requests as HubSpotRequest[];
  }

  /** Every note created through the API, oldest first, with the portal it went to. */
  get createdNotes(): (HubSpotObject & { portal: HubSpotTenantName })[] {
    const out: (HubSpotObject & { portal: HubSpotTenantName })[] = [];
    for (const p of this.portals.values())
      for (const n of p.notes.values()) out.push({ ...n, portal: p.tenant });
    return out.sort((a, b) => Number(a.id) - Number(b.id));
  }

  /** The portal of a tenant. */
  portal(tenant: HubSpotTenantName): HubSpotPortal {
    return this.portals.get(tenant)!;
  }

  protected routes(scope: FastifyInstance): void {
    scope.addHook('onSend', async (_req, reply) => {
      reply.header('x-simulator', 'mcp-fleet hubspot simulator');
    });
    scope.setNotFoundHandler((req, reply) =>
      this.#answer(
        reply,
        new HubSpotError(404, 'OBJECT_NOT_FOUND', `No route for ${req.method} ${req.url.split('?')[0]}`),
      ),
    );
    const route = (
      method: 'GET' | 'POST',
      path: string,
      operation: string,
      fn: (p: HubSpotPortal, req: FastifyRequest, reply: FastifyReply) => unknown,
    ) => scope.route({ method, url: path, handler: (req, reply) => this.#handle(req, reply, operation, fn) });
    route('POST', '/crm/v3/objects/contacts/search', 'contacts.search', (p, req) =>
      this.#search(p, 'contacts', req.body),
    );
    route('POST', '/crm/v3/objects/deals/search', 'deals.search', (p, req) =>
      this.#search(p, 'deals', req.body),
    );
    route('GET', '/crm/v3/objects/contacts/:id', 'contacts.get', (p, req) => this.#get(p, 'contacts', req));
    route('GET', '/crm/v3/objects/companies/:id', 'companies.get', (p, req) =>
      this.#get(p, 'companies', req),
    );
    route('GET', '/crm/v3/objects/deals/:id', 'deals.get', (p, req) => this.#get(p, 'deals', req));
    route('POST', '/crm/v3/objects/notes', 'notes.create', (p, req, reply) => {
      reply.code(201);
      return this.#createNote(p, req.body);
    });
    route('GET', '/crm/v3/owners', 'owners.list', (p, req) => this.#owners(p, req));
    // The SDK lists owners at `/crm/v3/owners/` (trailing slash).
    route('GET', '/crm/v3/owners/', 'owners.list', (p, req) => this.#owners(p, req));
    route('GET', '/crm/v3/owners/:id', 'owners.get', (p, req) => {
      const id = (req.params as { id: string }).id;
      const o = p.owners.find((x) => x.id === id);
      if (!o) throw new HubSpotError(404, 'OBJECT_NOT_FOUND', `Owner ${id} not found`);
      return o;
    });
  }

  protected faultReply(reply: FastifyReply, fault: Fault): FastifyReply {
    const correlationId = randomUUID();
    if ('rateLimit' in fault)
      return reply
        .code(429)
        .header('retry-after', String(fault.rateLimit))
        .header('x-hubspot-ratelimit-max', '100')
        .header('x-hubspot-ratelimit-remaining', '0')
        .header('x-hubspot-ratelimit-interval-milliseconds', '10000')
        .send({
          status: 'error',
          message: 'You have reached your ten_secondly_rolling limit.',
          errorType: 'RATE_LIMIT',
          correlationId,
          policyName: 'TEN_SECONDLY_ROLLING',
        });
    if ('status' in fault)
      return reply.code(fault.status).send({
        status: 'error',
        message: fault.message ?? 'internal error',
        correlationId,
        category: fault.status >= 500 ? 'INTERNAL_ERROR' : 'VALIDATION_ERROR',
      });
    if ('error' in fault)
      return reply
        .code(400)
        .send({ status: 'error', message: fault.error, correlationId, category: fault.error });
    return reply;
  }

  /** Records, applies faults, authenticates (the token selects the portal), runs `fn`. */
  async #handle(
    req: FastifyRequest,
    reply: FastifyReply,
    operation: string,
    fn: (p: HubSpotPortal, req: FastifyRequest, reply: FastifyReply) => unknown,
  ) {
    const portal = this.#portalOf(req);
    const entry: Omit<HubSpotRequest, 'at'> = {
      operation,
      method: req.method,
      path: req.url.split('?')[0] ?? req.url,
      params: req.body ?? null,
      headers: safeHeaders(req.headers),
      portal: portal === undefined ? null : (portal?.tenant ?? null),
      query: { ...(req.query as Record<string, unknown>) },
      body: req.body ?? null,
    };
    this.recorder.request(entry);
    const fault = this.take([`${operation}@${entry.portal}`, operation]);
    const after = fault && isAfterCommit(fault) ? fault : undefined;
    if (fault && !after) {
      if ('hang' in fault) await never();
      if ('drop' in fault) {
        reply.hijack();
        req.raw.socket.destroy();
        return reply;
      }
      return this.faultReply(reply, fault);
    }
    try {
      if (portal === undefined)
        throw new HubSpotError(
          401,
          'INVALID_AUTHENTICATION',
          'Authentication credentials not found. This API supports OAuth 2.0 authentication and you can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview',
        );
      if (portal === null)
        throw new HubSpotError(
          401,
          'INVALID_AUTHENTICATION',
          'The OAuth token used to make this call expired or is not valid.',
        );
      const out = await fn(portal, req, reply);
      if (after) {
        if ('delayAfterCommit' in after)
          await new Promise((resolve) => setTimeout(resolve, after.delayAfterCommit).unref());
        else {
          reply.hijack();
          req.raw.socket.destroy();
          return reply;
        }
      }
      return out;
    } catch (err) {
      if (err instanceof HubSpotError) return this.#answer(reply, err);
      throw err;
    }
  }

  /** undefined: no credentials; null: a token of no portal. */
  #portalOf(req: FastifyRequest): HubSpotPortal | null | undefined {
    const auth = req.headers.authorization;
    if (!auth?.startsWith('Bearer ')) return undefined;
    const token = auth.slice(7).trim();
    for (const p of this.portals.values()) if (p.token === token) return p;
    return null;
  }

  #answer(reply: FastifyReply, e: HubSpotError) {
    return reply.code(e.status).send({
      status: 'error',
      message: e.message,
      correlationId: randomUUID(),
      ...(e.context ? { context: e.context } : {}),
      category: e.category,
    });
  }

  #search(p: HubSpotPortal, type: 'contacts' | 'deals', body: unknown) {
    let req: ReturnType<typeof parseSearch>;
    try {
      req = parseSearch(body);
    } catch (err) {
      if (err instanceof SearchError) throw new HubSpotError(400, 'VALIDATION_ERROR', err.message);
      throw err;
    }
    const { total, page, next } = runSearch(p[type].values(), req, TEXT_PROPERTIES[type]);
    return {
      total,
      results: page.map((o) => view(o, req.properties ?? DEFAULT_PROPERTIES[type])),
      ...(next !== undefined ? { paging: { next: { after: String(next) } } } : {}),
    };
  }

  #get(p: HubSpotPortal, type: 'contacts' | 'companies' | 'deals', req: FastifyRequest) {
    const id = (req.params as { id: string }).id;
    const q = req.query as Record<string, string | string[] | undefined>;
    const o = p[type].get(id);
    if (!o || (o.archived && q.archived !== 'true'))
      throw new HubSpotError(404, 'OBJECT_NOT_FOUND', 'Object not found.  objectId are usually numeric.', {
        id: [id],
      });
    const props = list(q.properties);
    const out: Record<string, unknown> = view(o, props.length ? props : DEFAULT_PROPERTIES[type]);
    const assoc = list(q.associations);
    if (assoc.length) {
      const associations: Record<string, unknown> = {};
      for (const a of assoc) {
        const ids = o.associations[a] ?? [];
        if (ids.length)
          associations[a] = {
            results: ids.map((x) => ({ id: x, type: `${SINGULAR[type]}_to_${SINGULAR[a] ?? a}` })),
          };
      }
      if (Object.keys(associations).length) out.associations = associations;
    }
    return out;
  }

  #createNote(p: HubSpotPortal, body: unknown) {
    const b = (body && typeof body === 'object' ? body : {}) as {
      properties?: Record<string, unknown>;
      associations?: {
        to?: { id?: unknown };
        types?: { associationCategory?: string; associationTypeId?: number }[];
      }[];
    };
    const props = b.properties ?? {};
    if (typeof props.hs_timestamp !== 'string' && typeof props.hs_timestamp !== 'number')
      throw new HubSpotError(
        400,
        'VALIDATION_ERROR',
        'Property values were not valid: hs_timestamp is required',
        {
          properties: ['hs_timestamp'],
        },
      );
    const links: { type: 'contacts' | 'companies' | 'deals'; id: string }[] = [];
    for (const a of b.associations ?? []) {
      const id = String(a.to?.id ?? '');
      for (const t of a.types ?? []) {
        const type =
          t.associationCategory === 'HUBSPOT_DEFINED'
            ? NOTE_ASSOCIATIONS[Number(t.associationTypeId)]
            : undefined;
        if (!type)
          throw new HubSpotError(
            400,
            'VALIDATION_ERROR',
            `Invalid association type ${String(t.associationTypeId)}`,
          );
        if (!p[type].has(id))
          throw new HubSpotError(
            400,
            'VALIDATION_ERROR',
            `One or more associations are invalid: ${SINGULAR[type]} ${id} does not exist`,
          );
        links.push({ type, id });
      }
    }
    const now = new Date().toISOString();
    const id = String(NOTE_BASE + ++this.#noteSeq);
    const properties: Record<string, string | null> = {};
    for (const [k, v] of Object.entries(props)) properties[k] = v === null ? null : String(v);
    Object.assign(properties, { hs_object_id: id, hs_createdate: now, hs_lastmodifieddate: now });
    const note: HubSpotObject = {
      id,
      properties,
      createdAt: now,
      updatedAt: now,
      archived: false,
      associations: {},
    };
    for (const l of links) {
      associate(note, l.type, l.id);
      associate(p[l.type].get(l.id)!, 'notes', id);
    }
    p.notes.set(id, note);
    this.recorder.sent({
      system: 'hubspot',
      kind: 'note',
      destination: `${p.tenant} portal ${p.portalId}: ${links.map((l) => `${SINGULAR[l.type]} ${l.id}`).join(', ')}`,
      upstreamId: id,
      title: 'note',
      text: String(properties.hs_note_body ?? ''),
    });
    return { id, properties, createdAt: now, updatedAt: now, archived: false };
  }

  #owners(p: HubSpotPortal, req: FastifyRequest) {
    const q = req.query as Record<string, string | undefined>;
    const limit = Math.min(Math.max(Number(q.limit ?? 100) || 100, 1), 500);
    const after = Number(q.after ?? 0) || 0;
    const all = p.owners.filter((o) => !q.email || o.email.toLowerCase() === q.email.toLowerCase());
    const page = all.slice(after, after + limit);
    return {
      results: page,
      ...(after + limit < all.length ? { paging: { next: { after: String(after + limit) } } } : {}),
    };
  }
}

/** A query parameter that may be repeated or comma-separated, as a list. */
function list(v: string | string[] | undefined): string[] {
  if (v === undefined) return [];
  return (Array.isArray(v) ? v : [v]).flatMap((x) => x.split(',')).filter(Boolean);
}

/** An object as HubSpot returns it, with only the asked-for properties (missing ones as null). */
function view(o: HubSpotObject, properties: readonly string[]) {
  const props: Record<string, string | null> = {};
  for (const p of properties) props[p] = o.properties[p] ?? null;
  props.hs_object_id = o.id;
  return {
    id: o.id,
    properties: props,
    createdAt: o.createdAt,
    updatedAt: o.updatedAt,
    archived: o.archived,
  };
}

/** A HubSpot simulator listening on its own port. */
export interface StartedHubSpotSimulator {
  /** Base URL (an origin): the SDK's `basePath`, HUBSPOT_API_URL. */
  url: string;
  simulator: HubSpotSimulator;
  /** The seeded portals' tokens and ids, per tenant. */
  tenants: typeof HUBSPOT_TENANTS;
  close(): Promise<void>;
}

/** Starts a HubSpot simulator alone, mounted at the root of its own app (port 0: a free one). */
export async function startHubSpotSimulator(opts: ListenOptions = {}): Promise<StartedHubSpotSimulator> {
  const simulator = new HubSpotSimulator();
  const url = await simulator.start(opts);
  return { url, simulator, tenants: HUBSPOT_TENANTS, close: () => simulator.close() };
}
