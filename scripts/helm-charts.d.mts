// Types of scripts/helm-charts.mjs for the TypeScript tests that import it.
/** One server's chart settings. */
export interface ServerChart {
  name: string;
  port: number;
  description: string;
  secretEnv: Record<string, { key: string; optional: boolean; description: string }>;
  egress: Record<string, { ports: number[]; comment: string }>;
  values?: Record<string, unknown>;
}
export declare const SERVERS: ServerChart[];
/** The servers' chart settings from their manifests (and scripts/planned-servers.json) under `rootDir`. */
export declare function readServers(rootDir?: string): ServerChart[];
export declare const CHART_VERSION: string;
export declare const APP_VERSION: string;
/** Every generated chart file, as absolute path -> content. */
export declare function renderCharts(): Map<string, string>;
