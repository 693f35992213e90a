// Boots a fleet server for a test on a real socket: its own issuer, policy file and fleet database.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createFleetServer, type ServerDefinition } from '@mcp-fleet/core';
import type { CreateServerOptions, FleetServer } from '@mcp-fleet/core/internal';
import { stringify } from 'yaml';
import { DevIssuer, type MintOptions } from './dev-issuer.js';
import { freePort } from './postgres.js';

/** Options for {@link bootServer}. */
export interface BootOptions {
  /** Policy document (object or YAML text) written to a file the server watches. */
  policy: unknown;
  issuer?: DevIssuer;
  /** Fleet database URL; omit for a server without a durable audit store. */
  databaseUrl?: string;
  env?: Record<string, string | undefined>;
  serverOptions?: CreateServerOptions;
}

/** A server booted for a test. */
export interface BootedServer {
  server: FleetServer;
  issuer: DevIssuer;
  /** Base URL, e.g. http://127.0.0.1:41234 */
  baseUrl: string;
  /** MCP endpoint URL (also the token audience). */
  url: string;
  policyFile: string;
  /** Mints a token for this server (audience preset). */
  token(o: Omit<MintOptions, 'aud'> & { aud?: string | string[] }): Promise<string>;
  /** Rewrites the policy file (the server picks it up by polling). */
  writePolicy(policy: unknown): void;
  close(): Promise<void>;
}

/** Starts `def` on a free loopback port with a dev issuer and the given policy. */
export async function bootServer<C, Cfg>(
  def: ServerDefinition<C, Cfg>,
  o: BootOptions,
): Promise<BootedServer> {
  const issuer = o.issuer ?? (await DevIssuer.create());
  const ownIssuer = !o.issuer;
  if (ownIssuer) await issuer.listen();
  const dir = mkdtempSync(join(tmpdir(), `fleet-${def.name}-`));
  const policyFile = join(dir, 'policy.yaml');
  const writePolicy = (p: unknown) => writeFileSync(policyFile, typeof p === 'string' ? p : stringify(p));
  writePolicy(o.policy);
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  const server = await createFleetServer(def, {
    ...o.serverOptions,
    env: {
      HOST: '127.0.0.1',
      PORT: String(port),
      PUBLIC_URL: baseUrl,
      AUTH_ISSUER: issuer.issuer,
      AUTH_JWKS_URL: issuer.jwksUrl,
      POLICY_FILE: policyFile,
      POLICY_POLL_MS: '100',
      LOG_LEVEL: 'silent',
      AUDIT_STDOUT: 'false',
      ...(o.databaseUrl ? { DATABASE_URL: o.databaseUrl } : {}),
      ...o.env,
    },
  });
  await server.listen();
  const url = `${baseUrl}/mcp`;
  return {
    server,
    issuer,
    baseUrl,
    url,
    policyFile,
    token: (m) => issuer.mint({ ...m, aud: m.aud ?? url }),
    writePolicy,
    async close() {
      await server.close();
      if (ownIssuer) await issuer.close();
    },
  };
}
