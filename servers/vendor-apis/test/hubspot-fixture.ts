// Boots vendor-apis with the HubSpot tools against a HubSpot simulator, through the shared boot helper
// (vendor-server.ts): a tenant map giving acme and globex their own portal tokens (initech left out),
// short HubSpot timeouts so a hung request is seen quickly. The server is the real definition: Stripe and
// Salesforce are not configured, so only the HubSpot tools are listed.
import { hubspotContactId, type StartedHubSpotSimulator, startHubSpotSimulator } from '@mcp-fleet/simulators';
import { bootVendor, type VendorServer, writeTenantMap } from './vendor-server.js';

/** A booted server and its simulator. */
export interface HubSpotFixture {
  f: VendorServer;
  sim: StartedHubSpotSimulator;
}

/** Starts a simulator and the server against it; `env` adds or overrides variables. */
export async function bootHubSpot(prefix: string, env: Record<string, string> = {}): Promise<HubSpotFixture> {
  const sim = await startHubSpotSimulator();
  const map = writeTenantMap({
    tenants: {
      acme: { hubspot: { tokenEnv: 'HUBSPOT_TOKEN_ACME' } },
      globex: { hubspot: { tokenEnv: 'HUBSPOT_TOKEN_GLOBEX' } },
    },
  });
  const f = await bootVendor({
    prefix,
    env: {
      HUBSPOT_API_URL: sim.url,
      VENDOR_TENANTS_FILE: map,
      HUBSPOT_TOKEN_ACME: sim.tenants.acme.token,
      HUBSPOT_TOKEN_GLOBEX: sim.tenants.globex.token,
      VENDOR_APIS_HUBSPOT_TIMEOUT_MS: '1000',
      VENDOR_APIS_BREAKER_THRESHOLD: '10',
      VENDOR_APIS_BREAKER_HALF_OPEN_MS: '1000',
      ...env,
    },
    upstreams: [sim],
  });
  return { f, sim };
}

/** A warehouse customer as seeded in a portal (its company and billing contact). */
export interface Customer {
  id: number;
  name: string;
  email: string;
  country: string;
}

/** The first warehouse customer seeded in a tenant's portal. */
export function firstCustomer(fx: HubSpotFixture, tenant: 'acme' | 'globex' | 'initech'): Customer {
  const company = [...fx.sim.simulator.portal(tenant).companies.values()][0]!;
  const id = Number(company.properties.domain!.match(/^customer(\d+)\./)![1]);
  const contact = fx.sim.simulator.portal(tenant).contacts.get(hubspotContactId(id))!;
  return {
    id,
    name: company.properties.name!,
    email: contact.properties.email!,
    country: company.properties.country!,
  };
}
