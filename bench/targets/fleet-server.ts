// The fleet server under test, one process per variant (chosen by BENCH_FLEET_VARIANT):
// - production: `runServerMain(definition)` — exactly what a server's main.ts runs, configured by env;
// - sdk-path:   the same server built by createFleetServer with the protocol host's fast path off;
// - bare:       createFleetServer with the JWT check replaced by a stub, an allow-all policy, no fleet
//               database and no audit output: governance as far off as core allows.
import { createFleetServer, runServerMain } from '@mcp-fleet/core';
import type { TokenVerifier } from '@mcp-fleet/core/internal';
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
  const identity = {
    ...{ agentId: 'bench-bare', roles: ['all'], scopes: [], claims: {} },
    ...{ tenant: undefined, user: undefined, session: undefined, issuer: undefined, expiresAt: undefined },
  };
  const grant = { servers: ['*'], tools: ['*'], access: 'all', except: [], constraints: {}, approval: [] };
  const server = await createFleetServer(benchServer, {
    env: { ...process.env, DATABASE_URL: '', REDIS_URL: '' },
    // Stands in for TokenVerifier: no signature check, a fixed identity. Diagnostic only, never shipped.
    verifier: { verify: async () => identity } as Pick<TokenVerifier, 'verify'>,
    policy: { version: 1, roles: { all: { description: '', grants: [grant] } } } as never,
    auditWrite: () => {},
  });
  await serveUntilSigterm(
    () => server.listen(),
    () => server.close(),
  );
} else {
  throw new Error(`unknown BENCH_FLEET_VARIANT ${variant}`);
}
