// A server's manifest: `package.json#mcpFleet`, the one place its name, port, description, secrets
// and egress are written. The definition, the CLI, the testkit, the Helm generator and the bench
// read it from there.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { coreEnvSchema } from './config.js';
import { FleetError } from './errors.js';
import type { ServerDefinition } from './server.js';
import type { AnyTool } from './tools/tool.js';

/**
 * Characters no manifest string may hold: control characters (C0, DEL, C1 — U+0085 NEL among them)
 * and the Unicode line and paragraph separators. Helm's YAML parser breaks lines at NEL, LS and PS
 * where JavaScript's does not, so one of these in a description would let it write chart keys.
 */
export const UNSAFE_TEXT = /[\p{Cc}\u0085\u2028\u2029]/u;

/** Longest server name: leaves room in 63-character Kubernetes names for `<release>-<server>-...`. */
export const MAX_SERVER_NAME = 40;

/** An egress rule's name (a key of the chart's networkPolicy.egress.allow). */
export const EGRESS_NAME = /^[a-z][a-z0-9-]{0,62}$/;

/** An environment variable a manifest may declare. */
export const ENV_NAME = /^[A-Z][A-Z0-9_]*$/;

/**
 * Environment variables a server's manifest may not take for its secrets: every variable core
 * reads (its config loader's keys; the chart sets these itself). NODE_* (Node's own) neither.
 * helm/mcp-fleet-lib/server-values.schema.json refuses the same list (a test keeps them equal).
 */
export const CORE_ENV_NAMES: readonly string[] = Object.keys(coreEnvSchema.shape).sort();

/** Whether a server's secretEnv may name `name`. */
export function isServerEnvName(name: string): boolean {
  return ENV_NAME.test(name) && !name.startsWith('NODE_') && !CORE_ENV_NAMES.includes(name);
}

const text = (min = 0) =>
  z
    .string()
    .min(min)
    .refine((s) => !UNSAFE_TEXT.test(s), 'no control characters or line separators');

const secretEnvSchema = z.object({
  /** Key in the Kubernetes Secret (credentials.existingSecret). */
  key: z.string().regex(/^[A-Za-z0-9._-]+$/),
  optional: z.boolean().default(false),
  description: text(1),
});

/** Every string (and object key) in a manifest, with its path, for the control-character rule. */
function* strings(value: unknown, path: (string | number)[] = []): Generator<[(string | number)[], string]> {
  if (typeof value === 'string') yield [path, value];
  else if (Array.isArray(value)) for (const [i, v] of value.entries()) yield* strings(v, [...path, i]);
  else if (value && typeof value === 'object')
    for (const [k, v] of Object.entries(value)) {
      yield [[...path, k], k];
      yield* strings(v, [...path, k]);
    }
}

/** `package.json#mcpFleet`. */
export const manifestSchema = z
  .object({
    /** Server name: audience path segment, policy server name, chart name, migrations namespace. */
    name: z
      .string()
      .max(MAX_SERVER_NAME)
      .regex(/^[a-z][a-z0-9]*(-[a-z0-9]+)*$/, 'lowercase words joined by "-"'),
    /** Local default port (PORT overrides it). */
    port: z.number().int().min(1024).max(65535),
    /** One sentence: what the server gives agents (chart description, `fleet start`). */
    description: text(1),
    /** Module (relative to the package) whose `prepareLocal` seeds what `pnpm start` needs. */
    localSetup: text().optional(),
    /** Environment variables the Helm chart reads from the server's Secret (never one core reads). */
    secretEnv: z
      .record(
        z
          .string()
          .refine(isServerEnvName, 'an upper-case variable name that core does not read (nor NODE_*)'),
        secretEnvSchema,
      )
      .default({}),
    /**
     * Environment variables that change the server's tool list (e.g. a file of saved queries, each a
     * tool), with what they supply; `fleet policy check` prints the value it used for each.
     */
    toolEnv: z.record(z.string().regex(/^[A-Z][A-Z0-9_]*$/), z.string().min(1)).default({}),
    /** Outbound TCP the chart's NetworkPolicy allows beyond DNS, the fleet database, Redis and the IdP. */
    egress: z
      .record(
        z.string().regex(EGRESS_NAME, 'lowercase letters, digits and "-", starting with a letter'),
        z.object({ ports: z.array(z.number().int().min(1).max(65535)).min(1), comment: text() }),
      )
      .default({}),
    /** Other chart values that differ from the library's defaults (e.g. a volume). */
    helmValues: z.record(z.string(), z.unknown()).optional(),
  })
  .superRefine((m, ctx) => {
    // Every string and key, including toolEnv and helmValues: nothing a chart or a log prints may
    // carry a line break that one parser sees and another does not.
    for (const [path, s] of strings(m))
      if (UNSAFE_TEXT.test(s))
        ctx.addIssue({ code: 'custom', path, message: 'no control characters or line separators' });
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
  // Name, version and port are the manifest's alone: the name is the server's audience, policy
  // name and migrations namespace, so code may not claim another one.
  const claimed = ['name', 'version', 'defaultPort'].filter((k) => Object.hasOwn(def, k));
  if (claimed.length > 0)
    throw new FleetError(
      'FLEET_ERR_CONFIG',
      `server ${m.name}: ${claimed.join(', ')} come from package.json#mcpFleet, not from defineServer's definition`,
    );
  return { ...def, name: m.name, version: m.version, defaultPort: m.port } as ServerDefinition<C, Cfg>;
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
