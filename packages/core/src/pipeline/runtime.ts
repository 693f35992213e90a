// Everything the governed pipeline needs for one server, assembled once at start-up.
import type { AuditLog } from '../audit/audit-log.js';
import type { CoreConfig } from '../config.js';
import type { GovernanceStores } from '../governance/stores.js';
import type { ToolError } from '../kernel/errors.js';
import type { Logger } from '../observability/logger.js';
import type { FleetMetrics } from '../observability/metrics.js';
import type { PolicyStore } from '../policy/policy-store.js';
import type { ToolRegistry } from '../tools/registry.js';
import type { ServerStep } from './governed-call.js';

/** The per-server runtime shared by the protocol host, the admin API and the CLI. */
export interface FleetRuntime {
  server: string;
  version: string;
  config: CoreConfig;
  registry: ToolRegistry;
  policy: PolicyStore;
  audit: AuditLog;
  metrics: FleetMetrics;
  logger: Logger;
  connectors: unknown;
  /** Limiters, cache, in-flight calls, idempotency and approval stores (built in server.ts). */
  governance: GovernanceStores;
  /** The server's steps at the chain's named slots (`ServerDefinition.steps`). */
  steps?: readonly ServerStep[] | undefined;
  /** Turns a handler's failure that is not a ToolError into one (`ServerDefinition.mapError`). */
  mapError?: ((err: unknown) => ToolError | undefined) | undefined;
}
