// Where things are in a checkout: the repo root, the local state folder, the servers and their ports.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ServerDefinition } from '@mcp-fleet/core';

/** The repository root (two levels above packages/cli/src). */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
/** Local state of `fleet start`: embedded PostgreSQL, dev issuer key, logs, sandbox files. */
export const FLEET_DIR = resolve(process.env.FLEET_DIR ?? join(ROOT, '.fleet'));
/** The policy the local fleet loads unless FLEET_POLICY_FILE says otherwise. */
export const EXAMPLE_POLICY = join(ROOT, 'deploy/policies/example.yaml');

/** The operator contract's local ports (ARCHITECTURE.md). */
export const LOCAL_PORTS: Readonly<Record<string, number>> = {
  issuer: 7400,
  database: 7401,
  communication: 7402,
  files: 7403,
  'vendor-apis': 7404,
  admin: 7405,
};
/** Port of the embedded PostgreSQL; not 5432, which machines often already use. */
export const LOCAL_PG_PORT = Number(process.env.FLEET_PG_PORT ?? 7432);
/** Issuer URL of the local dev issuer. */
export const LOCAL_ISSUER = `http://127.0.0.1:${process.env.FLEET_ISSUER_PORT ?? LOCAL_PORTS.issuer}`;
/** Scope every local dev token carries and every local server requires. */
export const LOCAL_SCOPE = 'mcp:tools';

/** A server package found under servers/. */
export interface ServerPackage {
  name: string;
  port: number;
  dir: string;
  main: string;
  definition: string;
  localSetup: string | undefined;
}

/** Every server package with an `mcpFleet` block, in port order. */
export function discoverServers(): ServerPackage[] {
  const dir = join(ROOT, 'servers');
  if (!existsSync(dir)) return [];
  const found: ServerPackage[] = [];
  for (const entry of readdirSync(dir)) {
    const pkgFile = join(dir, entry, 'package.json');
    if (!existsSync(pkgFile)) continue;
    const pkg = JSON.parse(readFileSync(pkgFile, 'utf8')) as {
      mcpFleet?: { name: string; port?: number; localSetup?: string };
    };
    if (!pkg.mcpFleet) continue;
    const name = pkg.mcpFleet.name;
    found.push({
      name,
      port: Number(
        process.env[`FLEET_PORT_${name.toUpperCase().replace(/-/g, '_')}`] ??
          pkg.mcpFleet.port ??
          LOCAL_PORTS[name],
      ),
      dir: join(dir, entry),
      main: join(dir, entry, 'src/main.ts'),
      definition: join(dir, entry, 'src/definition.ts'),
      localSetup: pkg.mcpFleet.localSetup ? join(dir, entry, pkg.mcpFleet.localSetup) : undefined,
    });
  }
  return found.sort((a, b) => a.port - b.port);
}

/** The local resource URL (token audience) of a server. */
export function localResource(name: string): string {
  const port = discoverServers().find((s) => s.name === name)?.port ?? LOCAL_PORTS[name];
  if (port === undefined)
    throw new Error(
      `unknown server "${name}"; known: ${Object.keys(LOCAL_PORTS)
        .filter((k) => k !== 'issuer')
        .join(', ')}`,
    );
  return `http://127.0.0.1:${port}/mcp`;
}

/** Loads a server's definition (tools, no connectors) for policy checks. */
export async function loadDefinition(server: ServerPackage): Promise<ServerDefinition<unknown>> {
  const mod = (await import(server.definition)) as { default: ServerDefinition<unknown> };
  return mod.default;
}
