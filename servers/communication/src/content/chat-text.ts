// Content rules of chat messages (Slack and Teams): broadcast mentions neutralised unless policy allows
// them, links whose text disguises their target refused, user mentions only of real users, a length cap.
import { domainToASCII } from 'node:url';
import { ToolError } from '@mcp-fleet/core';
import { hasMarkdownImage, markdownLinks, namedHosts, urlCandidates } from './chat-links.js';

/** What a chat text may contain, from the granted value that allowed its destination. */
export interface ChatTextRules {
  /** Broadcast and user-group mentions go out as written (`<!channel>`, `<!subteam^…>`). */
  broadcast: boolean;
  /** Most characters of the text (before escaping). */
  maxChars: number;
  /** True when `id` is a real, active user of the workspace (Slack `<@U…>` mentions). */
  isUser?: (id: string) => boolean;
}

/**
 * More distinct user mentions than this in one message notify so many people that it counts as a
 * broadcast: refused unless the grant allows broadcasts.
 */
export const MAX_USER_MENTIONS = 5;
/** Slack's own limit on a message's text, after escaping. */
const SLACK_HARD_LIMIT = 40_000;
/**
 * The plain-text broadcast words Slack and Teams users read as "notify everyone", whatever follows them
 * (no `\b`: with the `iu` flags `ſ` and `K` count as word characters, so `@everyoneſ` slipped through).
 */
const BROADCAST_WORDS = /@(channel|here|everyone)/giu;
/** Invisible word joiner: `@\u2060channel` reads the same and notifies nobody. */
const JOINER = '\u2060';
/** Slack control sequences go out as written only in these exact forms. */
const BROADCAST_SPECIAL = /^!(channel|here|everyone|subteam\^S[A-Z0-9]{2,20}(\|@[a-z0-9._-]{1,80})?)$/;
const USER_MENTION = /^@([UW][A-Z0-9]{2,20})$/;
const CHANNEL_LINK = /^#[CG][A-Z0-9]{2,20}$/;
/** Markdown a renderer hides in link text: escapes, emphasis, strike-through and code markers. */
const MARKUP = /[\\*_~`]/g;

/** Refuses a text longer than the cap, with advice. */
export function checkLength(text: string, maxChars: number): void {
  const n = [...text].length;
  if (n > maxChars)
    throw new ToolError(
      `The text is ${n} characters; at most ${maxChars} may be posted. Shorten it or split it into several posts.`,
      'content_too_long',
    );
}

/** Neutralises plain-text broadcast words (`@channel`, `@here`, `@everyone`…). */
export function neutraliseBroadcastWords(text: string): string {
  return text.replace(BROADCAST_WORDS, (_m, w: string) => `@${JOINER}${w}`);
}

/** Characters a reader does not see (format controls, combining/enclosing marks, default-ignorables). */
const INVISIBLE = /[\p{Cf}\p{Mn}\p{Me}\p{Default_Ignorable_Code_Point}]/gu;
/** Characters a reader takes for a dot between host labels. */
const DOTS = /[\u3002\uff0e\uff61\u2024\ufe52\u00b7\u2027\u2219\u22c5\u30fb\u0701\u0702\u06d4]/g;

/**
 * The label as a reader sees it, for comparing the hosts it names: NFKC, invisible characters removed
 * (ZWSP, soft hyphen, CGJ, joiners, variation selectors…), look-alike dots and spaces made ASCII.
 */
export function visibleText(label: string): string {
  return label
    .normalize('NFKC')
    .replace(INVISIBLE, '')
    .replace(DOTS, '.')
    .replace(/\p{Zs}/gu, ' ');
}

/** The host a URL names (ASCII, lowercase, no leading `www.`); null when it is no usable link target. */
export function linkHost(url: string): string | null {
  const mail = /^mailto:[^@\s]+@([^?\s]+)/i.exec(url);
  if (mail) return normaliseHost(mail[1] ?? '');
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return null;
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') return null;
  if (u.username || u.password) return null;
  return normaliseHost(u.hostname);
}

function normaliseHost(host: string): string | null {
  const ascii = domainToASCII(host.toLowerCase().replace(/\.$/, ''));
  if (!ascii) return null;
  return ascii.replace(/^www\./, '');
}

/**
 * Refuses a link target a reader could misjudge, before its label is compared: not http(s)/mailto,
 * credentials, a host that is not plain ASCII as written (IDN/punycode, percent-encoded, backslashes,
 * explicit ports that change nothing), or percent-encoded letters/digits (which would hide a secret
 * from the outbound scan). Returns the target's normalised host.
 */
export function checkLinkTarget(url: string): string {
  const host = linkHost(url);
  if (host === null)
    throw new ToolError(
      `Links must be http(s) or mailto addresses without credentials; \`${url.slice(0, 80)}\` is not. Write the address plainly.`,
      'content_refused',
    );
  const written = /^mailto:/i.test(url)
    ? (/^mailto:[^@\s]+@([^?\s]+)/i.exec(url)?.[1] ?? '')
    : (/^https?:\/\/([^/?#\\]*)/i.exec(url)?.[1] ?? '');
  const parsed = /^mailto:/i.test(url) ? written : new URL(url).host;
  if (!/^[a-z0-9.-]+(:\d{1,5})?$/i.test(written) || written.toLowerCase() !== parsed.toLowerCase())
    throw new ToolError(
      `The link \`${url.slice(0, 80)}\` does not name its host in plain ASCII (letters, digits, dots, hyphens). ` +
        'Internationalised, encoded or look-alike host names are refused because they can imitate another address.',
      'disguised_link',
    );
  if (host.split('.').some((l) => l.startsWith('xn--')))
    throw new ToolError(
      `The link \`${url.slice(0, 80)}\` goes to an internationalised (punycode) host; such links are refused because they can imitate another address.`,
      'disguised_link',
    );
  if (/%(?:[46][1-9a-f]|[57][0-9a]|3[0-9]|2d|2e|5f|7e)/i.test(url))
    throw new ToolError(
      `The link \`${url.slice(0, 80)}\` percent-encodes plain letters, digits or -._~; write them as they are.`,
      'content_refused',
    );
  return host;
}

/**
 * Refuses link text that names another place than the link goes: any URL, domain or IP address in
 * `label` (as a reader sees it, see {@link visibleText}; markdown escapes and emphasis/code markers
 * removed, as a renderer hides them) must be the target's own host (`<https://evil.example|https://intranet.example.com>`,
 * `[intranet\\.example\\.com](https://evil.example)`, `<https://evil.example|10.0.0.5>` are refused), and the
 * target must pass {@link checkLinkTarget}. Linear in the label (hand-written scanners).
 */
export function checkLinkLabel(url: string, label: string): void {
  const host = checkLinkTarget(url);
  const text = visibleText(label).replace(MARKUP, '');
  for (const u of urlCandidates(text)) if (linkHost(u) !== host) throw disguised(u, host);
  for (const n of namedHosts(text)) {
    const named = n.kind === 'ip' ? n.host : normaliseHost(n.host);
    if (named !== host) throw disguised(n.written, host);
  }
}

function disguised(named: string, host: string): ToolError {
  return new ToolError(
    `The link text names \`${named.slice(0, 80)}\` but the link goes to \`${host}\`. ` +
      'Link text may not look like a different address; use plain words or the real address.',
    'disguised_link',
  );
}

/** Escapes the three characters Slack reserves for control sequences. */
export function escapeSlack(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/**
 * Prepares a text for Slack's `chat.postMessage` (sent with `parse: 'none'`): every `<…>` control
 * sequence is checked — broadcasts kept only when allowed, user mentions only of real users, links
 * only when their text does not disguise the target — and everything else is escaped, so Slack shows
 * it as written. Throws ToolError for what must be refused.
 */
export function prepareSlackText(text: string, rules: ChatTextRules): string {
  checkLength(text, rules.maxChars);
  let out = '';
  let last = 0;
  for (const m of text.matchAll(/<([^<>]*)>/g)) {
    const at = m.index ?? 0;
    out += plainSlack(text.slice(last, at));
    out += controlSlack(m[0], m[1] ?? '', rules);
    last = at + m[0].length;
  }
  out += plainSlack(text.slice(last));
  const mentioned = new Set([...out.matchAll(/<@([UW][A-Z0-9]{2,20})>/g)].map((m) => m[1]));
  if (mentioned.size > MAX_USER_MENTIONS && !rules.broadcast)
    throw new ToolError(
      `The text mentions ${mentioned.size} people; more than ${MAX_USER_MENTIONS} mentions in one message are a broadcast, ` +
        'which your role may not send. Mention fewer people, or write their names as plain text.',
      'content_refused',
    );
  // Escaping lengthens the text; Slack refuses (msg_too_long) above 40,000 characters.
  if (out.length > SLACK_HARD_LIMIT) checkLength(out, SLACK_HARD_LIMIT);
  return out;
}

function plainSlack(s: string): string {
  return neutraliseBroadcastWords(escapeSlack(s));
}

function controlSlack(whole: string, inner: string, rules: ChatTextRules): string {
  if (inner.startsWith('!')) {
    return rules.broadcast && BROADCAST_SPECIAL.test(inner) ? whole : plainSlack(whole);
  }
  const user = USER_MENTION.exec(inner);
  if (user) {
    const id = user[1] ?? '';
    if (rules.isUser?.(id)) return whole;
    throw new ToolError(
      `\`${whole}\` mentions no user of this workspace. Mention users by their id from Slack, or write the name as plain text.`,
      'content_refused',
    );
  }
  if (inner.startsWith('@')) return plainSlack(whole); // labelled or malformed mentions: shown as text
  if (CHANNEL_LINK.test(inner)) return whole;
  const bar = inner.indexOf('|');
  const url = bar < 0 ? inner : inner.slice(0, bar);
  if (/^(https?|mailto):/i.test(url) && !/\s/.test(url)) {
    const label = bar < 0 ? '' : inner.slice(bar + 1);
    checkLinkLabel(url, label);
    // The label is shown as text: it may not carry broadcast words or escapes of its own.
    return bar < 0 ? whole : `<${url}|${neutraliseBroadcastWords(label.replace(/&/g, '&amp;'))}>`;
  }
  return plainSlack(whole);
}

/**
 * Prepares a text for a Teams message (Adaptive Card TextBlock markdown): markdown links must not
 * disguise their target, broadcast words and `<at>`/`<!…>` sequences are neutralised.
 */
export function prepareTeamsText(text: string, rules: Pick<ChatTextRules, 'maxChars'>): string {
  checkLength(text, rules.maxChars);
  if (hasMarkdownImage(text))
    throw new ToolError(
      "Images in Teams messages are refused: every reader's client would fetch their URL (a data leak). Link to the page instead.",
      'content_refused',
    );
  // Markdown links (hand-written scanner: the former regex was cubic on repeated `](`).
  for (const link of markdownLinks(text)) checkLinkLabel(link.url, link.label);
  // Linear: each try starts at a `<` and stops at the next `<` or `>`.
  for (const m of text.matchAll(/<((?:https?|mailto):[^<>|\s]+)\|([^<>]*)>/gi))
    checkLinkLabel(m[1] ?? '', m[2] ?? '');
  return neutraliseBroadcastWords(text).replace(/<(?=\/?at\b|!)/giu, `<${JOINER}`);
}
