// Which Stripe account, HubSpot portal and Salesforce org serve a caller: decided by the token's tenant
// claim and the tenant map (VENDOR_TENANTS_FILE), never by arguments. With no map, the global
// credentials serve every caller (a single-tenant deployment); with a map, a tenant missing from it is
// refused, never served with other credentials. Secrets are named in the map by the environment
// variable that holds them (a Kubernetes Secret), so the map itself is a plain ConfigMap.
import { readFileSync } from 'node:fs';
import { type Env, FleetError, type Identity, ToolError } from '@mcp-fleet/core';
import { parse } from 'yaml';
import { z } from 'zod';
import { type VendorApisEnv, vendorUrlProblem } from './config.js';

/** The three vendors of this server. */
export type Vendor = 'stripe' | 'hubspot' | 'salesforce';
export const VENDORS: readonly Vendor[] = ['stripe', 'hubspot', 'salesforce'];

/** The breaker key (and client key) of a single-tenant deployment's one tenant. */
export const SINGLE = '(single tenant)';

/** How a person calls each vendor, in messages. */
export const VENDOR_NAMES: Record<Vendor, string> = {
  stripe: 'Stripe',
  hubspot: 'HubSpot',
  salesforce: 'Salesforce',
};

/** Stripe of one tenant: the connected account its requests are made on (`Stripe-Account`). */
export interface StripeTenant {
  /** `acct_…`; undefined in a single-tenant deployment (the key's own account). */
  account?: string;
}
/** HubSpot of one tenant: the private app token of its portal. */
export interface HubSpotTenant {
  token: string;
}
/** Salesforce of one tenant: its org's instance URL and credentials. */
export interface SalesforceTenant {
  instanceUrl: string;
  /** An access token, or a client-credentials login (clientId + clientSecret). */
  accessToken?: string;
  clientId?: string;
  clientSecret?: string;
}

/** The vendors of one caller's tenant (a vendor absent here is not configured for that tenant). */
export interface TenantVendors {
  /** The tenant's name; `null` in a single-tenant deployment (no map). */
  tenant: string | null;
  stripe?: StripeTenant;
  hubspot?: HubSpotTenant;
  salesforce?: SalesforceTenant;
}

const envName = z.string().regex(/^[A-Z_][A-Z0-9_]{0,127}$/, 'an environment variable name');
const tenantName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/);

/** VENDOR_TENANTS_FILE's shape. */
export const tenantsFileSchema = z
  .object({
    tenants: z.record(
      tenantName,
      z
        .object({
          stripe: z
            .object({
              account: z.string().regex(/^acct_[A-Za-z0-9]{1,250}$/, 'a Stripe account id (acct_…)'),
            })
            .strict()
            .optional(),
          hubspot: z.object({ tokenEnv: envName }).strict().optional(),
          salesforce: z
            .object({
              instanceUrl: z.string().superRefine((v, ctx) => {
                const why = vendorUrlProblem(v);
                if (why) ctx.addIssue({ code: 'custom', message: `instanceUrl ${why}` });
              }),
              tokenEnv: envName.optional(),
              clientIdEnv: envName.optional(),
              clientSecretEnv: envName.optional(),
            })
            .strict()
            .refine(
              (s) =>
                s.tokenEnv !== undefined || (s.clientIdEnv !== undefined && s.clientSecretEnv !== undefined),
              {
                message: 'salesforce needs tokenEnv, or clientIdEnv and clientSecretEnv',
              },
            )
            .optional(),
        })
        .strict(),
    ),
  })
  .strict();

/** The tenant directory: one per server process, built at start-up. */
export class TenantDirectory {
  /** `null`: no map, single-tenant. */
  private readonly map: Map<string, TenantVendors> | null;
  private readonly single: TenantVendors;

  private constructor(map: Map<string, TenantVendors> | null, single: TenantVendors) {
    this.map = map;
    this.single = single;
  }

  /**
   * Reads the map (when VENDOR_TENANTS_FILE is set) and the secrets it names from `vars`. Throws
   * FLEET_ERR_CONFIG for an unreadable or invalid map, or a named variable that is not set.
   */
  static load(config: VendorApisEnv, vars: Env): TenantDirectory {
    const single: TenantVendors = { tenant: null };
    if (config.stripeApiKey) single.stripe = {};
    if (config.hubspotAccessToken) single.hubspot = { token: config.hubspotAccessToken };
    if (
      config.salesforceInstanceUrl &&
      (config.salesforceAccessToken || (config.salesforceClientId && config.salesforceClientSecret))
    )
      single.salesforce = {
        instanceUrl: config.salesforceInstanceUrl,
        accessToken: config.salesforceAccessToken,
        clientId: config.salesforceClientId,
        clientSecret: config.salesforceClientSecret,
      };
    if (!config.vendorTenantsFile) return new TenantDirectory(null, single);

    const fail = (why: string): never => {
      throw new FleetError('FLEET_ERR_CONFIG', `VENDOR_TENANTS_FILE (${config.vendorTenantsFile}): ${why}`);
    };
    let raw: unknown;
    try {
      raw = parse(readFileSync(config.vendorTenantsFile, 'utf8'));
    } catch (err) {
      fail(`cannot be read as YAML (${(err as Error).message.split('\n')[0]})`);
    }
    // The YAML parser turns a `__proto__` key into the prototype (it vanishes from the keys zod sees):
    // check the own names, including that one, before anything else (attack D-2).
    const tenantsNode = (raw as { tenants?: unknown } | null)?.tenants;
    if (tenantsNode && typeof tenantsNode === 'object') {
      for (const name of Object.getOwnPropertyNames(tenantsNode))
        if (!tenantName.safeParse(name).success) fail(`a tenant name is invalid (letters, digits, . _ -)`);
      if (!Array.isArray(tenantsNode) && Object.getPrototypeOf(tenantsNode) !== Object.prototype)
        fail('a tenant is named __proto__, which is not a valid tenant name');
    }
    const parsed = tenantsFileSchema.safeParse(raw);
    if (!parsed.success) fail(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
    // The message names the field, never the variable's name: a secret pasted there must not be echoed (D-3).
    const secret = (tenant: string, field: string, name: string): string => {
      const v = Object.hasOwn(vars, name) ? vars[name]?.trim() : undefined;
      if (!v) fail(`tenant ${tenant}: ${field} names a variable that is not set`);
      return v as string;
    };
    const map = new Map<string, TenantVendors>();
    for (const [tenant, t] of Object.entries(parsed.data!.tenants)) {
      const out: TenantVendors = { tenant };
      // Stripe: the global key, on the tenant's connected account; no key, no Stripe for anyone.
      if (t.stripe && config.stripeApiKey) out.stripe = { account: t.stripe.account };
      if (t.hubspot) out.hubspot = { token: secret(tenant, 'hubspot.tokenEnv', t.hubspot.tokenEnv) };
      if (t.salesforce)
        out.salesforce = {
          instanceUrl: t.salesforce.instanceUrl,
          accessToken: t.salesforce.tokenEnv
            ? secret(tenant, 'salesforce.tokenEnv', t.salesforce.tokenEnv)
            : undefined,
          clientId: t.salesforce.clientIdEnv
            ? secret(tenant, 'salesforce.clientIdEnv', t.salesforce.clientIdEnv)
            : undefined,
          clientSecret: t.salesforce.clientSecretEnv
            ? secret(tenant, 'salesforce.clientSecretEnv', t.salesforce.clientSecretEnv)
            : undefined,
        };
      map.set(tenant, out);
    }
    return new TenantDirectory(map, single);
  }

  /** A map is in force (multi-tenant). */
  get multiTenant(): boolean {
    return this.map !== null;
  }

  /** The tenants of the map (empty in a single-tenant deployment). */
  get tenants(): string[] {
    return this.map ? [...this.map.keys()] : [];
  }

  /** Every tenant's vendors (the single tenant's when there is no map), e.g. to build clients. */
  all(): TenantVendors[] {
    return this.map ? [...this.map.values()] : [this.single];
  }

  /** True when the vendor serves at least one tenant (otherwise its tools are not listed). */
  configured(vendor: Vendor): boolean {
    return this.all().some((t) => t[vendor] !== undefined);
  }

  /**
   * The vendor of the caller's tenant. Throws ToolError `tenant_not_configured` when the map has no
   * entry for the caller's tenant (or the token has none), or the tenant has no such vendor.
   */
  resolve<V extends Vendor>(
    identity: Pick<Identity, 'tenant'>,
    vendor: V,
  ): NonNullable<TenantVendors[V]> & { tenant: string | null } {
    let entry: TenantVendors | undefined;
    if (this.map === null) entry = this.single;
    else if (identity.tenant !== undefined) entry = this.map.get(identity.tenant);
    if (entry === undefined)
      throw new ToolError(
        identity.tenant === undefined
          ? `${VENDOR_NAMES[vendor]} is configured per tenant on this server and your token names no tenant; ask an operator.`
          : `your tenant is not configured for ${VENDOR_NAMES[vendor]} on this server; ask an operator to add it to the tenant map.`,
        'tenant_not_configured',
      );
    const v = entry[vendor];
    if (v === undefined)
      throw new ToolError(
        `${VENDOR_NAMES[vendor]} is not configured for your tenant on this server; ask an operator.`,
        'tenant_not_configured',
      );
    return { ...v, tenant: entry.tenant } as NonNullable<TenantVendors[V]> & { tenant: string | null };
  }
}
