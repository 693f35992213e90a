// The Stripe tools, in the order tools/list shows them: one file per tool, one line here.
import type { AnyTool } from '@mcp-fleet/core';
import { stripeGetCustomer } from './get-customer.js';
import { stripeGetSubscription } from './get-subscription.js';
import { stripeListInvoices } from './list-invoices.js';
import { stripeListPayments } from './list-payments.js';
import { stripeSearchCustomers } from './search-customers.js';

export const stripeTools: AnyTool[] = [
  stripeSearchCustomers,
  stripeGetCustomer,
  stripeListInvoices,
  stripeListPayments,
  stripeGetSubscription,
];
