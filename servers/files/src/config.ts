// The files server's own environment: where the sandbox root is and the caps every tool enforces.
import { createHash, randomBytes } from 'node:crypto';
import { type Env, env, parseEnv } from '@mcp-fleet/core';
import { z } from 'zod';
import { areaPattern } from './access/areas.js';

const { int, list } = env;
const areas = (def: string) => list(def).pipe(z.array(areaPattern).min(1));
const MiB = 1024 * 1024;

/** Environment variables of the files server (core's are parsed by core); `FILES_READ_AREAS` -> `readAreas`. */
export const filesEnvSchema = env.config('FILES_', {
  /** The sandbox root: an existing directory (a mounted volume in Kubernetes). Required. */
  FILES_ROOT: z.string().min(1, 'FILES_ROOT is required: the directory the files server serves'),
  /** Server-wide ceiling of what any role may read (globs on the real path under the root). Policy narrows it. */
  FILES_READ_AREAS: areas('**'),
  /** Server-wide ceiling of where any role may write. Policy narrows it, never widens it. */
  FILES_WRITE_AREAS: areas('reports/**'),
  /** Most bytes of text one read_document call returns. */
  FILES_READ_MAX_BYTES: int(256 * 1024, 1024, 16 * MiB),
  /** Largest file read_document scans for a line range. */
  FILES_SCAN_MAX_BYTES: int(64 * MiB, MiB, 1024 * MiB),
  /** Largest PDF whose text is extracted. */
  FILES_PDF_MAX_BYTES: int(20 * MiB, 1024, 256 * MiB),
  /** Most PDF pages extracted in one call. */
  FILES_PDF_MAX_PAGES: int(50, 1, 2000),
  /** Largest report write_report accepts (UTF-8 bytes). */
  FILES_WRITE_MAX_BYTES: int(MiB, 16, 64 * MiB),
  /** File extensions write_report may create (without the dot, lowercase). */
  FILES_REPORT_FORMATS: list('md,txt,csv,json').transform((l) =>
    l.map((f) => f.replace(/^\./, '').toLowerCase()),
  ),
  /** Most files one search opens. */
  FILES_SEARCH_MAX_FILES: int(20_000, 1, 1_000_000),
  /** Wall-clock budget of one search; it returns partial results when spent (below the tool timeout). */
  FILES_SEARCH_MAX_MS: int(8_000, 50, 60_000),
  /** Files larger than this are skipped by search (read_document still reads them by range). */
  FILES_SEARCH_FILE_MAX_BYTES: int(2 * MiB, 1024, 256 * MiB),
  /** Most entries read from one directory (listing and search). */
  FILES_DIR_MAX_ENTRIES: int(50_000, 100, 1_000_000),
  /**
   * Secret that seals list_folder cursors (at least 32 characters; from a Kubernetes Secret). Every
   * replica must share it for a page from one replica to continue on another; unset, each process
   * draws its own key and a cursor only works on the replica that issued it. Parsed to the 32-byte key.
   */
  FILES_CURSOR_KEY: z
    .string()
    .min(32, 'FILES_CURSOR_KEY must be at least 32 characters')
    .optional()
    .transform((k) => (k ? createHash('sha256').update(k, 'utf8').digest() : randomBytes(32))),
});

/** The parsed configuration. */
export type FilesConfig = z.output<typeof filesEnvSchema>;

/** Parses the files server's environment once; throws `FLEET_ERR_CONFIG` with every problem listed. */
export const loadFilesConfig = (vars: Env): FilesConfig => parseEnv(filesEnvSchema, vars, 'files');
