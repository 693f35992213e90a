// Child processes of the bench: each server under test runs in its own Node process (TypeScript source
// through tsx, as `pnpm start` runs servers), and the orchestrator reads its RSS and CPU from /proc.
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The repository root. */
export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** How every bench child runs TypeScript: workspace packages from source, tsx as the loader. */
export const NODE_ARGS = ['--conditions=mcp-fleet-source', '--import', 'tsx'];

/**
 * V8 flags every server under test runs with, the fleet's and the baselines' alike: the image's
 * `node --max-semi-space-size=32 dist/main.js` (docker/Dockerfile). A larger young generation means
 * fewer scavenges and fewer short-lived objects promoted; measured here it gave every target
 * 10-15 % more throughput, and the ratios stay what they were.
 */
export const RUNTIME_FLAGS = ['--max-semi-space-size=32'];

/** A running server under test. */
export interface Target {
  name: string;
  child: ChildProcess;
  pid: number;
  baseUrl: string;
  /** Milliseconds from spawn until its readiness URL answered 200. */
  readyMs: number;
  stderr(): string;
  stop(): Promise<void>;
}

/** How to start a server: a bundled `.mjs` with plain node, or TypeScript source through tsx. */
export interface TargetOptions {
  /** Path of the entry, absolute or relative to the repo root. */
  file: string;
  /** `js`: `node file` (a bundle); `ts`: `node --conditions=mcp-fleet-source --import tsx file`. */
  runtime: 'js' | 'ts';
  port: number;
  env: Record<string, string>;
  readyPath?: string;
  /** Extra node arguments (e.g. --cpu-prof). */
  nodeArgs?: string[];
  timeoutMs?: number;
  /** Working directory of the server (default: the repo root; the baseline runs in its own worktree). */
  cwd?: string;
}

/** Starts a server process, polls its readiness path until it answers 200. */
export async function startTarget(name: string, o: TargetOptions): Promise<Target> {
  const { file, port, env } = o;
  const readyPath = o.readyPath ?? '/healthz';
  const timeoutMs = o.timeoutMs ?? 30_000;
  const t0 = performance.now();
  const args = [...RUNTIME_FLAGS, ...(o.runtime === 'ts' ? NODE_ARGS : []), ...(o.nodeArgs ?? []), file];
  const child = spawn(process.execPath, args, {
    cwd: o.cwd ?? ROOT,
    env: { ...process.env, ...env, PORT: String(port), NODE_ENV: 'production' },
    // stdout (the audit lines of a production server) goes to /dev/null; stderr is kept for failures.
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  child.stderr?.on('data', (d: Buffer) => {
    err = (err + d.toString()).slice(-8_000);
  });
  const baseUrl = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + timeoutMs;
  let readyMs = -1;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) break;
    try {
      const res = await fetch(`${baseUrl}${readyPath}`);
      await res.arrayBuffer();
      if (res.status === 200) {
        readyMs = performance.now() - t0;
        break;
      }
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 5));
  }
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    await exited;
    clearTimeout(timer);
  };
  if (readyMs < 0) {
    await stop();
    throw new Error(`${name} did not become ready (exit ${child.exitCode}):\n${err}`);
  }
  return { name, child, pid: child.pid!, baseUrl, readyMs, stderr: () => err, stop };
}

/** Resident set size of a process in bytes (VmRSS), or NaN when it is gone. */
export function rssBytes(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

/** CPU time (user + system) a process has used, in seconds. */
export function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields[11] = utime, fields[12] = stime (0-based after the command name), in clock ticks
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return Number.NaN;
  }
}

/** Samples a process's RSS while `work` runs; returns the work's result, the peak RSS and CPU % of one core. */
export async function sampled<T>(
  pid: number,
  work: () => Promise<T>,
): Promise<{ value: T; peakRss: number; cpuPct: number; cpuS: number; wallS: number }> {
  let peak = rssBytes(pid);
  const timer = setInterval(() => {
    const v = rssBytes(pid);
    if (v > peak) peak = v;
  }, 250);
  const c0 = cpuSeconds(pid);
  const t0 = performance.now();
  try {
    const value = await work();
    const cpuS = cpuSeconds(pid) - c0;
    const wallS = (performance.now() - t0) / 1000;
    return { value, peakRss: Math.max(peak, rssBytes(pid)), cpuPct: (cpuS / wallS) * 100, cpuS, wallS };
  } finally {
    clearInterval(timer);
  }
}
