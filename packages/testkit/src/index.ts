// The public surface of @mcp-fleet/testkit.
export { type BootedServer, type BootOptions, bootServer } from './boot.js';
export { type ClientEra, connectClient, connectLegacy, connectModern, type TestClient } from './clients.js';
export { type ApproverMintOptions, DevIssuer, type MintOptions } from './dev-issuer.js';
export {
  type OtlpLink,
  type OtlpReceiver,
  type OtlpSpan,
  startOtlpReceiver,
  untilDefined,
} from './otlp.js';
export { EXAMPLE_POLICY_FILE, examplePolicy, policyWithoutThrottling } from './policy.js';
export {
  createTestDatabase,
  type EmbeddedOptions,
  freePort,
  type PostgresHandle,
  startEmbeddedPostgres,
  startTestPostgres,
} from './postgres.js';
export { type RedisHandle, startTestRedis, testRedisUrl } from './redis.js';
export {
  type CallOutcome,
  callOutcome,
  clientAs,
  connectAs,
  dataOf,
  eventually,
  listedNames,
  outcomeOf,
  type ResultLike,
  silentLogger,
  textOf,
} from './results.js';
