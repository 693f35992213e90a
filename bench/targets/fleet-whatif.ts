// What-if (bench-only prototype, NOT core): the governed server of section 3, assembled exactly as
// createFleetServer does, except that verified tokens are remembered for a short while, so an agent
// reusing its token skips the ES256 signature check. Measures the gain of the change suggested to core.
import {
  AuditLog,
  attachGovernance,
  buildHttpApp,
  CORE_MIGRATIONS,
  createFleetPool,
  createLogger,
  createMetrics,
  type FleetRuntime,
  Governance,
  type Identity,
  loadCoreConfig,
  migrate,
  PolicyStore,
  type ReadinessCheck,
  TokenVerifier,
  ToolRegistry,
} from '@mcp-fleet/core';
import { benchServer } from '../lib/echo-tool.js';

/** Remembers verified tokens (key: the whole header, signature included) until min(exp, 60 s). */
function cachingVerifier(inner: TokenVerifier, maxEntries = 10_000, maxAgeMs = 60_000): TokenVerifier {
  const cache = new Map<string, { identity: Identity; until: number }>();
  return {
    async verify(authorization: string | undefined): Promise<Identity> {
      const now = Date.now();
      if (authorization) {
        const hit = cache.get(authorization);
        if (hit && now < hit.until) return hit.identity;
        if (hit) cache.delete(authorization);
      }
      const identity = await inner.verify(authorization);
      if (authorization) {
        if (cache.size >= maxEntries) cache.delete(cache.keys().next().value as string);
        cache.set(authorization, {
          identity,
          until: Math.min(now + maxAgeMs, (identity.expiresAt ?? 0) * 1000),
        });
      }
      return identity;
    },
  } as TokenVerifier;
}

const config = loadCoreConfig(process.env, benchServer.defaultPort);
const logger = createLogger({ level: config.logLevel, name: benchServer.name });
const metrics = createMetrics(benchServer.name);
const registry = new ToolRegistry(benchServer.tools);
const policy = new PolicyStore({
  server: benchServer.name,
  registry,
  logger,
  file: config.policyFile,
  pollMs: config.policyPollMs,
});
const fleetDb = config.databaseUrl ? createFleetPool(config.databaseUrl, logger) : undefined;
if (fleetDb) await migrate(fleetDb, CORE_MIGRATIONS, logger);
const audit = new AuditLog({
  pool: fleetDb,
  logger,
  metrics,
  stdout: config.audit.stdout,
  flushMs: config.audit.flushMs,
  queueMax: config.audit.queueMax,
});
const verifier = cachingVerifier(await TokenVerifier.create(config.auth));
const runtime: FleetRuntime = {
  server: benchServer.name,
  version: benchServer.version,
  config,
  registry,
  policy,
  audit,
  metrics,
  logger,
  connectors: undefined,
};
const governance = new Governance({ server: benchServer.name, config, logger, metrics, fleetDb });
attachGovernance(runtime, governance);
const readiness: ReadinessCheck[] = [...governance.readiness()];
const app = buildHttpApp(runtime, { verifier, readiness });
policy.watch();
governance.start();
await app.listen({ host: config.host, port: config.port });
process.on('SIGTERM', () => {
  policy.close();
  void app
    .close()
    .then(() => audit.close())
    .then(() => governance.close())
    .then(() => fleetDb?.end())
    .then(() => process.exit(0));
});
