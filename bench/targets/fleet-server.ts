// The fleet server under test, one process per variant (chosen by BENCH_FLEET_VARIANT):
// - production: `runServerMain(definition)` — exactly what a server's main.ts runs, configured by env;
// - sdk-path:   the same server built by createFleetServer with the protocol host's fast path off;
// - bare:       core's HTTP app + protocol host + call pipeline with the JWT check replaced by a stub,
//               no fleet database, allow-all policy, no audit output: governance as far off as core allows.
import {
  AuditLog,
  attachGovernance,
  buildHttpApp,
  createFleetServer,
  createLogger,
  createMetrics,
  type FleetRuntime,
  Governance,
  loadCoreConfig,
  PolicyStore,
  runServerMain,
  type TokenVerifier,
  ToolRegistry,
} from '@mcp-fleet/core';
import { benchServer } from '../lib/echo-tool.js';

const variant = process.env.BENCH_FLEET_VARIANT ?? 'production';

async function serveUntilSigterm(listen: () => Promise<unknown>, close: () => Promise<void>): Promise<void> {
  await listen();
  process.on('SIGTERM', () => void close().then(() => process.exit(0)));
}

if (variant === 'production') {
  await runServerMain(benchServer);
} else if (variant === 'sdk-path') {
  const server = await createFleetServer(benchServer, { mcp: { fastPath: false } });
  await serveUntilSigterm(
    () => server.listen(),
    () => server.close(),
  );
} else if (variant === 'bare') {
  const config = loadCoreConfig(process.env, benchServer.defaultPort);
  const logger = createLogger({ level: 'warn', name: benchServer.name });
  const metrics = createMetrics(benchServer.name);
  const registry = new ToolRegistry(benchServer.tools);
  const policy = new PolicyStore(
    { server: benchServer.name, registry, logger },
    {
      version: 1,
      roles: {
        all: {
          description: '',
          grants: [
            { servers: ['*'], tools: ['*'], access: 'all', except: [], constraints: {}, approval: [] },
          ],
        },
      },
    },
  );
  const audit = new AuditLog({
    pool: undefined,
    logger,
    metrics,
    stdout: false,
    flushMs: 200,
    queueMax: 1000,
  });
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
  const identity = {
    agentId: 'bench-bare',
    roles: ['all'],
    scopes: [],
    tenant: undefined,
    user: undefined,
    session: undefined,
    issuer: undefined,
    expiresAt: undefined,
    claims: {},
  };
  // Stands in for TokenVerifier: no signature check, a fixed identity. Diagnostic only, never shipped.
  const verifier = { verify: async () => identity } as unknown as TokenVerifier;
  // Core's governance runtime without a fleet DB or Redis: in-process limiter state, cache, inflight calls.
  attachGovernance(runtime, new Governance({ server: benchServer.name, config, logger, metrics }));
  const app = buildHttpApp(runtime, { verifier });
  await serveUntilSigterm(
    () => app.listen({ host: config.host, port: config.port }),
    () => app.close(),
  );
} else {
  throw new Error(`unknown BENCH_FLEET_VARIANT ${variant}`);
}
