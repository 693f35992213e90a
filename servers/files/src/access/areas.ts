// Areas: glob patterns over paths relative to the sandbox root, always matched against the REAL
// path (symlinks resolved), so a link inside `docs/` that points into `hr/` is judged as `hr/`.
import picomatch from 'picomatch';
import { z } from 'zod';

/** One area pattern as written in policy or configuration (`docs/**`, `reports/2026/*.md`). */
export const areaPattern = z
  .string()
  .min(1)
  .max(512)
  .refine(
    (p) =>
      !p.startsWith('/') &&
      !p.startsWith('!') &&
      !p.includes('\\') &&
      !p.split('/').includes('..') &&
      !p.includes('\u0000'),
    {
      message: 'area patterns are relative to the sandbox root, without `..`, `\\`, or a leading `/` or `!`',
    },
  )
  .transform((p) => (p.endsWith('/') ? `${p}**` : p));

/** A set of areas, compiled once. Hidden names (`.x`) match only patterns that spell them out. */
export class Areas {
  readonly patterns: readonly string[];
  readonly #matchers: ((path: string) => boolean)[];
  /** The static folder each pattern starts from (`docs` for `docs/**`, `` for `**`). */
  readonly #bases: string[];

  constructor(patterns: readonly string[]) {
    this.patterns = patterns;
    this.#matchers = patterns.map((p) => picomatch(p, { dot: false, nocase: false, strictSlashes: true }));
    this.#bases = patterns.map((p) => {
      const scan = picomatch.scan(p);
      return scan.isGlob ? scan.base.replace(/\/+$/, '') : p;
    });
  }

  /** Whether the file or folder at `rel` (real path relative to the root) lies in one of the areas. */
  allows(rel: string): boolean {
    return rel !== '' && this.#matchers.some((m) => m(rel));
  }

  /**
   * Whether the folder at `rel` is inside an area or on the way to one, i.e. whether listing or
   * searching it can reach anything allowed. `''` is the root.
   */
  reaches(rel: string): boolean {
    return this.#bases.some(
      (base) =>
        base === '' || rel === '' || base === rel || base.startsWith(`${rel}/`) || rel.startsWith(`${base}/`),
    );
  }
}

/**
 * What a caller may reach: the server's ceiling (configuration) AND the union of the areas its
 * policy grants give (`null` = the grant leaves the tool unconstrained). Policy only narrows.
 */
export class AccessScope {
  constructor(
    readonly ceiling: Areas,
    readonly granted: Areas[] | null,
  ) {}

  /** The file or folder at real path `rel` may be used. */
  allows(rel: string): boolean {
    return this.ceiling.allows(rel) && (this.granted === null || this.granted.some((a) => a.allows(rel)));
  }

  /** Folder `rel` may be listed or searched (it is in, or leads to, an allowed area). */
  reaches(rel: string): boolean {
    return this.ceiling.reaches(rel) && (this.granted === null || this.granted.some((a) => a.reaches(rel)));
  }

  /** The patterns in force, for messages that tell the model where it may go. */
  describe(): string {
    const granted = this.granted === null ? this.ceiling.patterns : this.granted.flatMap((a) => a.patterns);
    return [...new Set(granted)].map((p) => `\`${p}\``).join(', ') || '(none)';
  }
}
