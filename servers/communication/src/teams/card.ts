// Adaptive Cards a model may send to Teams: a bounded subset (TextBlock, FactSet, Container, ColumnSet,
// Action.OpenUrl to https only), no images or media (a fetched URL is an exfiltration channel), texts
// checked with the chat content rules.
import { ToolError } from '@mcp-fleet/core';
import { z } from 'zod';
import { checkLinkLabel, prepareTeamsText } from '../content/chat-text.js';

const spacing = z.enum(['none', 'small', 'default', 'medium', 'large', 'extraLarge', 'padding']).optional();
const common = { spacing, separator: z.boolean().optional() };
const text = z.string().max(10_000);

const textBlock = z
  .object({
    type: z.literal('TextBlock'),
    text,
    size: z.enum(['default', 'small', 'medium', 'large', 'extraLarge']).optional(),
    weight: z.enum(['default', 'lighter', 'bolder']).optional(),
    color: z.enum(['default', 'dark', 'light', 'accent', 'good', 'warning', 'attention']).optional(),
    isSubtle: z.boolean().optional(),
    wrap: z.boolean().optional(),
    maxLines: z.number().int().min(0).max(100).optional(),
    horizontalAlignment: z.enum(['left', 'center', 'right']).optional(),
    ...common,
  })
  .strict();
const factSet = z
  .object({
    type: z.literal('FactSet'),
    facts: z.array(z.object({ title: z.string().max(200), value: z.string().max(2_000) }).strict()).max(30),
    ...common,
  })
  .strict();

/** One card element of the subset (recursive through Container and ColumnSet). */
export type CardElement =
  | z.output<typeof textBlock>
  | z.output<typeof factSet>
  | { type: 'Container'; items: CardElement[]; style?: string; spacing?: string; separator?: boolean }
  | {
      type: 'ColumnSet';
      columns: { type: 'Column'; items: CardElement[]; width?: string | number }[];
      spacing?: string;
      separator?: boolean;
    };

const element: z.ZodType<CardElement> = z.lazy(() =>
  z.discriminatedUnion('type', [
    textBlock,
    factSet,
    z
      .object({
        type: z.literal('Container'),
        items: z.array(element).max(50),
        style: z.enum(['default', 'emphasis', 'good', 'attention', 'warning', 'accent']).optional(),
        ...common,
      })
      .strict(),
    z
      .object({
        type: z.literal('ColumnSet'),
        columns: z
          .array(
            z
              .object({
                type: z.literal('Column'),
                items: z.array(element).max(50),
                width: z
                  .union([
                    z.string().regex(/^(auto|stretch|\d{1,4}px|\d{1,3})$/),
                    z.number().int().min(1).max(100),
                  ])
                  .optional(),
              })
              .strict(),
          )
          .max(6),
        ...common,
      })
      .strict(),
  ]),
) as z.ZodType<CardElement>;

const openUrl = z
  .object({
    type: z.literal('Action.OpenUrl'),
    title: z.string().min(1).max(100),
    url: z.string().max(2_000),
  })
  .strict();

/** The Adaptive Card subset a model may send. */
export const adaptiveCard = z
  .object({
    type: z.literal('AdaptiveCard'),
    version: z.enum(['1.0', '1.1', '1.2', '1.3', '1.4', '1.5']),
    $schema: z.literal('http://adaptivecards.io/schemas/adaptive-card.json').optional(),
    body: z.array(element).min(1).max(50),
    actions: z.array(openUrl).max(5).optional(),
  })
  .strict();

/** A card of the subset. */
export type AdaptiveCard = z.output<typeof adaptiveCard>;

const FETCHING = new Set([
  'Image',
  'ImageSet',
  'Media',
  'RichTextBlock',
  'Action.Submit',
  'Action.Execute',
  'Action.ShowCard',
]);
const FETCHING_KEYS = new Set([
  'backgroundImage',
  'iconUrl',
  'selectAction',
  'msteams',
  'refresh',
  'authentication',
  'metadata',
]);

/** Most card elements nested in one another (ColumnSet → Column → Container → … → TextBlock). */
export const MAX_CARD_DEPTH = 8;
/** Most JSON levels of a card argument (arrays and objects), whatever they are. */
const MAX_JSON_DEPTH = 4 * MAX_CARD_DEPTH + 8;

/**
 * Refuses images, media, mentions and cards nested too deeply, with a clear reason. Depth counts card
 * elements (objects with a `type`), not the arrays and objects between them; a separate, looser bound
 * on raw JSON depth keeps untyped nesting from running deep.
 */
function refuseFetches(node: unknown, elements = 0, json = 0): void {
  if (json > MAX_JSON_DEPTH || elements > MAX_CARD_DEPTH)
    throw new ToolError(
      `The card is nested too deeply (at most ${MAX_CARD_DEPTH} elements inside one another).`,
      'card_refused',
    );
  if (Array.isArray(node)) for (const n of node) refuseFetches(n, elements, json + 1);
  else if (node && typeof node === 'object') {
    const typed = typeof (node as { type?: unknown }).type === 'string' && json > 0;
    for (const [k, v] of Object.entries(node)) {
      if (k === 'type' && typeof v === 'string' && FETCHING.has(v))
        throw new ToolError(
          `Cards may not contain ${v}: images and media are fetched from their URL by every reader's client (a data leak), and ` +
            'actions other than Action.OpenUrl are not supported. Use TextBlock, FactSet, Container, ColumnSet and Action.OpenUrl.',
          'card_refused',
        );
      if (FETCHING_KEYS.has(k))
        throw new ToolError(
          `Cards may not set \`${k}\` (fetched URLs, mentions and card refresh are refused).`,
          'card_refused',
        );
      refuseFetches(v, elements + (typed ? 1 : 0), json + 1);
    }
  }
}

/**
 * Every string of a card that leaves, with its path under the card (for the secrets scan, the audit
 * masking and contentSha256): TextBlock texts, fact titles and values, action titles AND action URLs.
 * The other string fields of the subset are enums or fixed patterns (size, color, width…).
 */
export function cardTexts(
  card: AdaptiveCard,
  base: (string | number)[],
): { path: (string | number)[]; text: string }[] {
  const out: { path: (string | number)[]; text: string }[] = [];
  const walk = (els: CardElement[], path: (string | number)[]) =>
    els.forEach((e, i) => {
      const p = [...path, i];
      if (e.type === 'TextBlock') out.push({ path: [...p, 'text'], text: e.text });
      else if (e.type === 'FactSet')
        e.facts.forEach((f, j) => {
          out.push(
            { path: [...p, 'facts', j, 'title'], text: f.title },
            { path: [...p, 'facts', j, 'value'], text: f.value },
          );
        });
      else if (e.type === 'Container') walk(e.items, [...p, 'items']);
      else
        e.columns.forEach((c, j) => {
          walk(c.items, [...p, 'columns', j, 'items']);
        });
    });
  walk(card.body, [...base, 'body']);
  card.actions?.forEach((a, i) => {
    out.push(
      { path: [...base, 'actions', i, 'title'], text: a.title },
      { path: [...base, 'actions', i, 'url'], text: a.url },
    );
  });
  return out;
}

/** Validates a card argument and returns it with every text made safe; throws ToolError card_refused / disguised_link. */
export function prepareCard(raw: unknown, maxChars: number): AdaptiveCard {
  refuseFetches(raw);
  // Size first, before any text is read: the checks below are linear, but a card far above the cap
  // (50 TextBlocks of 10,000 characters) is refused without spending them. Preparing only lengthens it.
  checkBytes(cardMessage(raw as AdaptiveCard), maxChars);
  const parsed = adaptiveCard.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ToolError(
      `The card is outside the supported subset at ${issue?.path.join('.') || 'the top'}: ${issue?.message ?? 'invalid'}. ` +
        'Supported: AdaptiveCard 1.0–1.5 with TextBlock, FactSet, Container, ColumnSet and Action.OpenUrl (https).',
      'card_refused',
    );
  }
  const safe = (s: string) => prepareTeamsText(s, { maxChars });
  const fix = (els: CardElement[]): CardElement[] =>
    els.map((e) => {
      if (e.type === 'TextBlock') return { ...e, text: safe(e.text) };
      if (e.type === 'FactSet')
        return { ...e, facts: e.facts.map((f) => ({ title: safe(f.title), value: safe(f.value) })) };
      if (e.type === 'Container') return { ...e, items: fix(e.items) };
      return { ...e, columns: e.columns.map((c) => ({ ...c, items: fix(c.items) })) };
    });
  const actions = parsed.data.actions?.map((a) => {
    if (!/^https:\/\//i.test(a.url))
      throw new ToolError(
        `Action.OpenUrl must open an https:// address; \`${a.url.slice(0, 80)}\` does not.`,
        'card_refused',
      );
    // The title may not name another host than the URL; the URL must name a plain-ASCII host and is
    // plan content (secrets scan, audit). No host allow-list: a model may link anywhere https, as it may
    // write any address in text; policy would need a new dimension field for that (not in the contract).
    checkLinkLabel(a.url, a.title);
    return { ...a, title: safe(a.title) };
  });
  return { ...parsed.data, body: fix(parsed.data.body), ...(actions ? { actions } : {}) };
}

/** Refuses a webhook payload above `maxBytes` (its JSON, UTF-8). */
export function checkBytes(payload: unknown, maxBytes: number): number {
  const bytes = Buffer.byteLength(JSON.stringify(payload));
  if (bytes > maxBytes)
    throw new ToolError(
      `The message is ${bytes} bytes; Teams takes at most ${maxBytes}. Shorten it.`,
      'content_too_long',
    );
  return bytes;
}

/** The webhook payload of a card: a message with one Adaptive Card attachment. */
export function cardMessage(card: AdaptiveCard): unknown {
  return {
    type: 'message',
    attachments: [
      { contentType: 'application/vnd.microsoft.card.adaptive', contentUrl: null, content: card },
    ],
  };
}

/** The card of a plain-text message: one wrapping TextBlock. */
export function textCard(text: string): AdaptiveCard {
  return { type: 'AdaptiveCard', version: '1.4', body: [{ type: 'TextBlock', text, wrap: true }] };
}
