// The outbox page of the hub: server-rendered HTML of everything the agents sent (newest first), every
// value escaped, clearly labelled as simulators and not the real systems.
import type { OutboxEntry } from './records.js';

/** The page title: nobody should take these for the real systems. */
export const OUTBOX_TITLE = 'mcp-fleet local simulators — not real Slack/email/Teams/Jira';

/** Escapes text for HTML content and attribute values. */
export function escapeHtml(s: unknown): string {
  return String(s ?? '').replace(/[&<>"'`]/g, (c) => `&#${c.charCodeAt(0)};`);
}

const LABEL: Record<string, string> = { slack: 'Slack', email: 'Email', teams: 'Teams', jira: 'Jira' };

/** The whole page for `entries` (given oldest first; shown newest first). */
export function renderOutbox(entries: readonly OutboxEntry[], links: Record<string, string>): string {
  const rows = [...entries]
    .reverse()
    .map((e) => {
      const extra =
        e.extra && Object.keys(e.extra).length
          ? `<pre class="x">${escapeHtml(JSON.stringify(e.extra, null, 1))}</pre>`
          : '';
      return `<tr class="${escapeHtml(e.system)}"><td>${escapeHtml(e.at)}</td><td>${escapeHtml(LABEL[e.system] ?? e.system)} ${escapeHtml(e.kind)}</td><td>${escapeHtml(e.destination)}</td><td><code>${escapeHtml(e.upstreamId)}</code></td><td><b>${escapeHtml(e.title)}</b><pre>${escapeHtml(e.text)}</pre>${extra}</td></tr>`;
    })
    .join('\n');
  const linkList = Object.entries(links)
    .map(([k, v]) => `<li>${escapeHtml(k)}: <code>${escapeHtml(v)}</code></li>`)
    .join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="10">
<title>${escapeHtml(OUTBOX_TITLE)}</title>
<style>body{font:14px system-ui,sans-serif;margin:2em}h1{color:#b00}table{border-collapse:collapse;width:100%}
td,th{border:1px solid #ccc;padding:4px 8px;vertical-align:top;text-align:left}pre{white-space:pre-wrap;margin:4px 0}
pre.x{color:#555;font-size:12px}.banner{background:#fee;border:2px solid #b00;padding:8px}</style></head>
<body><h1>${escapeHtml(OUTBOX_TITLE)}</h1>
<p class="banner">These are local simulators started by <code>pnpm start</code>. Nothing here reached a real Slack workspace,
mailbox, Teams channel or Jira site. This page lists what the agents sent, newest first (<a href="outbox.json">JSON</a>).</p>
<ul>${linkList}</ul>
<table><thead><tr><th>When</th><th>What</th><th>Where</th><th>Upstream id</th><th>Content</th></tr></thead>
<tbody>${rows || '<tr><td colspan="5">Nothing sent yet.</td></tr>'}</tbody></table></body></html>`;
}
