// The soak's view of the fleet's processes: which pids serve which server (children of `fleet start`,
// several per server with `--replicas`), and their resident memory and open file descriptors, read
// from /proc as `ps` and `ls /proc/<pid>/fd` would.
import { readdirSync, readFileSync } from 'node:fs';
import { basename } from 'node:path';

/** One server process of the fleet. */
export interface ServerProcess {
  /** The server's name (its manifest's), e.g. `database`. */
  server: string;
  pid: number;
}

/** One reading of one process. */
export interface ProcessSample {
  /** ms since the soak started. */
  t: number;
  rssMB: number;
  fds: number;
}

function childrenOf(pid: number): number[] {
  const out: number[] = [];
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const task of tasks) {
    try {
      for (const c of readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim().split(/\s+/))
        if (c) out.push(Number(c));
    } catch {
      // the thread ended meanwhile
    }
  }
  return out;
}

function cmdline(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  } catch {
    return [];
  }
}

/**
 * Every server process under `rootPid` (any depth): a Node process whose entry file lies in
 * `servers/<dir>/`, named by `dirToServer` (a server package's folder name -> its server name).
 */
export function findServerProcesses(rootPid: number, dirToServer: Map<string, string>): ServerProcess[] {
  const found: ServerProcess[] = [];
  const seen = new Set<number>();
  const queue = [rootPid];
  while (queue.length > 0) {
    const pid = queue.shift()!;
    if (seen.has(pid)) continue;
    seen.add(pid);
    const args = cmdline(pid);
    if (args.length > 0 && basename(args[0]!) === 'node') {
      for (const a of args.slice(1)) {
        const m = /\/servers\/([^/]+)\/src\/[^/]+$/.exec(a);
        const server = m ? dirToServer.get(m[1]!) : undefined;
        if (server) {
          found.push({ server, pid });
          break;
        }
      }
    }
    queue.push(...childrenOf(pid));
  }
  return found.sort((a, b) => a.server.localeCompare(b.server) || a.pid - b.pid);
}

/** RSS (MB) and open descriptors of `pid` now; undefined once the process is gone. */
export function sampleProcess(pid: number, t: number): ProcessSample | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
    if (!kb) return undefined;
    const fds = readdirSync(`/proc/${pid}/fd`).length;
    return { t, rssMB: Number(kb[1]) / 1024, fds };
  } catch {
    return undefined;
  }
}

/** Least-squares slope of y over x (0 with fewer than two distinct x). */
export function slope(points: { x: number; y: number }[]): number {
  const n = points.length;
  if (n < 2) return 0;
  const mx = points.reduce((s, p) => s + p.x, 0) / n;
  const my = points.reduce((s, p) => s + p.y, 0) / n;
  let num = 0;
  let den = 0;
  for (const p of points) {
    num += (p.x - mx) * (p.y - my);
    den += (p.x - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

/** The nearest-rank percentile `q` (0..100) of `sorted` (ascending). */
export function percentile(sorted: number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((q / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}
