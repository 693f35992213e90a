// The policy constraint dimensions of the files server, `files.read` and `files.write`: which areas a
// role may read, and where it may write. Values are parsed once, when the policy is loaded.
// Core checks them on the arguments (lexically); the handlers check them again on the real path.
import { defineConstraint, type ToolConstraint } from '@mcp-fleet/core';
import { z } from 'zod';
import { PathRefusal, parseUserPath } from '../sandbox/path-input.js';
import { AccessScope, Areas, areaPattern } from './areas.js';

/** Policy value for the read tools: `{ read: ["docs/**"] }`. */
export const readRuleSchema = z.object({ read: z.array(areaPattern).min(1) }).strict();
/** Policy value for write_report: `{ write: ["reports/**"], overwrite: false }`. */
export const writeRuleSchema = z
  .object({ write: z.array(areaPattern).min(1), overwrite: z.boolean().default(false) })
  .strict();

/** A parsed read rule. */
export type ReadRule = z.output<typeof readRuleSchema>;
/** A parsed write rule. */
export type WriteRule = z.output<typeof writeRuleSchema>;

/** `files.read`: the areas a role may read, list and search. The four read tools declare it. */
export const read = defineConstraint({
  name: 'read',
  description:
    'areas (globs on the real path under the root) the role may read, list and search, e.g. { read: ["docs/**"] }',
  schema: readRuleSchema,
});

/** `files.write`: where a role may write reports, and whether it may replace them. */
export const write = defineConstraint({
  name: 'write',
  description:
    'areas the role may write reports to, and whether it may replace them: { write: ["reports/**"], overwrite: false }',
  schema: writeRuleSchema,
});

// Policy values are parsed once at load and stay the same objects until the next reload,
// so compiled matchers can hang off them.
const compiled = new WeakMap<object, Areas>();
function areasOf(value: object, patterns: readonly string[]): Areas {
  let areas = compiled.get(value);
  if (!areas) {
    areas = new Areas([...patterns]);
    compiled.set(value, areas);
  }
  return areas;
}

/** The read scope of a call: the server ceiling AND the areas its grants give. */
export function readScope(ceiling: Areas, constraints: readonly ReadRule[] | null): AccessScope {
  if (constraints === null) return new AccessScope(ceiling, null);
  return new AccessScope(
    ceiling,
    constraints.map((c) => areasOf(c, c.read)),
  );
}

/** The write scope of a call, and whether any grant lets it replace an existing file. */
export function writeScope(
  ceiling: Areas,
  constraints: readonly WriteRule[] | null,
): { scope: AccessScope; mayOverwrite: boolean } {
  if (constraints === null) return { scope: new AccessScope(ceiling, null), mayOverwrite: true };
  return {
    scope: new AccessScope(
      ceiling,
      constraints.map((c) => areasOf(c, c.write)),
    ),
    mayOverwrite: constraints.some((r) => r.overwrite),
  };
}

function lexical(path: string | undefined, allowRoot: boolean): string | null {
  try {
    return parseUserPath(path ?? '', allowRoot).rel;
  } catch (err) {
    if (err instanceof PathRefusal) return null; // the handler refuses it with the precise reason
    throw err;
  }
}

/** Constraint of tools that read one file (`read_document`, `get_file_info`). */
export function fileReadConstraint(): ToolConstraint<{ path: string }, ReadRule> {
  return {
    dimension: read,
    check: (args, value) => {
      const rel = lexical(args.path, true);
      if (rel === null) return null;
      const areas = areasOf(value, value.read);
      if (rel === '' ? false : areas.allows(rel) || areas.reaches(rel)) return null;
      return `\`${rel}\` is outside the areas your role may read (${areas.patterns.join(', ')})`;
    },
  };
}

/** Constraint of tools that walk a folder (`list_folder`, `search_documents`): it must lead to a readable area. */
export function folderReadConstraint(): ToolConstraint<{ path?: string | undefined }, ReadRule> {
  return {
    dimension: read,
    check: (args, value) => {
      const rel = lexical(args.path, true);
      if (rel === null) return null;
      const areas = areasOf(value, value.read);
      if (areas.reaches(rel)) return null;
      return `\`${rel}\` is outside the areas your role may read (${areas.patterns.join(', ')})`;
    },
  };
}

/** Constraint of `write_report`: where the role may write, and whether it may replace files. */
export function writeConstraint(): ToolConstraint<
  { path: string; overwrite?: boolean | undefined },
  WriteRule
> {
  return {
    dimension: write,
    check: (args, rule) => {
      const rel = lexical(args.path, false);
      // Unusable paths and hidden names are refused by the handler with the precise reason.
      if (rel === null || rel.split('/').some((s) => s.startsWith('.'))) return null;
      const areas = areasOf(rule, rule.write);
      if (!areas.allows(rel))
        return `\`${rel}\` is outside the areas your role may write (${rule.write.join(', ')})`;
      if (args.overwrite && !rule.overwrite)
        return 'your role may not replace existing files; write to a new name instead';
      return null;
    },
  };
}
