// HTML for the console, built as strings with every value escaped: text written by agents (tool
// arguments, agent ids, notes, display names) is hostile. `html` tagged templates escape every
// interpolated value unless it is already {@link Html} (built here); nothing else reaches a page.

/** Markup built by this module (safe to interpolate unescaped). */
export class Html {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

const ESC: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
  '`': '&#96;',
};

/** Escapes text for HTML text and quoted attribute values. */
export function escapeHtml(v: unknown): string {
  return String(v ?? '').replace(/[&<>"'`]/g, (c) => ESC[c]!);
}

type Part = Html | string | number | boolean | null | undefined | readonly Part[];

function render(v: Part): string {
  if (v instanceof Html) return v.text;
  if (Array.isArray(v)) return v.map(render).join('');
  if (v === null || v === undefined || v === false) return '';
  return escapeHtml(v);
}

/** A template whose interpolations are escaped (arrays joined, Html kept). */
export function html(strings: TemplateStringsArray, ...values: Part[]): Html {
  let out = strings[0]!;
  for (let i = 0; i < values.length; i++) out += render(values[i]!) + strings[i + 1]!;
  return new Html(out);
}

/** `\uXXXX` for one UTF-16 code unit. */
const u = (code: number) => `\\u${code.toString(16).toUpperCase().padStart(4, '0')}`;

/**
 * Text made visible character by character: printable ASCII as it is (escaped for HTML); every
 * other character — controls, non-ASCII letters, bidirectional controls, zero-width and other
 * invisible characters, lone surrogates — as `\uXXXX` (UTF-16 units), marked so that it cannot be
 * mistaken for the text around it; runs of spaces are marked too. Nothing is dropped or cut.
 */
export function visible(text: string): Html {
  let out = '';
  let i = 0;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c === 0x20) {
      let j = i;
      while (text.charCodeAt(j) === 0x20) j++;
      const run = j - i;
      out += run > 1 ? `<span class="spaces" title="${run} spaces">${' '.repeat(run)}</span>` : ' ';
      i = j;
      continue;
    }
    if (c > 0x20 && c < 0x7f) {
      out += escapeHtml(text[i]);
      i++;
      continue;
    }
    // Astral characters are shown as their two UTF-16 units, as JSON would escape them.
    const units =
      c >= 0xd800 && c <= 0xdbff && i + 1 < text.length && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00
        ? [c, text.charCodeAt(i + 1)]
        : [c];
    const cp = text.codePointAt(i)!;
    const label =
      units.length === 2 || !(c >= 0xd800 && c <= 0xdfff)
        ? `U+${cp.toString(16).toUpperCase().padStart(4, '0')}`
        : 'lone surrogate';
    out += `<span class="esc" title="${label}">${units.map(u).join('')}</span>`;
    i += units.length;
  }
  return new Html(out);
}

/** True when `text` has characters {@link visible} shows escaped (anything but printable ASCII). */
export function hasHidden(text: string): boolean {
  return /[^\x20-\x7e]/.test(text);
}

/**
 * The console's path as the browser sees it: PUBLIC_URL's path (without a trailing slash) + `/console`.
 * Behind the one-host Ingress/HTTPRoute (PUBLIC_URL https://fleet.example.com/admin) the prefix is
 * stripped before the request reaches the server, so the routes stay at /console while every URL a
 * page, a script or a redirect gives the browser must carry the prefix.
 */
export function consoleBase(publicUrl: string): string {
  return `${new URL(publicUrl).pathname.replace(/\/+$/, '')}/console`;
}

/** A page: head with the strict-CSP assets, the navigation for a signed-in person, and the body. */
export function page(o: {
  /** The console's public path ({@link consoleBase}); every URL of the frame starts with it. */
  base: string;
  title: string;
  body: Html;
  who?: { name: string; csrf: string } | undefined;
  nav?: 'pending' | 'audit' | 'agents' | 'anomalies' | undefined;
  script?: boolean;
  /** A same-site continuation (meta refresh) to this path (already under `base`). */
  refresh?: string;
}): string {
  const link = (href: string, label: string, key: string) =>
    html`<a href="${href}"${o.nav === key ? new Html(' aria-current="page"') : ''}>${label}</a>`;
  return `<!doctype html>${html`<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="same-origin">
${o.refresh ? html`<meta http-equiv="refresh" content="0;url=${o.refresh}">` : ''}
<title>${o.title} · mcp-fleet approvals</title>
<link rel="stylesheet" href="${o.base}/assets/console.css">
${o.script ? html`<script src="${o.base}/assets/console.js" defer></script>` : ''}
</head><body>
<header><strong>mcp-fleet approvals</strong>
${
  o.who
    ? html`<nav>${link(o.base, 'Pending', 'pending')} ${link(`${o.base}/audit`, 'Audit trail', 'audit')} ${link(`${o.base}/agents`, 'Agents', 'agents')} ${link(`${o.base}/anomalies`, 'Unusual sequences', 'anomalies')}</nav>
<form method="post" action="${o.base}/logout" class="logout"><span class="who">Signed in as <b>${visible(o.who.name)}</b></span>
<input type="hidden" name="_csrf" value="${o.who.csrf}"><button type="submit">Sign out</button></form>`
    : ''
}
</header>
<main>${o.body}</main></body></html>`}`;
}

/** A short UTC time. */
export function when(iso: string | Date | null | undefined): string {
  if (!iso) return '';
  const d = iso instanceof Date ? iso : new Date(iso);
  return Number.isNaN(d.getTime())
    ? String(iso)
    : d
        .toISOString()
        .replace('T', ' ')
        .replace(/\.\d+Z$/, 'Z');
}

/** "4m 10s" until `iso` (or "expired"). */
export function timeLeft(iso: string, now = Date.now()): string {
  const ms = new Date(iso).getTime() - now;
  if (!(ms > 0)) return 'expired';
  const s = Math.floor(ms / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h > 0 ? `${h}h ${m}m` : `${m}m ${s % 60}s`;
}

/** {@link visible} as plain text (for SVG text and titles, where no markup can mark it): `\uXXXX` for every unit that is not printable ASCII. */
export function visiblePlain(text: string): string {
  return text.replace(
    /[^\x20-\x7e]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`,
  );
}
