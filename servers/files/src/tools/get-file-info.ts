import { z } from 'zod';
import { fileReadConstraint } from '../access/constraints.js';
import { sniffKind } from '../documents/file-kind.js';
import { closeTarget } from '../sandbox/sandbox.js';
import { pathVersionKey } from './cache-keys.js';
import { modifiedAt, openReadable, tool, versionOf } from './context.js';

const output = z.object({
  path: z.string(),
  type: z.enum(['file', 'folder', 'other']),
  kind: z
    .string()
    .describe('markdown, text, json, csv, pdf or binary for files; fifo, socket, device for "other"'),
  mediaType: z.string().optional(),
  description: z.string(),
  size: z.number().int(),
  modifiedAt: z.string(),
  link: z.boolean().describe('The path goes through a link inside the document root'),
  version: z.string().describe('Changes whenever the file changes; equal versions mean equal content'),
  readable: z.boolean().describe('read_document can return its text'),
});

const SNIFF_BYTES = 8192;

/** get_file_info tool. */
export const getFileInfo = tool({
  name: 'get_file_info',
  title: 'Get file information',
  description:
    'Describes one file or folder of the document store: type, document kind (markdown, text, json, csv, pdf, binary), size in bytes, ' +
    'modification time and a version that changes when the file changes. Cheap: use it to decide whether and how to read a large file ' +
    'before calling read_document.',
  input: z.object({
    path: z.string().min(1).max(2048).describe('File or folder path relative to the document root'),
  }),
  output,
  // Flow guard: metadata only (size, kind, times, version): no content, so no source named.
  governance: { readOnly: true, cacheTtlSeconds: 30, timeoutMs: 5_000 },
  constraint: fileReadConstraint(),
  cacheKey: (args, ctx) => pathVersionKey(ctx.connectors, args.path, false),
  handler: async (args, ctx) => {
    const { target } = await openReadable(ctx, args.path, false);
    const st = target.stats;
    const base = {
      path: target.asked,
      size: st.size,
      modifiedAt: modifiedAt(st),
      link: target.rel !== target.asked,
      version: versionOf(st),
    };
    if (target.type === 'folder') {
      await closeTarget(target);
      return {
        data: {
          ...base,
          type: 'folder' as const,
          kind: 'folder',
          description: 'folder; call list_folder to see its entries',
          readable: false,
        },
      };
    }
    if (target.type === 'other') {
      return {
        data: {
          ...base,
          type: 'other' as const,
          kind: target.kind,
          description: `special file (${target.kind}); it cannot be read`,
          readable: false,
        },
      };
    }
    const { handle, stats } = target.file;
    let head: Buffer;
    try {
      const buf = Buffer.alloc(Math.min(SNIFF_BYTES, stats.size));
      const { bytesRead } = await handle.read(buf, 0, buf.length, 0);
      head = buf.subarray(0, bytesRead);
    } finally {
      await handle.close();
    }
    const k = sniffKind(target.asked, head);
    const readable =
      k.kind !== 'binary' && (k.kind !== 'pdf' || stats.size <= ctx.connectors.config.pdfMaxBytes);
    return {
      data: {
        ...base,
        type: 'file' as const,
        kind: k.kind,
        mediaType: k.mediaType,
        description:
          k.kind === 'binary'
            ? `${k.label}, ${stats.size} bytes; not readable as text`
            : `${k.label}, ${stats.size} bytes`,
        readable,
      },
    };
  },
});
