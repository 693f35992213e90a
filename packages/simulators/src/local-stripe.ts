// `pnpm start` decides once whether Stripe is simulated, for both servers that use it: vendor-apis
// reads it (STRIPE_API_KEY, STRIPE_API_URL, or per tenant through VENDOR_TENANTS_FILE) and admin
// writes to it (STRIPE_WRITE_KEY, STRIPE_API_URL). Decided per server, one could read real Stripe
// while the other refunded on the simulator, or refunds went to real Stripe for ids read from the
// simulator. So: when ANY of these variables is set, neither server gets the simulator (a server whose
// own credential is then missing has its Stripe tools unlisted, and its set-up says so).

/** The variables by which Stripe is the operator's for the whole local fleet. */
export const LOCAL_STRIPE_VARIABLES = [
  'STRIPE_API_KEY',
  'STRIPE_API_URL',
  'STRIPE_WRITE_KEY',
  'VENDOR_TENANTS_FILE',
] as const;

/** Whether the local fleet gives vendor-apis and admin the (one, shared) Stripe simulator. */
export function localStripeSimulated(env: NodeJS.ProcessEnv): boolean {
  if (/^(off|0|false|no)$/i.test(env.FLEET_SIMULATORS ?? '')) return false;
  return !LOCAL_STRIPE_VARIABLES.some((v) => (env[v] ?? '').trim() !== '');
}

/** The variables of LOCAL_STRIPE_VARIABLES set in `env` (for the line saying why Stripe is not simulated). */
export function localStripeVariablesSet(env: NodeJS.ProcessEnv): string[] {
  return LOCAL_STRIPE_VARIABLES.filter((v) => (env[v] ?? '').trim() !== '');
}
