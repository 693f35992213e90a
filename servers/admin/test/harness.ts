// The admin server's test harness: a real fleet database (testkit PostgreSQL), the local IdP
// (@mcp-fleet/idp, the console signs in there), the vendor simulators (Stripe, the one the billing
// tools write to), the SCIM simulator when the simulators package has it, and the admin server
// itself (its definition with the console's routes) on a real socket. Browser tests, console tests
// and attackers reuse it: `startAdminHarness()` and then tokens, MCP clients and the upstreams'
// recorded requests.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createFleetServer, type ServerDefinition } from '@mcp-fleet/core';
import type { FleetServer } from '@mcp-fleet/core/internal';
import { type DevIdp, startDevIdp } from '@mcp-fleet/idp';
import * as simulators from '@mcp-fleet/simulators';
import {
  connectClient,
  createTestDatabase,
  DevIssuer,
  examplePolicy,
  freePort,
  type TestClient,
} from '@mcp-fleet/testkit';
import { stringify } from 'yaml';
import definition from '../src/definition.js';
import { adminHttp, consoleConfig, consoleMigrations } from '../src/http.js';

/** One request through the prefix proxy. */
export interface ProxiedRequest {
  path: string;
  forwarded: boolean;
  status?: number;
  /** The body of a text/html answer, once it has passed the proxy in full. */
  html?: string;
}

/** The console's client secret in tests. */
export const CONSOLE_SECRET = 'console-test-secret-0123456789abcdef';
/** The approvers' group (APPROVER_GROUP). */
export const APPROVER_GROUP = 'fleet-approvers';

/** Options of {@link startAdminHarness}. */
export interface AdminHarnessOptions {
  /** The policy (default: the example policy without throttling). */
  policy?: unknown;
  /** Extra environment of the admin server. */
  env?: Record<string, string | undefined>;
  /** A name for the test database. */
  dbName?: string;
  /**
   * Publish the server under this path prefix (e.g. `/admin`), as the umbrella chart's one-host
   * Ingress/HTTPRoute does: PUBLIC_URL is `<proxy>/admin`, and a proxy in front of the server strips
   * the prefix (and answers 404 to any path outside it), so a URL the console gives without the
   * prefix leads nowhere.
   */
  publicPath?: string;
}

/** A running admin server with everything it talks to. */
export interface AdminHarness {
  db: { url: string; drop: () => Promise<void> };
  idp: DevIdp;
  /** The vendor hub (its `stripe` simulator records what reached it). */
  hub: Awaited<ReturnType<typeof simulators.startVendorHub>>;
  /** The SCIM simulator (the user directory). */
  scim: simulators.StartedScimSimulator;
  server: FleetServer;
  /** The server's own socket (no prefix). */
  baseUrl: string;
  /** PUBLIC_URL: baseUrl, or the prefix proxy's origin + publicPath. */
  publicUrl: string;
  /**
   * What the prefix proxy forwarded or refused (paths as the browser sent them), with the status and,
   * for an HTML answer, its whole body as it passed the proxy (a browser cannot always read the body
   * of a page it left at once, such as the sign-in callback's meta-refresh page).
   */
  proxied: ProxiedRequest[];
  mcpUrl: string;
  consoleUrl: string;
  /** Environment the admin server was started with (to start a second server against the same fleet). */
  env: Record<string, string | undefined>;
  /** An agent token for /mcp of `aud` (default the admin server), signed with the IdP's key. */
  agentToken(o: {
    user: string;
    roles?: string[];
    sub?: string;
    sid?: string;
    aud?: string;
    tenant?: string;
  }): Promise<string>;
  /** An approver token for an approvals API (default the admin server's), as `fleet token --approver`. */
  approverToken(login: string, o?: { groups?: string[]; aud?: string }): Promise<string>;
  /** An MCP client as an agent acting for `user`. */
  agent(o: { user: string; roles?: string[]; sub?: string; sid?: string }): Promise<TestClient>;
  /** What reached the Stripe simulator (over its control plane, GET /_simulator/requests). */
  stripeRequests(): Promise<{ operation: string; method: string; path: string; params: unknown }[]>;
  writePolicy(policy: unknown): void;
  close(): Promise<void>;
}

type AnyDefinition = ServerDefinition<unknown, unknown>;

/** The admin definition with the console's routes and tables (until the definition has them itself). */
export function adminDefinition(): AnyDefinition {
  const def = definition as unknown as AnyDefinition;
  const ids = new Set((def.migrations ?? []).map((m) => m.id.replace(/^admin\//, '')));
  const config = def.config;
  return {
    ...def,
    // The console's settings ride on the admin configuration (`console`), as adminHttp reads them.
    config: (env) => {
      const c = (config ? config(env) : {}) as Record<string, unknown>;
      return c.console ? c : { ...c, console: consoleConfig(env) };
    },
    http: def.http ?? (adminHttp as AnyDefinition['http']),
    migrations: [...(def.migrations ?? []), ...consoleMigrations.filter((m) => !ids.has(m.id))],
  };
}

/** Starts PostgreSQL's test database, the IdP, the simulators and the admin server. */
export async function startAdminHarness(o: AdminHarnessOptions = {}): Promise<AdminHarness> {
  const closers: (() => Promise<unknown>)[] = [];
  const close = async () => {
    for (const c of closers.reverse()) await c().catch(() => {});
  };
  try {
    const db = await createTestDatabase(o.dbName ?? 'fleet_admin');
    closers.push(() => db.drop());
    const dir = mkdtempSync(join(tmpdir(), 'fleet-admin-'));
    const keyFile = join(dir, 'dev-issuer.json');
    const issuerKey = await DevIssuer.fromFile(keyFile);
    const port = await freePort();
    const baseUrl = `http://127.0.0.1:${port}`;
    const proxied: AdminHarness['proxied'] = [];
    let publicUrl = baseUrl;
    if (o.publicPath) {
      const proxy = await prefixProxy(o.publicPath, port, proxied);
      closers.push(proxy.close);
      publicUrl = `${proxy.origin}${o.publicPath}`;
    }
    const users = (simulators as { DEMO_PEOPLE?: unknown }).DEMO_PEOPLE as Parameters<
      typeof startDevIdp
    >[0]['users'];
    const idp = await startDevIdp({
      port: 0,
      signingKey: { file: keyFile },
      users,
      consoleClient: { clientSecret: CONSOLE_SECRET, redirectUris: [`${publicUrl}/console/callback`] },
      resources: [publicUrl],
      approverGroup: APPROVER_GROUP,
    });
    closers.push(() => idp.close());
    issuerKey.issuer = idp.issuer;
    const hub = await simulators.startVendorHub({ vendors: ['stripe'] });
    closers.push(() => hub.close());
    const scim = await simulators.startScimSimulator({});
    closers.push(() => scim.close());

    const policyFile = join(dir, 'policy.yaml');
    const writePolicy = (p: unknown) => writeFileSync(policyFile, typeof p === 'string' ? p : stringify(p));
    writePolicy(o.policy ?? examplePolicy());
    const env: Record<string, string | undefined> = {
      HOST: '127.0.0.1',
      PORT: String(port),
      PUBLIC_URL: publicUrl,
      AUTH_ISSUER: idp.issuer,
      AUTH_JWKS_URL: idp.jwksUrl,
      POLICY_FILE: policyFile,
      POLICY_POLL_MS: '100',
      LOG_LEVEL: 'silent',
      AUDIT_STDOUT: 'false',
      AUDIT_FLUSH_MS: '20',
      DATABASE_URL: db.url,
      SUSPENSION_POLL_MS: '200',
      APPROVER_GROUP,
      // The IdP's ID tokens carry no tenant claim; agent tokens carry tenant acme.
      APPROVER_ALL_TENANTS: 'true',
      CONSOLE_OIDC_ISSUER: idp.issuer,
      CONSOLE_OIDC_CLIENT_ID: 'fleet-console',
      CONSOLE_OIDC_CLIENT_SECRET: CONSOLE_SECRET,
      STRIPE_API_URL: hub.facts.stripe.url,
      STRIPE_WRITE_KEY: simulators.STRIPE_SIM.writeKey,
      SCIM_BASE_URL: scim.baseUrl,
      SCIM_TOKEN: scim.token,
      ADMIN_PROTECTED_USERS: 'breakglass,billing-contact,fleet-service',
      ADMIN_GROUP: 'fleet-admins',
      ...o.env,
    };
    const server = await createFleetServer(adminDefinition(), { env });
    closers.push(() => server.close());
    await server.listen();
    const mcpUrl = `${publicUrl}/mcp`;

    const agentToken: AdminHarness['agentToken'] = (a) =>
      issuerKey.mint({
        sub: a.sub ?? `agent-of-${a.user}`,
        user: a.user,
        roles: a.roles ?? ['admin'],
        tenant: a.tenant ?? 'acme',
        sid: a.sid ?? `sid-${a.user}`,
        aud: a.aud ?? mcpUrl,
        scope: 'mcp:tools',
      });
    return {
      db,
      idp,
      hub,
      scim,
      server,
      baseUrl,
      publicUrl,
      proxied,
      mcpUrl,
      consoleUrl: `${publicUrl}/console`,
      env,
      agentToken,
      approverToken: (login, a = {}) =>
        issuerKey.mint({
          sub: login,
          aud: a.aud ?? `${publicUrl}/approvals`,
          scope: 'mcp:approve',
          extra: { preferred_username: login, groups: a.groups ?? [APPROVER_GROUP] },
        }),
      agent: async (a) => connectClient('modern', mcpUrl, await agentToken(a)),
      stripeRequests: async () => {
        const r = await fetch(`${hub.facts.stripe.url}/_simulator/requests`);
        const j = (await r.json()) as { requests?: unknown[] } | unknown[];
        return (Array.isArray(j) ? j : (j.requests ?? [])) as {
          operation: string;
          method: string;
          path: string;
          params: unknown;
        }[];
      },
      writePolicy,
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}

/**
 * A reverse proxy that publishes the server under `prefix` with the prefix removed (as the chart's
 * Ingress rewrite-target and HTTPRoute ReplacePrefixMatch do); the Host header is passed on. Any other
 * path is answered 404 by the proxy itself.
 */
async function prefixProxy(
  prefix: string,
  port: number,
  seen: ProxiedRequest[],
): Promise<{ origin: string; close: () => Promise<void> }> {
  const server = createServer((req, res) => {
    const url = req.url ?? '/';
    const forwarded = url === prefix || url.startsWith(`${prefix}/`) || url.startsWith(`${prefix}?`);
    const record: ProxiedRequest = { path: url, forwarded };
    seen.push(record);
    if (!forwarded) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not under the published prefix');
      return;
    }
    const path = url.slice(prefix.length) || '/';
    const up = httpRequest(
      {
        host: '127.0.0.1',
        port,
        method: req.method,
        path: path.startsWith('/') ? path : `/${path}`,
        headers: req.headers,
      },
      (upRes) => {
        record.status = upRes.statusCode;
        const type = String(upRes.headers['content-type'] ?? '');
        if (type.startsWith('text/html') && !upRes.headers['content-encoding']) {
          const chunks: Buffer[] = [];
          upRes.on('data', (c: Buffer) => chunks.push(c));
          upRes.on('end', () => {
            record.html = Buffer.concat(chunks).toString('utf8');
          });
        }
        res.writeHead(upRes.statusCode ?? 502, upRes.rawHeaders);
        upRes.pipe(res);
      },
    );
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address() as { port: number };
  return {
    origin: `http://127.0.0.1:${address.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
