// Everything the governed pipeline needs for one server, assembled once at start-up.
import type { AuditLog } from '../audit/audit-log.js';
import type { CoreConfig } from '../config.js';
import type { Logger } from '../observability/logger.js';
import type { FleetMetrics } from '../observability/metrics.js';
import type { PolicyStore } from '../policy/policy-store.js';
import type { ToolRegistry } from '../tools/registry.js';

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
}
