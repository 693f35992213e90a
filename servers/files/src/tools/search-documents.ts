// search_documents: full-text search over the documents the caller may read, with context snippets.
import { ToolError } from '@mcp-fleet/core';
import { z } from 'zod';
import { folderReadConstraint } from '../access/constraints.js';
import { closeTarget } from '../sandbox/sandbox.js';
import { compileNameGlob, GlobRefusal } from '../search/name-glob.js';
import { searchTree } from '../search/search-tree.js';
import { treeGenerationKey } from './cache-keys.js';
import { openReadable, tool } from './context.js';

const output = z.object({
  query: z.string(),
  path: z.string(),
  hits: z.array(
    z.object({
      path: z.string(),
      line: z.number().int(),
      page: z.number().int().optional(),
      snippet: z.string(),
    }),
  ),
  filesScanned: z.number().int(),
  filesMatched: z.number().int(),
  complete: z
    .boolean()
    .describe('False when a limit stopped the search early; narrow it with path or fileGlob'),
  stoppedBecause: z.enum(['complete', 'max_results', 'max_files', 'time_limit']),
  skipped: z.object({ tooLarge: z.number().int(), binary: z.number().int(), unreadable: z.number().int() }),
  elapsedMs: z.number().int(),
});

/** search_documents tool. */
export const searchDocuments = tool({
  name: 'search_documents',
  title: 'Search documents',
  description:
    'Finds a word or phrase in the documents you may read (Markdown, text, JSON, CSV and PDF text), case-insensitive by default, and ' +
    'returns each match with its path, line number and a few lines of context. Narrow it with path (a folder) and fileGlob (e.g. "*.md"). ' +
    'Results are limited in number and time; `complete: false` says a limit was reached. Read a hit in full with read_document ' +
    "(startLine = the hit's line).",
  input: z.object({
    query: z
      .string()
      .trim()
      .min(2)
      .max(200)
      .describe('Text to find (a literal phrase, not a regular expression)'),
    path: z
      .string()
      .max(2048)
      .default('')
      .describe('Folder to search under, relative to the root; "" for everything you may read'),
    fileGlob: z
      .string()
      .max(200)
      .optional()
      .describe(
        'Only files whose name matches, e.g. "*.md" or "*.{csv,json}": *, ?, [a-z] and one {…} list (at most 3 * and 8 choices)',
      ),
    caseSensitive: z.boolean().default(false),
    maxResults: z.number().int().min(1).max(200).default(20),
    contextLines: z.number().int().min(0).max(5).default(1),
  }),
  output,
  governance: { readOnly: true, cacheTtlSeconds: 30, timeoutMs: 15_000 },
  constraint: folderReadConstraint(),
  cacheKey: (_args, ctx) => treeGenerationKey(ctx.connectors),
  toText: (d) =>
    [
      `${d.hits.length} match${d.hits.length === 1 ? '' : 'es'} for "${d.query}" in ${d.filesMatched} of ${d.filesScanned} files scanned` +
        (d.complete ? '' : ` (stopped early: ${d.stoppedBecause.replace('_', ' ')}; narrow the search)`),
      ...d.hits.map((h) => `--- ${h.path}:${h.line}${h.page ? ` (page ${h.page})` : ''}\n${h.snippet}`),
    ].join('\n'),
  handler: async (args, ctx) => {
    if (args.fileGlob !== undefined && (args.fileGlob.includes('/') || args.fileGlob.includes('\u0000'))) {
      throw new ToolError('fileGlob matches file names only (e.g. "*.md"); put the folder in path.');
    }
    let nameFilter: ((name: string) => boolean) | null = null;
    if (args.fileGlob !== undefined) {
      try {
        nameFilter = compileNameGlob(args.fileGlob).matches;
      } catch (err) {
        if (err instanceof GlobRefusal) throw new ToolError(err.message);
        throw err;
      }
    }
    const { target, scope } = await openReadable(ctx, args.path, true);
    if (target.type !== 'folder') {
      await closeTarget(target);
      throw new ToolError(
        `\`${target.asked}\` is a file; give a folder as path, or read the file with read_document.`,
      );
    }
    const { config, sandbox } = ctx.connectors;
    const started = Date.now();
    const outcome = await searchTree(
      sandbox,
      scope,
      { dir: target.dir, shown: target.asked },
      {
        query: args.query,
        caseSensitive: args.caseSensitive,
        nameFilter,
        maxResults: args.maxResults,
        maxPerFile: 5,
        contextLines: args.contextLines,
        maxFiles: config.searchMaxFiles,
        deadline: started + config.searchMaxMs,
        fileMaxBytes: config.searchFileMaxBytes,
        pdfMaxBytes: config.pdfMaxBytes,
        pdfMaxPages: config.pdfMaxPages,
        dirMaxEntries: config.dirMaxEntries,
        signal: ctx.signal,
      },
    );
    // Flow guard: every document a snippet was returned from, by its path relative to the root.
    for (const rel of outcome.sources) ctx.source('path', rel);
    return {
      // A search cut short by a limit is a best-effort answer: core must not cache it.
      partial: outcome.stoppedBecause !== 'complete',
      data: {
        query: args.query,
        path: target.asked,
        hits: outcome.hits,
        filesScanned: outcome.filesScanned,
        filesMatched: outcome.filesMatched,
        complete: outcome.stoppedBecause === 'complete',
        stoppedBecause: outcome.stoppedBecause,
        skipped: outcome.skipped,
        elapsedMs: Date.now() - started,
      },
    };
  },
});
