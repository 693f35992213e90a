// write_report: creates a report in a writable area — atomically, never through a link, never
// replacing a file unless the caller asked AND its policy allows it.
import { createHash } from 'node:crypto';
import { extname } from 'node:path';
import { ToolError } from '@mcp-fleet/core';
import { z } from 'zod';
import { writeConstraint, writeScope } from '../access/constraints.js';
import { signatureOf } from '../documents/file-kind.js';
import { parseUserPath } from '../sandbox/path-input.js';
import { ensureParent, writeAtomic } from '../sandbox/safe-write.js';
import { SandboxRefusal } from '../sandbox/sandbox.js';
import { tool } from './context.js';

const output = z.object({
  path: z.string(),
  size: z.number().int(),
  sha256: z.string(),
  created: z.boolean().describe('False when an existing report was replaced (overwrite: true)'),
});

/** Checks the content fits the format its extension promises, so a `.json` report parses. */
function checkFormat(ext: string, content: string, bytes: Buffer): string | null {
  if (content.includes('\u0000')) return 'the content contains NUL bytes; reports are text';
  // A report that is really a PDF, image or archive is refused whatever its extension: reports
  // are text, and a PDF under a text name was once parsed as a PDF by whoever read it.
  const sig = signatureOf(bytes.subarray(0, 16));
  if (sig) return `the content is a ${sig.label}, not text; reports are Markdown, text, CSV or JSON`;
  if (ext === 'json') {
    try {
      JSON.parse(content);
    } catch (err) {
      return `a .json report must be valid JSON (${(err as Error).message.slice(0, 120)})`;
    }
  }
  return null;
}

/** write_report tool. */
export const writeReport = tool({
  name: 'write_report',
  title: 'Write a report',
  description:
    'Saves a new report (Markdown, text, CSV or JSON, by the file extension) in an area you may write, e.g. "reports/2026-q3-churn.md". ' +
    'Missing folders inside the area are created. It never replaces an existing file unless you pass overwrite: true and your role ' +
    'is allowed to; otherwise pick a new name. The write is all-or-nothing. Read it back with read_document.',
  input: z.object({
    path: z
      .string()
      .min(1)
      .max(2048)
      .describe('Where to save, relative to the document root, with an allowed extension'),
    content: z.string().describe('The full text of the report'),
    overwrite: z
      .boolean()
      .default(false)
      .describe('Replace an existing report of that name (only if your role allows it)'),
  }),
  output,
  // Flow guard: a report is read by other people of the company: an internal send.
  governance: { readOnly: false, timeoutMs: 20_000, commits: true, sends: 'internal' },
  constraint: writeConstraint(),
  toText: (d) =>
    `${d.created ? 'Saved' : 'Replaced'} ${d.path} (${d.size} bytes, sha256 ${d.sha256.slice(0, 16)}…)`,
  handler: async (args, ctx) => {
    const { sandbox, config, writeCeiling } = ctx.connectors;
    const { scope, mayOverwrite } = writeScope(writeCeiling, ctx.constraints);
    try {
      const p = parseUserPath(args.path, false);
      const name = p.segments.at(-1) as string;
      if (p.segments.some((s) => s.startsWith('.')))
        throw new ToolError('Report and folder names may not start with a dot.');
      const ext = extname(name).slice(1).toLowerCase();
      if (!config.reportFormats.includes(ext)) {
        throw new ToolError(
          `Reports must end in one of: ${config.reportFormats.map((f) => `.${f}`).join(', ')}. Rename \`${name}\`.`,
        );
      }
      // No link is allowed anywhere on the way (checked next), so the lexical path IS the real path.
      if (!scope.allows(p.rel)) {
        throw new ToolError(
          `\`${p.rel}\` is outside the areas your role may write (${scope.describe()}). Choose a path there.`,
        );
      }
      if (args.overwrite && !mayOverwrite)
        throw new ToolError('Your role may not replace existing files; write to a new name instead.');
      const bytes = Buffer.from(args.content, 'utf8');
      if (bytes.length > config.writeMaxBytes) {
        throw new ToolError(
          `The report is ${bytes.length} bytes; the limit is ${config.writeMaxBytes}. Shorten it or split it into parts.`,
        );
      }
      const bad = checkFormat(ext, args.content, bytes);
      if (bad) throw new ToolError(`Not saved: ${bad}.`);

      // The parent is pinned by descriptor and checked to be exactly `p`'s parent (no link on the
      // way), so the lexical path checked above IS where the report lands.
      const dir = await ensureParent(sandbox, p);
      let outcome: Awaited<ReturnType<typeof writeAtomic>>;
      try {
        outcome = await writeAtomic(dir.path, name, [bytes], {
          overwrite: args.overwrite,
          signal: ctx.signal,
          // From the rename/link on, a timeout no longer reports "cancelled" for a report that was saved.
          commit: () => ctx.commit(),
        });
      } finally {
        await dir.close();
      }
      ctx.connectors.generation.value++;
      ctx.logger.info(
        { requestId: ctx.requestId, bytes: bytes.length, created: outcome.created },
        'report written',
      );
      return {
        data: {
          path: p.rel,
          size: bytes.length,
          sha256: createHash('sha256').update(bytes).digest('hex'),
          created: outcome.created,
        },
      };
    } catch (err) {
      // The one refusal whose advice depends on this call (may it overwrite?); mapError maps the rest.
      if (err instanceof SandboxRefusal && err.reason === 'exists' && !ctx.signal.aborted) {
        throw new ToolError(
          `\`${args.path}\` already exists and was not changed. Choose a new name${mayOverwrite ? ', or pass overwrite: true to replace it' : ''}.`,
          'exists',
        );
      }
      throw err;
    }
  },
});
