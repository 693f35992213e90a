// Local set-up for `pnpm start`: the admin server's upstreams on this machine unless you point it at
// real ones. The user directory: the SCIM 2.0 simulator (demo people of DEMO_PEOPLE, the same alice,
// bob and carol the local IdP signs in) on 127.0.0.1:7415 (FLEET_SCIM_SIM_PORT) unless SCIM_BASE_URL or
// SCIM_TOKEN is set. Stripe: THE Stripe simulator of the vendor hub, the very one vendor-apis reads
// (one process, one state: a refund issued here is what vendor-apis reads back), with the admin write
// key, unless any Stripe variable is set (STRIPE_WRITE_KEY, STRIPE_API_URL, or vendor-apis'
// STRIPE_API_KEY or VENDOR_TENANTS_FILE: decided once for both servers, localStripeSimulated; without
// STRIPE_WRITE_KEY the refund tools are then unlisted, and this says so). A variable that is set passes through
// untouched (`pnpm start` gives every server your environment). Protected principals and the admins
// group get the demo directory's values unless set.
import type { LocalSetupContext } from '@mcp-fleet/core';
import {
  localStripeSimulated,
  localStripeVariablesSet,
  localVendorHub,
  SCIM_SIM,
  STRIPE_SIM,
  type StartedScimSimulator,
  startScimSimulator,
  VENDOR_SIM_PORT,
  type VendorHub,
} from '@mcp-fleet/simulators';

/** Default port of the SCIM simulator in the local fleet (FLEET_SCIM_SIM_PORT). */
export const SCIM_SIM_PORT: number = SCIM_SIM.port;

/** The variables that configure each upstream: when any is set, it is the operator's, not simulated. */
export const ADMIN_UPSTREAM_VARIABLES = {
  scim: ['SCIM_BASE_URL', 'SCIM_TOKEN'],
  stripe: ['STRIPE_WRITE_KEY', 'STRIPE_API_URL', 'STRIPE_API_KEY', 'VENDOR_TENANTS_FILE'],
} as const;

/** What the local fleet sets unless the variable is set: the demo directory's protected principals and groups. */
export const LOCAL_ADMIN_DEFAULTS: Readonly<Record<string, string>> = {
  ADMIN_PROTECTED_USERS: 'breakglass,billing-contact,fleet-service',
  ADMIN_GROUP: 'fleet-admins',
  APPROVER_GROUP: 'fleet-approvers',
};

const isSet = (env: NodeJS.ProcessEnv, name: string) => (env[name] ?? '').trim() !== '';

/** A port variable: unset → `def`; 0 = any free port. */
function portOf(env: NodeJS.ProcessEnv, name: string, def: number, max = 65535): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return def;
  const n = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || !Number.isInteger(n) || n < 0 || n > max)
    throw new Error(`${name} must be a port number (0-${max}), got "${raw}"`);
  return n;
}

/** What this process started for the admin server (kept until `closeLocal`). */
let scim: StartedScimSimulator | undefined;
let hub: VendorHub | undefined;

/**
 * Starts the simulated upstreams and returns the admin server's extra environment. `env` (default
 * process.env) decides what is configured; FLEET_SIMULATORS=off starts none.
 */
export async function prepareLocal(
  ctx: LocalSetupContext,
  env: NodeJS.ProcessEnv = process.env,
): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(LOCAL_ADMIN_DEFAULTS)) if (!isSet(env, name)) out[name] = value;

  const off = /^(off|0|false|no)$/i.test(env.FLEET_SIMULATORS ?? '');
  const simulateScim = !off && !ADMIN_UPSTREAM_VARIABLES.scim.some((v) => isSet(env, v));
  // Decided once for admin and vendor-apis: both on the one simulator, or neither.
  const simulateStripe = localStripeSimulated(env);
  const passed = [...(simulateScim ? [] : ['SCIM directory']), ...(simulateStripe ? [] : ['Stripe'])];
  if (passed.length > 0)
    ctx.log(
      `from your environment (not simulated): ${passed.join(', ')}${off ? ' (FLEET_SIMULATORS=off)' : ''}`,
    );
  if (!simulateStripe && !isSet(env, 'STRIPE_WRITE_KEY')) {
    const why = localStripeVariablesSet(env);
    ctx.log(
      `Stripe: STRIPE_WRITE_KEY is not set: issue_refund and change_subscription_plan are not listed` +
        (why.length > 0
          ? ` (Stripe is simulated for neither admin nor vendor-apis: ${why.join(', ')} ${why.length > 1 ? 'are' : 'is'} set; set STRIPE_WRITE_KEY too, or none of them)`
          : ' (FLEET_SIMULATORS=off)'),
    );
  }

  if (simulateScim) {
    const port = portOf(env, 'FLEET_SCIM_SIM_PORT', SCIM_SIM_PORT);
    try {
      scim = await startScimSimulator({ port, host: '127.0.0.1' });
    } catch (err) {
      throw new Error(
        `the SCIM simulator did not start on 127.0.0.1:${port}: ${(err as Error).message}. ` +
          'Is another fleet running? Stop it, or set FLEET_SCIM_SIM_PORT.',
      );
    }
    out.SCIM_BASE_URL = scim.baseUrl;
    out.SCIM_TOKEN = scim.token;
    ctx.log(
      `SIMULATED SCIM directory: ${out.SCIM_BASE_URL} (demo people; alice, bob and carol are the IdP's dev users), nothing leaves this machine`,
    );
  }

  if (simulateStripe) {
    const base = portOf(env, 'FLEET_VENDOR_SIM_PORT', VENDOR_SIM_PORT, 65533);
    try {
      // The vendor hub of this process: vendor-apis' local set-up gets this same Stripe simulator.
      hub = await localVendorHub({ basePort: base, host: '127.0.0.1', vendors: ['stripe'] });
    } catch (err) {
      throw new Error(
        `the Stripe simulator did not start on 127.0.0.1:${base}: ${(err as Error).message}. ` +
          'Is another fleet running? Stop it, or set FLEET_VENDOR_SIM_PORT.',
      );
    }
    out.STRIPE_API_URL = hub.facts.stripe.url;
    out.STRIPE_WRITE_KEY = STRIPE_SIM.writeKey;
    ctx.log(
      `SIMULATED Stripe: ${hub.facts.stripe.url} (the vendor hub's Stripe simulator, shared with vendor-apis; acme's account, the admin write key), nothing leaves this machine`,
    );
  }
  return out;
}

/** Stops what this process started for the admin server (tests; `pnpm start` ends with its process). */
export async function closeLocal(): Promise<void> {
  const [s, h] = [scim, hub];
  scim = undefined;
  hub = undefined;
  await s?.close();
  await h?.close();
}
