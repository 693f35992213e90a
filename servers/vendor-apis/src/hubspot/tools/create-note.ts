// hubspot_create_note: one plain-text note on one contact or company of the caller's portal. The body is
// HTML-escaped (HubSpot renders note bodies as HTML); only the note's own body and timestamp are written —
// never owners, lifecycle stages, lead status, subscriptions, properties or schemas (V13). The target is
// read first (a wrong id changes nothing), then `ctx.commit()` and one POST, never retried after a 5xx or a
// timeout (a 429 with a Retry-After that fits may be); core replays a repeated idempotency key.
import { z } from 'zod';
import { tool, vendorWrite } from '../../tools/tool.js';
import type { NoteTarget } from '../connector.js';
import { companyId, contactId } from '../ids.js';
import { deadlineOf, hubspotOf, isoOf, noteHtml } from './shared.js';

/** Longest note body accepted (characters of plain text, before escaping). */
export const NOTE_MAX_CHARS = 5_000;
/** The write's timeout: a read of the target, the POST, a Retry-After wait that fits and one more POST. */
export const NOTE_TIMEOUT_MS = 45_000;

const input = z
  .object({
    contact_id: contactId.optional().describe('The contact the note is about (or give company_id).'),
    company_id: companyId.optional().describe('The company the note is about (or give contact_id).'),
    body: z
      .string()
      .trim()
      .min(1)
      .max(NOTE_MAX_CHARS)
      // Control characters other than tab and line breaks have no place in a note.
      .refine(
        (v) =>
          ![...v].some((ch) => {
            const c = ch.charCodeAt(0);
            return (c < 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) || c === 0x7f;
          }),
        'body is plain text (no control characters)',
      )
      .describe(
        `The note, plain text (no HTML: it is shown as written), at most ${NOTE_MAX_CHARS} characters.`,
      ),
  })
  .strict()
  .refine((a) => (a.contact_id === undefined) !== (a.company_id === undefined), {
    message: 'give exactly one of contact_id or company_id',
  });

/** hubspot_create_note tool. */
export const hubspotCreateNote = tool({
  name: 'hubspot_create_note',
  title: 'Add a note in HubSpot',
  description:
    'Adds one plain-text note to one contact or one company of your HubSpot portal (give exactly one of ' +
    'contact_id or company_id, from hubspot_search_contacts or hubspot_get_contact). Changes nothing else on the ' +
    'record. Pass an idempotency_key: a retry with the same key never creates a second note. Returns the note id.',
  input,
  output: z.object({
    noteId: z.string(),
    contactId: z.string().optional(),
    companyId: z.string().optional(),
    createdAt: z.string().optional(),
  }),
  governance: vendorWrite(NOTE_TIMEOUT_MS),
  annotations: { destructiveHint: false, openWorldHint: true },
  handler: async (args, ctx) => {
    const hubspot = hubspotOf(ctx.connectors);
    const target: NoteTarget = args.contact_id
      ? { type: 'contact', id: args.contact_id }
      : { type: 'company', id: args.company_id! };
    const deadline = deadlineOf(ctx);
    // The record must exist in the caller's portal before anything is written.
    await hubspot.get(
      ctx.identity,
      target.type === 'contact' ? 'contacts' : 'companies',
      target.id,
      { properties: ['hs_object_id'], associations: [] },
      {
        signal: ctx.signal,
        deadline,
        notFound: `no ${target.type} ${target.id} in your HubSpot portal; nothing was written`,
      },
    );
    ctx.detail('target', `${target.type} ${target.id}`);
    ctx.commit();
    const note = await hubspot.createNote(
      ctx.identity,
      { bodyHtml: noteHtml(args.body), timestamp: new Date().toISOString(), target },
      { signal: ctx.signal, deadline },
    );
    ctx.detail('noteId', note.id);
    const created = isoOf(note.createdAt);
    return {
      data: {
        noteId: note.id,
        ...(target.type === 'contact' ? { contactId: target.id } : { companyId: target.id }),
        ...(created ? { createdAt: created } : {}),
      },
      untrusted: { source: 'hubspot' },
    };
  },
});
