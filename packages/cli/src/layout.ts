// Where things are in a checkout: the repo root, the local state folder, and the servers (found by
// their manifests, package.json#mcpFleet, which hold their names and ports).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ServerDefinition } from '@mcp-fleet/core';
import { declaredToolsOf, type ServerManifest, serverManifest } from '@mcp-fleet/core/internal';

/** The repository root (two levels above packages/cli/src). */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
/** Local state of `fleet start`: embedded PostgreSQL, dev issuer key, logs, sandbox files. */
export const FLEET_DIR = resolve(process.env.FLEET_DIR ?? join(ROOT, '.fleet'));
/** The policy the local fleet loads unless POLICY_FILE (or its alias FLEET_POLICY_FILE) says otherwise. */
export const EXAMPLE_POLICY = join(ROOT, 'deploy/policies/example.yaml');

/** Port of the local dev token issuer (FLEET_ISSUER_PORT overrides it). Servers' ports are in their manifests. */
export const LOCAL_ISSUER_PORT = 7400;
/** Port of the embedded PostgreSQL; not 5432, which machines often already use. */
export const LOCAL_PG_PORT = Number(process.env.FLEET_PG_PORT ?? 7432);
/** The local fleet database (`fleet start`'s embedded PostgreSQL), for commands run without DATABASE_URL. */
export const LOCAL_FLEET_DATABASE_URL = `postgres://fleet:fleet@127.0.0.1:${LOCAL_PG_PORT}/fleet`;
/** Issuer URL of the local dev issuer. */
export const LOCAL_ISSUER = `http://127.0.0.1:${process.env.FLEET_ISSUER_PORT ?? LOCAL_ISSUER_PORT}`;
/** Scope every local dev token carries and every local server requires. */
export const LOCAL_SCOPE = 'mcp:tools';

/** A server package found under servers/: its manifest and where its files are. */
export interface ServerPackage {
  name: string;
  /** The local port: FLEET_PORT_<NAME> or the manifest's. */
  port: number;
  manifest: ServerManifest;
  dir: string;
  main: string;
  definition: string;
  localSetup: string | undefined;
}

/** Every server package under `root`/servers with an `mcpFleet` manifest, in port order. */
export function discoverServers(root = ROOT): ServerPackage[] {
  const dir = join(root, 'servers');
  if (!existsSync(dir)) return [];
  const found: ServerPackage[] = [];
  for (const entry of readdirSync(dir).sort()) {
    const pkgFile = join(dir, entry, 'package.json');
    if (!existsSync(pkgFile)) continue;
    const pkg = JSON.parse(readFileSync(pkgFile, 'utf8')) as { mcpFleet?: unknown };
    if (!pkg.mcpFleet) continue;
    const manifest = serverManifest(pkg);
    const overrideName = `FLEET_PORT_${manifest.name.toUpperCase().replace(/-/g, '_')}`;
    const override = process.env[overrideName];
    if (
      override !== undefined &&
      (!/^[0-9]{4,5}$/.test(override) || Number(override) < 1024 || Number(override) > 65535)
    )
      throw new Error(`${overrideName}="${override}": a decimal port from 1024 to 65535`);
    found.push({
      name: manifest.name,
      port: Number(override ?? manifest.port),
      manifest,
      dir: join(dir, entry),
      main: join(dir, entry, 'src/main.ts'),
      definition: join(dir, entry, 'src/definition.ts'),
      localSetup: manifest.localSetup ? join(dir, entry, manifest.localSetup) : undefined,
    });
  }
  // Two packages under one name or on one port: `fleet start` would report one ready while the
  // other died on EADDRINUSE, and each would claim the other's audience and migrations namespace.
  for (const [i, s] of found.entries()) {
    const clash = found.slice(0, i).find((o) => o.name === s.name || o.port === s.port);
    if (clash)
      throw new Error(
        `${relative(root, clash.dir)} and ${relative(root, s.dir)} both declare ${clash.name === s.name ? `server "${s.name}"` : `port ${s.port}`}: each server needs its own name and port`,
      );
  }
  return found.sort((a, b) => a.port - b.port);
}

/** The local resource URL (token audience) of a server in this checkout. */
export function localResource(name: string): string {
  const servers = discoverServers();
  const port = servers.find((s) => s.name === name)?.port;
  if (port === undefined)
    throw new Error(
      `unknown server "${name}"; servers in this checkout: ${servers.map((s) => s.name).join(', ')}`,
    );
  return `http://127.0.0.1:${port}/mcp`;
}

/**
 * A server's declarations (name, tools for this environment, migrations) without its connectors
 * or configuration, for policy checks, `fleet migrate` and tests that only need what it declares.
 */
export async function loadDefinition(
  server: ServerPackage,
): Promise<ServerDefinition<unknown> & { unlistedReasons: Readonly<Record<string, string>> }> {
  const def = ((await import(server.definition)) as { default: ServerDefinition<unknown, unknown> }).default;
  // Every tool the server declares for this environment, listed or not: a policy is judged against
  // all of them, and explain says why one is not listed (its upstream is not configured...).
  const { tools, unlisted } = declaredToolsOf(def, process.env);
  return {
    name: def.name,
    version: def.version,
    defaultPort: def.defaultPort,
    ...(def.instructions ? { instructions: def.instructions } : {}),
    tools,
    unlistedReasons: unlisted,
    ...(def.migrations ? { migrations: def.migrations } : {}),
  };
}
