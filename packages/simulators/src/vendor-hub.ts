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

/** Starts the vendor simulators; on failure, those already started are closed. */
export async function startVendorHub(opts: VendorHubOptions = {}): Promise<VendorHub> {
  const base = opts.basePort ?? 0;
  const host = opts.host ?? '127.0.0.1';
  const want = new Set(opts.vendors ?? ['stripe', 'hubspot', 'salesforce']);
  const at = (offset: number) => (base === 0 ? 0 : base + offset);
  const closers: (() => Promise<unknown>)[] = [];
  const close = async () => {
    for (const c of closers.reverse()) await c();
  };
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
    close,
  };
  try {
    if (want.has('stripe')) {
      const s = await startStripeSimulator({ port: at(0), host });
      closers.push(() => s.close());
      hub.stripe = s.simulator;
      hub.facts.stripe.url = s.url;
      hub.ports.push(portOf(s.url));
    }
    if (want.has('hubspot')) {
      const s = await startHubSpotSimulator({ port: at(1), host });
      closers.push(() => s.close());
      hub.hubspot = s.simulator;
      hub.facts.hubspot.url = s.url;
      hub.ports.push(portOf(s.url));
    }
    if (want.has('salesforce')) {
      const s = await startSalesforceSimulator({ port: at(2), host });
      closers.push(() => s.close());
      hub.salesforce = s.simulator;
      hub.facts.salesforce.url = s.url;
      hub.ports.push(portOf(s.url));
    }
  } catch (err) {
    await close();
    throw err;
  }
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
  return hub;
}
