// Local set-up for `pnpm start`: for each vendor (Stripe, HubSpot, Salesforce) whose variables are not
// set, starts its local simulator (the vendor's real HTTP API for the endpoints used, demo data of the
// demo warehouse's customers, clearly labelled) and points the server at it; a variable that is set
// passes through, so the local fleet can talk to a real vendor.
//
// With every vendor simulated the server runs multi-tenant, as production does: a tenant map
// (`<fleet dir>/vendor-tenants.yaml`) gives `acme` and `globex` their own Stripe account, HubSpot portal
// and Salesforce org, tokens in variables the map names; `initech` is left out on purpose (its agents
// are refused: a tenant missing from the map is never served with other credentials). When some vendor
// comes from your environment (global credentials: a single-tenant deployment), the simulated ones are
// single-tenant too and serve acme's data to every caller. VENDOR_TENANTS_FILE set: nothing simulated.
// Stripe is decided once for this server and admin (localStripeSimulated): any of STRIPE_API_KEY,
// STRIPE_API_URL, STRIPE_WRITE_KEY or VENDOR_TENANTS_FILE set, and neither gets the simulator (one
// reading real Stripe while the other refunds on the simulator is never what you meant).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LocalSetupContext } from '@mcp-fleet/core';
import {
  LOCAL_STRIPE_VARIABLES,
  localStripeSimulated,
  localStripeVariablesSet,
  localVendorHub,
  VENDOR_SIM_PORT,
  type VendorHub,
} from '@mcp-fleet/simulators';
import { stringify } from 'yaml';
import type { Vendor } from './tenants.js';

/** The variables that configure each vendor: when any is set, the vendor is the operator's, not simulated. */
export const VENDOR_VARIABLES: Record<Vendor, readonly string[]> = {
  stripe: LOCAL_STRIPE_VARIABLES.filter((v) => v !== 'VENDOR_TENANTS_FILE'),
  hubspot: ['HUBSPOT_ACCESS_TOKEN', 'HUBSPOT_API_URL'],
  salesforce: [
    'SALESFORCE_INSTANCE_URL',
    'SALESFORCE_ACCESS_TOKEN',
    'SALESFORCE_CLIENT_ID',
    'SALESFORCE_CLIENT_SECRET',
  ],
};

/** The tenants of the local tenant map (initech left out on purpose). */
export const LOCAL_TENANTS = ['acme', 'globex'] as const;

/** The local tenant map's file name inside the fleet directory. */
export const LOCAL_TENANTS_FILE = 'vendor-tenants.yaml';

const VENDORS: readonly Vendor[] = ['stripe', 'hubspot', 'salesforce'];

/** The vendors none of whose variables are set in `env` (those the local fleet simulates). */
export function simulatedVendors(env: NodeJS.ProcessEnv): Vendor[] {
  const set = (name: string) => (env[name] ?? '').trim() !== '';
  if (set('VENDOR_TENANTS_FILE')) return [];
  return VENDORS.filter((v) => (v === 'stripe' ? localStripeSimulated(env) : !VENDOR_VARIABLES[v].some(set)));
}

/** The base port of the vendor simulators (+0 Stripe, +1 HubSpot, +2 Salesforce); 0 = any free ports. */
function basePort(env: NodeJS.ProcessEnv): number {
  const raw = env.FLEET_VENDOR_SIM_PORT;
  if (raw === undefined || raw.trim() === '') return VENDOR_SIM_PORT;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > 65533)
    throw new Error(`FLEET_VENDOR_SIM_PORT must be a port number (0-65533), got "${raw}"`);
  return n;
}

/** This set-up's hold on the process's one vendor hub (shared with admin's Stripe writes; lives as long as `pnpm start`). */
let running: VendorHub | undefined;

/** The variable holding a tenant's secret in the local map, e.g. LOCAL_HUBSPOT_TOKEN_ACME. */
const varOf = (vendor: 'HUBSPOT' | 'SALESFORCE', tenant: string) =>
  `LOCAL_${vendor}_TOKEN_${tenant.toUpperCase()}`;

/**
 * Starts the simulators of the unconfigured vendors and returns the server's extra environment.
 * `env` (default process.env) decides what is configured; FLEET_SIMULATORS=off starts none.
 */
export async function prepareLocal(
  ctx: LocalSetupContext,
  env: NodeJS.ProcessEnv = process.env,
): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const vendors = /^(off|0|false|no)$/i.test(env.FLEET_SIMULATORS ?? '') ? [] : simulatedVendors(env);
  const passed = VENDORS.filter((v) => !vendors.includes(v));
  if ((env.VENDOR_TENANTS_FILE ?? '').trim())
    ctx.log(`VENDOR_TENANTS_FILE is set: every vendor from your environment, nothing simulated`);
  else if (passed.length > 0) ctx.log(`vendors from your environment (not simulated): ${passed.join(', ')}`);
  if (!vendors.includes('stripe') && (env.STRIPE_API_KEY ?? '').trim() === '') {
    const why = localStripeVariablesSet(env);
    ctx.log(
      `Stripe: STRIPE_API_KEY is not set: the Stripe tools are not listed` +
        (why.length > 0
          ? ` (Stripe is simulated for neither vendor-apis nor admin: ${why.join(', ')} ${why.length > 1 ? 'are' : 'is'} set; set STRIPE_API_KEY too, or none of them)`
          : ' (FLEET_SIMULATORS=off)'),
    );
  }
  if (vendors.length === 0) return out;

  const port = basePort(env);
  try {
    running = await localVendorHub({ basePort: port, host: '127.0.0.1', vendors });
  } catch (err) {
    throw new Error(
      `the vendor simulators did not start on 127.0.0.1:${port}-${port + 2}: ${(err as Error).message}. ` +
        'Is another fleet running? Stop it, or set FLEET_VENDOR_SIM_PORT.',
    );
  }
  const sim = running.facts;
  // Every vendor simulated: multi-tenant, as production; otherwise single-tenant like the real vendor.
  const multiTenant = passed.length === 0;
  if (multiTenant) {
    const tenants: Record<string, Record<string, unknown>> = {};
    for (const t of LOCAL_TENANTS) {
      tenants[t] = {
        stripe: { account: sim.stripe.accounts[t] },
        hubspot: { tokenEnv: varOf('HUBSPOT', t) },
        salesforce: { instanceUrl: sim.salesforce.orgs[t].instanceUrl, tokenEnv: varOf('SALESFORCE', t) },
      };
      out[varOf('HUBSPOT', t)] = sim.hubspot.tokens[t];
      out[varOf('SALESFORCE', t)] = sim.salesforce.orgs[t].accessToken;
    }
    const dir = ctx.fleetDir;
    mkdirSync(dir, { recursive: true });
    const file = join(dir, LOCAL_TENANTS_FILE);
    writeFileSync(
      file,
      `# The local fleet's vendor tenant map (written by \`pnpm start\`; simulators only, not real accounts).\n` +
        `# initech is left out on purpose: its agents are refused by every vendor tool.\n${stringify({ tenants })}`,
    );
    out.VENDOR_TENANTS_FILE = file;
    out.STRIPE_API_KEY = sim.stripe.apiKey;
    out.STRIPE_API_URL = sim.stripe.url;
    out.HUBSPOT_API_URL = sim.hubspot.url;
  } else {
    if (vendors.includes('stripe'))
      Object.assign(out, { STRIPE_API_KEY: sim.stripe.apiKey, STRIPE_API_URL: sim.stripe.url });
    if (vendors.includes('hubspot'))
      Object.assign(out, { HUBSPOT_ACCESS_TOKEN: sim.hubspot.tokens.acme, HUBSPOT_API_URL: sim.hubspot.url });
    if (vendors.includes('salesforce'))
      Object.assign(out, {
        SALESFORCE_INSTANCE_URL: sim.salesforce.orgs.acme.instanceUrl,
        SALESFORCE_ACCESS_TOKEN: sim.salesforce.orgs.acme.accessToken,
      });
  }
  ctx.log(
    `SIMULATED ${vendors.join(', ')}: local vendor simulators on 127.0.0.1:${running.ports.join(', ')}, nothing leaves this machine` +
      (multiTenant
        ? ` (tenant map ${LOCAL_TENANTS_FILE}: ${LOCAL_TENANTS.join(', ')}; initech left out on purpose)`
        : ' (single-tenant: every caller sees acme)'),
  );
  return out;
}

/** Stops the simulators this process started (tests; `pnpm start` ends with its process). */
export async function closeLocal(): Promise<void> {
  const hub = running;
  running = undefined;
  await hub?.close();
}
