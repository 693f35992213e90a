// What the figures were measured on: machine, Node, package versions, repository commit.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { ROOT } from './processes.js';

/** The machine a run was measured on. */
export interface MachineInfo {
  cores: number;
  cpuModel: string;
  memoryGiB: number;
  os: string;
  node: string;
}

export function machineInfo(): MachineInfo {
  const cpus = os.cpus();
  return {
    cores: cpus.length,
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
  };
}

function versionOf(name: string, from: string[]): string {
  for (const dir of from) {
    const file = join(ROOT, dir, 'node_modules', name, 'package.json');
    if (existsSync(file)) return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
  }
  return 'not installed';
}

/** Versions of everything on the measured paths. */
export function packageVersions(): Record<string, string> {
  const root = ['.'];
  const core = ['packages/core', '.'];
  const own = (dir: string) =>
    (JSON.parse(readFileSync(join(ROOT, dir, 'package.json'), 'utf8')) as { version: string }).version;
  return {
    '@mcp-fleet/core': own('packages/core'),
    '@modelcontextprotocol/server': versionOf('@modelcontextprotocol/server', root),
    '@modelcontextprotocol/node': versionOf('@modelcontextprotocol/node', root),
    fastify: versionOf('fastify', root),
    'fastify (core)': versionOf('fastify', core),
    jose: versionOf('jose', core),
    zod: versionOf('zod', root),
    pg: versionOf('pg', root),
    'prom-client': versionOf('prom-client', core),
    pino: versionOf('pino', core),
    autocannon: versionOf('autocannon', root),
    tsx: versionOf('tsx', root),
    esbuild: versionOf('esbuild', root),
  };
}

/** The commit measured, with "+dirty" when the work tree has changes. */
export function gitRevision(): string {
  try {
    const rev = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], {
      cwd: ROOT,
      encoding: 'utf8',
    }).trim();
    return dirty ? `${rev}+dirty` : rev;
  } catch {
    return 'unknown';
  }
}
