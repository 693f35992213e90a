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
  currencyExponent,
  type SimAccount,
  type SimCustomer,
  type SimInvoice,
  type SimPaymentIntent,
  type SimPrice,
  type SimRefund,
  type SimSubscription,
  STRIPE_DEMO,
  STRIPE_INJECTION_NAME,
  STRIPE_SIM,
  STRIPE_THREE_DECIMAL,
  STRIPE_ZERO_DECIMAL,
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
