// A server's manifest: `package.json#mcpFleet`, the one place its name, port, description, secrets
// and egress are written. The definition, the CLI, the testkit, the Helm generator and the bench
// read it from there.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { FleetError } from './errors.js';
import type { ServerDefinition } from './server.js';
import type { AnyTool } from './tools/tool.js';

const secretEnvSchema = z.object({
  /** Key in the Kubernetes Secret (credentials.existingSecret). */
  key: z.string().regex(/^[A-Za-z0-9._-]+$/),
  optional: z.boolean().default(false),
  description: z.string().min(1),
});

/** `package.json#mcpFleet`. */
export const manifestSchema = z.object({
  /** Server name: audience path segment, policy server name, chart name, migrations namespace. */
  name: z.string().regex(/^[a-z][a-z0-9]*(-[a-z0-9]+)*$/, 'lowercase words joined by "-"'),
  /** Local default port (PORT overrides it). */
  port: z.number().int().min(1024).max(65535),
  /** One sentence: what the server gives agents (chart description, `fleet start`). */
  description: z.string().min(1),
  /** Module (relative to the package) whose `prepareLocal` seeds what `pnpm start` needs. */
  localSetup: z.string().optional(),
  /** Environment variables the Helm chart reads from the server's Secret. */
  secretEnv: z.record(z.string().regex(/^[A-Z][A-Z0-9_]*$/), secretEnvSchema).default({}),
  /**
   * Environment variables that change the server's tool list (e.g. a file of saved queries, each a
   * tool), with what they supply; `fleet policy check` prints the value it used for each.
   */
  toolEnv: z.record(z.string().regex(/^[A-Z][A-Z0-9_]*$/), z.string().min(1)).default({}),
  /** Outbound TCP the chart's NetworkPolicy allows beyond DNS, the fleet database, Redis and the IdP. */
  egress: z
    .record(z.string(), z.object({ ports: z.array(z.number().int()).min(1), comment: z.string() }))
    .default({}),
  /** Other chart values that differ from the library's defaults (e.g. a volume). */
  helmValues: z.record(z.string(), z.unknown()).optional(),
});

/** A server's manifest, parsed; `version` is the package's. */
export type ServerManifest = z.output<typeof manifestSchema> & { version: string };

/** Parses a package.json object's `mcpFleet` block; throws FLEET_ERR_CONFIG saying what is wrong. */
export function serverManifest(pkg: { name?: string; version?: string; mcpFleet?: unknown }): ServerManifest {
  const parsed = manifestSchema.safeParse(pkg.mcpFleet);
  if (!parsed.success) {
    const detail = parsed.error.issues.map((i) => `mcpFleet.${i.path.join('.')}: ${i.message}`).join('; ');
    throw new FleetError(
      'FLEET_ERR_CONFIG',
      `invalid server manifest in ${pkg.name ?? 'package.json'}: ${detail}`,
    );
  }
  return { ...parsed.data, version: pkg.version ?? '0.0.0' };
}

/** The manifest of the package holding `moduleUrl` (the nearest package.json above it). */
export function readManifest(moduleUrl: string | URL): ServerManifest {
  let dir = dirname(fileURLToPath(moduleUrl));
  for (;;) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) return serverManifest(JSON.parse(readFileSync(file, 'utf8')));
    const up = dirname(dir);
    if (up === dir) throw new FleetError('FLEET_ERR_CONFIG', `no package.json above ${String(moduleUrl)}`);
    dir = up;
  }
}

type Declared<C, Cfg> = Omit<ServerDefinition<C, Cfg>, 'name' | 'version' | 'defaultPort' | 'tools'>;

/**
 * A server definition whose name, version and port come from its manifest:
 * `export default defineServer(import.meta.url, { instructions, config, tools, connect })`.
 * A static tool list stays visible as a list on the result (`definition.tools`).
 */
export function defineServer<C, Cfg = undefined>(
  manifest: string | URL | ServerManifest,
  def: Declared<C, Cfg> & { tools: readonly AnyTool<C>[] },
): ServerDefinition<C, Cfg> & { tools: readonly AnyTool<C>[] };
export function defineServer<C, Cfg>(
  manifest: string | URL | ServerManifest,
  def: Declared<C, Cfg> & { tools: (config: Cfg) => readonly AnyTool<C>[] },
): ServerDefinition<C, Cfg>;
export function defineServer<C, Cfg>(
  manifest: string | URL | ServerManifest,
  def: Declared<C, Cfg> & { tools: readonly AnyTool<C>[] | ((config: Cfg) => readonly AnyTool<C>[]) },
): ServerDefinition<C, Cfg> {
  const m = typeof manifest === 'string' || manifest instanceof URL ? readManifest(manifest) : manifest;
  return { name: m.name, version: m.version, defaultPort: m.port, ...def } as ServerDefinition<C, Cfg>;
}

/** What `fleet start` (and a test) passes to a server's `prepareLocal`. */
export interface LocalSetupContext {
  /** Superuser URL of the embedded PostgreSQL. */
  adminUrl: string;
  /** Absolute path of the fleet's `.fleet/` directory. */
  fleetDir: string;
  /** Progress lines for the person running `pnpm start`. */
  log: (message: string) => void;
}
