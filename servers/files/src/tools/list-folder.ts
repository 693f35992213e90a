// list_folder: a page of a folder's entries the caller may see, with sizes, types and times.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { ToolError } from '@mcp-fleet/core';
import { z } from 'zod';
import { folderReadConstraint } from '../access/constraints.js';
import { closeTarget } from '../sandbox/sandbox.js';
import { pathVersionKey } from './cache-keys.js';
import { modifiedAt, openReadable, tool, versionOf } from './context.js';
import { describeEntry, readFolder } from './folder-entries.js';

const entrySchema = z.object({
  name: z.string(),
  path: z.string().describe('Path to pass to read_document / get_file_info / list_folder'),
  type: z.enum(['file', 'folder', 'other']),
  kind: z
    .string()
    .optional()
    .describe('markdown, text, json, csv, pdf, unknown; for "other": fifo, socket, device'),
  size: z.number().int().optional(),
  modifiedAt: z.string(),
  link: z.boolean().optional(),
});

const output = z.object({
  path: z.string(),
  entries: z.array(entrySchema),
  nextCursor: z.string().nullable().describe('Pass as `cursor` to get the next page; null on the last page'),
  version: z.string().describe("Changes when the folder's entries change"),
  note: z.string().optional(),
});

// The cursor names the folder and the last name examined; listing resumes after it, so entries
// added or removed meanwhile do not shift the pages. A page can stop (MAX_EXAMINED_PER_PAGE) on a
// name the caller may not see, so the cursor is sealed — AES-256-GCM under FILES_CURSOR_KEY (shared by
// the replicas; else a key of this process), the folder path as associated data — and reveals
// nothing; a forged or foreign one is refused.
function encodeCursor(key: Buffer, path: string, after: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(path, 'utf8'));
  const body = Buffer.concat([cipher.update(after, 'utf8'), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64url');
}
function decodeCursor(key: Buffer, cursor: string, path: string): string {
  try {
    const raw = Buffer.from(cursor, 'base64url');
    if (raw.length >= 28) {
      const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12));
      decipher.setAAD(Buffer.from(path, 'utf8'));
      decipher.setAuthTag(raw.subarray(12, 28));
      return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
    }
  } catch {
    // fall through
  }
  throw new ToolError(
    'That cursor does not belong to this folder listing; call list_folder without a cursor to start over.',
  );
}

const MAX_EXAMINED_PER_PAGE = 5_000;

/** list_folder tool. */
export const listFolder = tool({
  name: 'list_folder',
  title: 'List a folder',
  description:
    "Lists the files and folders in a folder of the document store, one page at a time, with each entry's type, size and modification time. " +
    'Start with path "" (the top) to see the areas you may read, then go deeper. Only entries your role may read are shown. ' +
    'Pass nextCursor back as cursor for the next page. Use read_document to read a file, search_documents to find text.',
  input: z.object({
    path: z
      .string()
      .max(2048)
      .default('')
      .describe('Folder path relative to the document root, e.g. "docs/policies"; "" for the top'),
    cursor: z.string().max(4096).optional(),
    limit: z.number().int().min(1).max(200).default(50),
  }),
  output,
  // Flow guard: metadata only (entry names, kinds, sizes): no content, so no source named.
  governance: { readOnly: true, cacheTtlSeconds: 30, timeoutMs: 10_000 },
  constraint: folderReadConstraint(),
  // The folder's identity + mtime is in the cache key: an added or removed entry is seen at once.
  cacheKey: (args, ctx) => pathVersionKey(ctx.connectors, args.path, true),
  toText: (d) =>
    [
      `${d.path || '(top)'}: ${d.entries.length} entr${d.entries.length === 1 ? 'y' : 'ies'}`,
      ...d.entries.map(
        (e) =>
          `${e.type === 'folder' ? 'folder' : (e.kind ?? e.type)}\t${e.path}${e.type === 'folder' ? '/' : ''}\t${e.size ?? ''}\t${e.modifiedAt}`,
      ),
      d.nextCursor ? `more: call list_folder with cursor "${d.nextCursor}"` : '(end of folder)',
      ...(d.note ? [d.note] : []),
    ].join('\n'),
  handler: async (args, ctx) => {
    const { target, scope } = await openReadable(ctx, args.path, true);
    if (target.type !== 'folder') {
      await closeTarget(target);
      throw new ToolError(
        `\`${target.asked}\` is a file, not a folder; call read_document or get_file_info on it.`,
      );
    }
    const { sandbox, config } = ctx.connectors;
    const dir = target.dir;
    try {
      const after = args.cursor ? decodeCursor(config.cursorKey, args.cursor, target.asked) : null;
      const folder = await readFolder(dir.path, config.dirMaxEntries);
      const { skipped, capped } = folder;
      const names = folder.entries.map((e) => e.name);
      const start = after === null ? 0 : names.findIndex((n) => n > after);
      const entries: z.output<typeof entrySchema>[] = [];
      let last: string | null = null;
      let examined = 0;
      for (let i = start < 0 ? names.length : start; i < names.length && entries.length < args.limit; i++) {
        ctx.signal.throwIfAborted();
        if (++examined > MAX_EXAMINED_PER_PAGE) break;
        const name = names[i] as string;
        last = name;
        const e = await describeEntry(sandbox, scope, dir, name);
        if (!e) continue;
        entries.push({
          name,
          path: target.asked ? `${target.asked}/${name}` : name,
          type: e.type,
          ...(e.kind ? { kind: e.kind } : {}),
          ...(e.type === 'file' ? { size: e.stats.size } : {}),
          modifiedAt: modifiedAt(e.stats),
          ...(e.link ? { link: true } : {}),
        });
      }
      const lastIndex = last === null ? -1 : names.indexOf(last);
      const more = last !== null && lastIndex < names.length - 1;
      const notes: string[] = [];
      if (skipped)
        notes.push(
          `${skipped} entr${skipped === 1 ? 'y has a name' : 'ies have names'} that cannot be used through this server (invalid UTF-8, control or invisible characters); ask an operator to rename them.`,
        );
      if (capped)
        notes.push(`The folder has more than ${config.dirMaxEntries} entries; only that many are listed.`);
      return {
        data: {
          path: target.asked,
          entries,
          nextCursor: more && last !== null ? encodeCursor(config.cursorKey, target.asked, last) : null,
          version: versionOf(target.stats),
          ...(notes.length ? { note: notes.join(' ') } : {}),
        },
      };
    } finally {
      await dir.close();
    }
  },
});
