// A real Redis for the tests of state shared across replicas, found the way the README says:
// TEST_REDIS_URL, else the one answering on 127.0.0.1:6379, else a `redis-server` from PATH on a
// free port, started once for the whole run (vitest global setup) and stopped at its end.
import { type ChildProcess, spawn } from 'node:child_process';
import { createConnection } from 'node:net';
import { freePort } from './postgres.js';

/** A Redis the tests may use, and how to let go of it. */
export interface RedisHandle {
  url: string;
  source: 'env' | 'local' | 'spawned';
  stop(): Promise<void>;
}

/** Where a machine's own Redis answers (the project's machines run one there). */
const LOCAL_REDIS = { host: '127.0.0.1', port: 6379 };

/** What to do when no Redis can be found; also what {@link testRedisUrl} throws. */
export const NO_REDIS =
  'These tests need a Redis and none was found: TEST_REDIS_URL is not set, nothing answers PING on ' +
  '127.0.0.1:6379, and there is no `redis-server` on PATH. Install Redis (Debian/Ubuntu: ' +
  '`apt-get install redis-server`; macOS: `brew install redis`) or set TEST_REDIS_URL=redis://host:port.';

/** True when a Redis at host:port answers PING with PONG within a second. */
export function answersPing(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const conn = createConnection({ host, port });
    let reply = '';
    const done = (ok: boolean) => {
      conn.destroy();
      resolve(ok);
    };
    conn.setTimeout(1000, () => done(false));
    conn.once('connect', () => conn.write('PING\r\n'));
    conn.on('data', (d: Buffer) => {
      reply += d.toString();
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'));
    });
    conn.once('error', () => done(false));
  });
}

/** Starts `redis-server` from PATH on a free loopback port; null when there is none. */
async function spawnRedis(env: NodeJS.ProcessEnv): Promise<RedisHandle | null> {
  const port = await freePort();
  const child: ChildProcess = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { stdio: 'ignore', env },
  );
  const missing = await new Promise<boolean>((resolve) => {
    child.once('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'ENOENT'));
    child.once('spawn', () => resolve(false));
  });
  if (missing) return null;
  const stop = () =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    });
  for (let i = 0; i < 100; i++) {
    if (await answersPing('127.0.0.1', port))
      return { url: `redis://127.0.0.1:${port}`, source: 'spawned', stop };
    if (child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  await stop();
  throw new Error(`redis-server was found on PATH but did not answer on 127.0.0.1:${port}`);
}

/**
 * Finds or starts a Redis for tests: `TEST_REDIS_URL` when set, else 127.0.0.1:6379 when it
 * answers, else `redis-server` from PATH on a free port. Null when none of them is available.
 * `o` exists for testkit's own tests (another environment, another "local" address).
 */
export async function startTestRedis(
  o: { env?: NodeJS.ProcessEnv; local?: { host: string; port: number } } = {},
): Promise<RedisHandle | null> {
  const env = o.env ?? process.env;
  const local = o.local ?? LOCAL_REDIS;
  if (env.TEST_REDIS_URL) return { url: env.TEST_REDIS_URL, source: 'env', stop: async () => {} };
  if (await answersPing(local.host, local.port))
    return { url: `redis://${local.host}:${local.port}`, source: 'local', stop: async () => {} };
  return spawnRedis(env);
}

/**
 * The URL of the run's test Redis (found by the testkit global setup). Throws, saying what to
 * install, when the machine has none: the tests that need Redis fail, they do not skip.
 */
export function testRedisUrl(): string {
  const url = process.env.FLEET_TEST_REDIS_URL;
  if (url) return url;
  const missing = process.env.FLEET_TEST_REDIS_MISSING;
  if (missing) throw new Error(missing);
  throw new Error('FLEET_TEST_REDIS_URL is not set: is the testkit global setup configured in vitest?');
}
