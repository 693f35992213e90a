// The vendor-apis server's environment: the credentials and URLs of Stripe, HubSpot and Salesforce
// (global, for a single-tenant deployment), the tenant map (VENDOR_TENANTS_FILE), per-vendor
// timeouts and breakers, and the Salesforce field allow-lists. A vendor with no credentials has no
// listed tools; a full Stripe secret key leaves the Stripe tools unlisted unless explicitly allowed.
import { type Env, env, parseEnv, upstreamUrlProblem } from '@mcp-fleet/core';
import { z } from 'zod';
import { TenantDirectory } from './tenants.js';

const { int, bool } = env;
const optional = env.text();
/**
 * Why a vendor base URL is refused, or undefined when it is acceptable: core's rules for an upstream URL
 * (https, plain http only to this machine; no user name or password, query or fragment; never quoted).
 */
export const vendorUrlProblem = (v: string): string | undefined => upstreamUrlProblem(v);
const httpUrl = (name: string) =>
  optional.superRefine((v, ctx) => {
    const why = v === undefined ? undefined : vendorUrlProblem(v);
    if (why) ctx.addIssue({ code: 'custom', message: `${name} ${why}` });
  });
/** `Object.Field` names, comma or space separated. */
const objectFields = (def: string) =>
  z
    .string()
    .optional()
    .transform((v) => (v === undefined || v.trim() === '' ? def : v))
    .pipe(
      z
        .string()
        .transform((v) => v.split(/[\s,]+/).filter(Boolean))
        .pipe(
          z.array(
            z.string().regex(/^[A-Za-z][A-Za-z0-9_]{0,79}\.[A-Za-z][A-Za-z0-9_]{0,79}$/, 'Object.Field'),
          ),
        ),
    );

/** The example configuration's writable Salesforce fields (the issue's list). */
export const DEFAULT_SALESFORCE_UPDATE_FIELDS =
  'Account.Description,Account.Rating,Contact.Title,Contact.Description,Opportunity.NextStep,Opportunity.Description';

/** Environment of the vendor-apis server (core's variables are parsed by core). */
export const configSchema = env.config('VENDOR_APIS_', {
  /** Stripe API key: a restricted key (rk_…); a full secret key (sk_…) only with STRIPE_ALLOW_SECRET_KEY. */
  STRIPE_API_KEY: optional,
  /** Stripe API base URL (a local simulator in the local fleet). */
  STRIPE_API_URL: httpUrl('STRIPE_API_URL').transform((v) => v ?? 'https://api.stripe.com'),
  /** Accept a full secret key (sk_…) for the read tools. Default false: the Stripe tools are not listed. */
  STRIPE_ALLOW_SECRET_KEY: bool(false),
  /** HubSpot private app access token (single-tenant; the tenant map names one per tenant). */
  HUBSPOT_ACCESS_TOKEN: optional,
  /** HubSpot API base URL. */
  HUBSPOT_API_URL: httpUrl('HUBSPOT_API_URL').transform((v) => v ?? 'https://api.hubapi.com'),
  /** Salesforce org instance URL (single-tenant), e.g. https://acme.my.salesforce.com. */
  SALESFORCE_INSTANCE_URL: httpUrl('SALESFORCE_INSTANCE_URL'),
  /** Salesforce access token of SALESFORCE_INSTANCE_URL. */
  SALESFORCE_ACCESS_TOKEN: optional,
  /**
   * Or a client-credentials login (a connected app of SALESFORCE_INSTANCE_URL): the server gets and
   * renews its own access token instead of SALESFORCE_ACCESS_TOKEN.
   */
  SALESFORCE_CLIENT_ID: optional,
  SALESFORCE_CLIENT_SECRET: optional,
  /** Salesforce REST API version used for every call. */
  SALESFORCE_API_VERSION: z
    .string()
    .optional()
    .transform((v) => (v === undefined || v.trim() === '' ? '62.0' : v.trim()))
    .pipe(z.string().regex(/^\d{2,3}\.0$/, 'SALESFORCE_API_VERSION looks like 62.0')),
  /** YAML file (a ConfigMap) mapping each tenant to its Stripe account, HubSpot portal and Salesforce org. */
  VENDOR_TENANTS_FILE: optional,
  /** Fields salesforce_update_record may change, as Object.Field. */
  SALESFORCE_UPDATE_FIELDS: objectFields(DEFAULT_SALESFORCE_UPDATE_FIELDS),
  /** Timeout of one upstream request per vendor (ms). */
  VENDOR_APIS_STRIPE_TIMEOUT_MS: int(10_000, 100, 120_000),
  VENDOR_APIS_HUBSPOT_TIMEOUT_MS: int(10_000, 100, 120_000),
  VENDOR_APIS_SALESFORCE_TIMEOUT_MS: int(10_000, 100, 120_000),
  /** Retries of a read after a 5xx, a timeout or a 429 (a write is retried only after a 429). */
  VENDOR_APIS_READ_RETRIES: int(2, 0, 5),
  /** How long one vendor's readiness probe answer is reused by /readyz (ms; 0 = probe on every /readyz). */
  VENDOR_APIS_PROBE_TTL_MS: int(15_000, 0, 300_000),
  /** Consecutive failures that open a vendor's circuit breaker. */
  VENDOR_APIS_BREAKER_THRESHOLD: int(5, 1, 10),
  /** How long an open breaker waits before one trial request (ms). */
  VENDOR_APIS_BREAKER_HALF_OPEN_MS: int(30_000, 1_000, 60_000),
});

/** The parsed variables. */
export type VendorApisEnv = z.output<typeof configSchema>;

/** The parsed configuration: the variables and the tenant directory built from them. */
export type VendorApisConfig = VendorApisEnv & { tenants: TenantDirectory };

/** Parses the environment and the tenant map; throws FLEET_ERR_CONFIG naming what is wrong. */
export function loadConfig(vars: Env): VendorApisConfig {
  const parsed = parseEnv(configSchema, vars, 'vendor-apis');
  return { ...parsed, tenants: TenantDirectory.load(parsed, vars) };
}
