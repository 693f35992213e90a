// The local identity provider (issue 15): an OAuth 2.1 / OpenID Connect provider for the local fleet
// and tests. See docs/identity.md.
export {
  type ConsoleClientOptions,
  type DevIdp,
  type DevIdpOptions,
  isLoopbackRedirect,
  resourceKind,
  startDevIdp,
} from './idp.js';
export { loadSigningKey, type SigningKeySource } from './signing-key.js';
export { checkPassword, type DevPerson, type DevUser, idpUsers } from './users.js';
