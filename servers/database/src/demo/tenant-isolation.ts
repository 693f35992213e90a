// Row-level security of the demo warehouse: each call's transaction carries the token's tenant in
// the setting fleet.tenant (set by the fleet, see connectors/warehouse.ts), and these policies show
// a call only its tenant's rows, whatever SQL it runs. docs/database.md shows the same pattern for
// a platform team's own tables.

import { ALL_TENANTS } from '../connectors/warehouse.js';

/** The setting every policy reads: the caller's tenant, `*` for a token without a tenant claim. */
export const TENANT_SETTING = 'fleet.tenant';

const setting = `current_setting('${TENANT_SETTING}', true)`;

/**
 * The row filter of a table with a tenant column. An unset setting (NULL: a session that did not
 * come through the fleet) or an empty one (reset) matches no row: fail closed.
 */
export function tenantColumnFilter(column = 'tenant'): string {
  return `${column} = ${setting} OR ${setting} = '${ALL_TENANTS}'`;
}

/** The row filter of a table whose rows belong to a tenant through a customer id. */
export function tenantByCustomerFilter(customerColumn = 'customer_id'): string {
  return `${setting} = '${ALL_TENANTS}' OR ${customerColumn} IN (SELECT c.id FROM sales.customers c WHERE c.tenant = ${setting})`;
}

/** Statements enabling a policy on `table` (idempotent: the policy is replaced). */
export function tenantPolicySql(table: string, using: string): string[] {
  return [
    `ALTER TABLE ${table} ENABLE ROW LEVEL SECURITY`,
    // The owner too, unless it is a superuser (superusers and BYPASSRLS roles always bypass).
    `ALTER TABLE ${table} FORCE ROW LEVEL SECURITY`,
    `DROP POLICY IF EXISTS fleet_tenant ON ${table}`,
    `CREATE POLICY fleet_tenant ON ${table} FOR SELECT USING (${using})`,
  ];
}

/** Every table of the demo dataset belongs to one tenant: customers directly, the rest by customer. */
export function demoTenantIsolationSql(): string[] {
  return [
    ...tenantPolicySql('sales.customers', tenantColumnFilter()),
    ...[
      'sales.orders',
      'billing.subscriptions',
      'billing.invoices',
      'support.tickets',
      'product.events',
    ].flatMap((t) => tenantPolicySql(t, tenantByCustomerFilter())),
    // Views run with their owner's rights unless told otherwise, and the owner (the admin that
    // built them) bypasses row-level security: read the tables as the caller instead (PG 15+).
    `ALTER VIEW support.open_tickets SET (security_invoker = true)`,
    `ALTER VIEW billing.monthly_revenue SET (security_invoker = true)`,
  ];
}
