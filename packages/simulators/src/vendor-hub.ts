// The vendor simulators the local fleet starts for the vendor-apis server: Stripe, HubSpot and
// Salesforce, each mounted at the root of its own app (the Stripe SDK has no base path) on consecutive
// ports from a base (+0 Stripe, +1 HubSpot, +2 Salesforce; base 0 = any free ports), with the seeded
// per-tenant credentials the server's tenant map needs. Simulators only: test keys, fake portals and
// orgs, every response labelled `x-simulator`.
import { HUBSPOT_TENANTS, type HubSpotSimulator, startHubSpotSimulator } from './hubspot/index.js';
import { orgFacts, type SalesforceSimulator, startSalesforceSimulator } from './salesforce/index.js';
import { STRIPE_SIM, type StripeSimulator, startStripeSimulator } from './stripe/index.js';

/** Default base port of the vendor simulators in the local fleet (FLEET_VENDOR_SIM_PORT). */
export const VENDOR_SIM_PORT = 7412;

/** The demo tenants every vendor simulator seeds. */
export type VendorSimTenant = 'acme' | 'globex' | 'initech';
const TENANTS: readonly VendorSimTenant[] = ['acme', 'globex', 'initech'];

/** A vendor of the hub. */
export type SimulatedVendor = 'stripe' | 'hubspot' | 'salesforce';

/** Options of {@link startVendorHub}. */
export interface VendorHubOptions {
  /** Port of Stripe; HubSpot +1, Salesforce +2 (0, the default: any free ports). */
  basePort?: number;
  /** Interface to bind (default 127.0.0.1). */
  host?: string;
  /** The vendors to start (default all three). */
  vendors?: readonly SimulatedVendor[];
}

/** What the vendor-apis server needs to reach each simulator, per tenant. */
export interface VendorHubFacts {
  stripe: { url: string; apiKey: string; secretKey: string; accounts: Record<VendorSimTenant, string> };
  hubspot: { url: string; tokens: Record<VendorSimTenant, string> };
  salesforce: {
    url: string;
    orgs: Record<
      VendorSimTenant,
      { instanceUrl: string; accessToken: string; orgId: string; clientId: string; clientSecret: string }
    >;
  };
}

/** A running vendor hub (a vendor not started has no simulator and empty URLs in `facts`). */
export interface VendorHub {
  facts: VendorHubFacts;
  stripe?: StripeSimulator;
  hubspot?: HubSpotSimulator;
  salesforce?: SalesforceSimulator;
  /** The ports listened on, in start order. */
  ports: number[];
  close(): Promise<void>;
}

const portOf = (url: string) => Number(new URL(url).port);

/** Starts `vendors` into `hub` (those it does not run yet); on failure, those started here are closed. */
async function startInto(
  hub: VendorHub,
  closers: (() => Promise<unknown>)[],
  vendors: readonly SimulatedVendor[],
  base: number,
  host: string,
): Promise<void> {
  const want = new Set(vendors.filter((v) => !hub[v]));
  const at = (offset: number) => (base === 0 ? 0 : base + offset);
  const mine: (() => Promise<unknown>)[] = [];
  try {
    if (want.has('stripe')) {
      const s = await startStripeSimulator({ port: at(0), host });
      mine.push(() => s.close());
      hub.stripe = s.simulator;
      hub.facts.stripe.url = s.url;
      hub.ports.push(portOf(s.url));
    }
    if (want.has('hubspot')) {
      const s = await startHubSpotSimulator({ port: at(1), host });
      mine.push(() => s.close());
      hub.hubspot = s.simulator;
      hub.facts.hubspot.url = s.url;
      hub.ports.push(portOf(s.url));
    }
    if (want.has('salesforce')) {
      const s = await startSalesforceSimulator({ port: at(2), host });
      mine.push(() => s.close());
      hub.salesforce = s.simulator;
      hub.facts.salesforce.url = s.url;
      hub.ports.push(portOf(s.url));
    }
  } catch (err) {
    for (const c of mine.reverse()) await c();
    throw err;
  }
  closers.push(...mine);
  // Each org is at `<origin>/orgs/<tenant>` of the one Salesforce simulator (its instance URL).
  for (const t of TENANTS) {
    const o = orgFacts(t);
    hub.facts.salesforce.orgs[t] = {
      instanceUrl: hub.facts.salesforce.url ? `${hub.facts.salesforce.url}${o.path}` : '',
      accessToken: o.accessToken,
      orgId: o.orgId,
      clientId: o.clientId,
      clientSecret: o.clientSecret,
    };
  }
}

/** An empty hub (nothing started) and the closers of what is started into it. */
function emptyHub(): { hub: VendorHub; closers: (() => Promise<unknown>)[] } {
  const closers: (() => Promise<unknown>)[] = [];
  const hub: VendorHub = {
    facts: {
      stripe: {
        url: '',
        apiKey: STRIPE_SIM.restrictedKey,
        secretKey: STRIPE_SIM.secretKey,
        accounts: Object.fromEntries(TENANTS.map((t) => [t, STRIPE_SIM.tenants[t].account])) as Record<
          VendorSimTenant,
          string
        >,
      },
      hubspot: {
        url: '',
        tokens: Object.fromEntries(TENANTS.map((t) => [t, HUBSPOT_TENANTS[t].token])) as Record<
          VendorSimTenant,
          string
        >,
      },
      salesforce: { url: '', orgs: {} as VendorHubFacts['salesforce']['orgs'] },
    },
    ports: [],
    close: async () => {
      for (const c of closers.splice(0).reverse()) await c();
    },
  };
  return { hub, closers };
}

/** Starts the vendor simulators (a hub of its own); on failure, those already started are closed. */
export async function startVendorHub(opts: VendorHubOptions = {}): Promise<VendorHub> {
  const { hub, closers } = emptyHub();
  await startInto(
    hub,
    closers,
    opts.vendors ?? ['stripe', 'hubspot', 'salesforce'],
    opts.basePort ?? 0,
    opts.host ?? '127.0.0.1',
  );
  return hub;
}

/** The hubs {@link localVendorHub} runs in this process, by base port, with how many hold each. */
const shared = new Map<
  number,
  { hub: VendorHub; closers: (() => Promise<unknown>)[]; users: number; queue: Promise<unknown> }
>();

/**
 * The local fleet's ONE vendor hub of this process on `basePort` (default {@link VENDOR_SIM_PORT}):
 * the first caller starts it, later callers (another server's local set-up in the same `fleet start`)
 * get the same simulators, with the same state, and any vendor they need that is not running yet is
 * started into it. vendor-apis (Stripe reads) and admin (Stripe writes) so see one Stripe simulator:
 * a refund the admin server issues is what vendor-apis reads back. Each holder's `close()` releases
 * its hold; the simulators stop when the last holder closes.
 */
export async function localVendorHub(opts: VendorHubOptions = {}): Promise<VendorHub> {
  const base = opts.basePort ?? VENDOR_SIM_PORT;
  const host = opts.host ?? '127.0.0.1';
  const vendors = opts.vendors ?? ['stripe', 'hubspot', 'salesforce'];
  let entry = shared.get(base);
  if (!entry) {
    const { hub, closers } = emptyHub();
    entry = { hub, closers, users: 0, queue: Promise.resolve() };
    shared.set(base, entry);
  }
  const e = entry;
  // One start at a time per hub: two set-ups asking at once never start one simulator twice.
  const started = e.queue.then(() => startInto(e.hub, e.closers, vendors, base, host));
  e.queue = started.catch(() => {});
  try {
    await started;
  } catch (err) {
    if (e.users === 0 && e.closers.length === 0 && shared.get(base) === e) shared.delete(base);
    throw err;
  }
  e.users++;
  let released = false;
  const hub = e.hub;
  return {
    get facts() {
      return hub.facts;
    },
    get stripe() {
      return hub.stripe;
    },
    get hubspot() {
      return hub.hubspot;
    },
    get salesforce() {
      return hub.salesforce;
    },
    get ports() {
      return hub.ports;
    },
    close: async () => {
      if (released) return;
      released = true;
      e.users--;
      if (e.users > 0) return;
      if (shared.get(base) === e) shared.delete(base);
      await hub.close();
    },
  };
}
