// The Stripe simulator's public surface (re-exported by the package index).
export {
  CUSTOMER_SEARCH_FIELDS,
  matchesSearch,
  parseSearchQuery,
  type SearchClause,
  type SearchQuery,
  SearchQueryError,
} from './search.js';
export {
  type SimAccount,
  type SimCustomer,
  type SimInvoice,
  type SimPaymentIntent,
  type SimSubscription,
  STRIPE_INJECTION_NAME,
  STRIPE_SIM,
  type StripeSimTenant,
  stableId,
  stripeCustomerId,
  stripeSubscriptionId,
} from './seed.js';
export {
  type StartedStripeSimulator,
  type StripeKeyUsed,
  type StripeRecordedRequest,
  StripeSimulator,
  startStripeSimulator,
} from './simulator.js';
