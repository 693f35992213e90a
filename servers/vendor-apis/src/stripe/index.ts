// Stripe for the vendor-apis server: what the glue needs (connector, key posture, tools).
export {
  type CallBounds,
  classifyStripeError,
  StripeConnector,
  type StripeKeyPosture,
  stripeKeyPosture,
} from './connector.js';
export { customerSearchQuery, quoteSearchValue } from './search-query.js';
export { stripeTools } from './tools/index.js';
