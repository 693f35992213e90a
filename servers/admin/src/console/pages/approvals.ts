// The pending list and one request: everything the approver must see to decide, and the exact
// arguments that will run — the stored canonical JSON, whole, every character made visible.
import { createHash } from 'node:crypto';
import type { ApprovalView } from '@mcp-fleet/core/approvals';
import type { Approver } from '../approver.js';
import { type Html, hasHidden, html, timeLeft, visible, when } from '../html.js';
import { anyUncertain, type EarlierCall, earlierCallsSection, repeatMarker } from './repeats.js';

/** UTF-8 length of a text. */
export const byteLength = (text: string) => Buffer.byteLength(text, 'utf8');

/** The exact-arguments facts: UTF-8 length, SHA-256 (hex), and whether it is the hash the approval binds. */
export function argumentFacts(
  a: ApprovalView,
): { bytes: number; sha256: string; bound: boolean } | undefined {
  if (a.argumentsJson === null) return undefined;
  const digest = createHash('sha256').update(a.argumentsJson, 'utf8').digest();
  return {
    bytes: byteLength(a.argumentsJson),
    sha256: digest.toString('hex'),
    bound: digest.toString('base64url') === a.argsHash,
  };
}

/**
 * One pending request as the live list shows it (JSON for the page's script; text only). Its reason is
 * the request's own (ApprovalView.reason: the policy reason and each hold reason, stored when it was
 * opened; the opening call's audit record for older requests), as the approvals API and CLI show it.
 */
export function pendingItem(a: ApprovalView, earlier?: readonly EarlierCall[]) {
  return {
    id: a.id,
    server: a.server,
    tool: a.tool,
    agentId: a.agentId,
    user: a.user ?? '',
    agentSession: a.agentSession ?? '',
    reason: a.reason ?? '',
    expiresAt: a.expiresAt,
    requiredApprovals: a.requiredApprovals ?? 1,
    approvalsGiven: a.approvals?.length ?? 0,
    argumentBytes: a.argumentsJson === null ? 0 : byteLength(a.argumentsJson),
    /** Earlier identical calls (same tool and arguments by any caller in the tenant, last 24 h): '' or e.g. "repeat: 2 earlier, outcome unknown". */
    repeat: repeatMarker(earlier),
    repeatUncertain: anyUncertain(earlier),
  };
}

/** The pending approvals page (the script keeps the table live). */
export function pendingPage(
  base: string,
  approvals: readonly ApprovalView[],
  total: number,
  byAgent: Record<string, number>,
  earlier: Map<string, EarlierCall[]> = new Map(),
): Html {
  const rows = approvals.map((a) => {
    const i = pendingItem(a, earlier.get(a.id));
    return html`<tr data-id="${i.id}"><td><a href="${base}/approvals/${encodeURIComponent(i.id)}">${visible(`${i.server} / ${i.tool}`)}</a>${i.repeat ? html` <span class="${i.repeatUncertain ? 'repeat uncertain' : 'repeat'}">${i.repeat}</span>` : ''}</td>
<td class="mono">${visible(i.agentId)}</td><td class="mono">${visible(i.user)}</td><td class="mono">${visible(i.agentSession)}</td><td>${visible(i.reason)}</td>
<td>${i.approvalsGiven} of ${i.requiredApprovals}</td><td>${i.argumentBytes} bytes</td><td class="left" data-expires="${i.expiresAt}">${timeLeft(i.expiresAt)}</td></tr>`;
  });
  const agents = Object.entries(byAgent);
  return html`<h1>Pending approvals (<span id="pending-count">${total}</span>)</h1>
<p class="muted" id="live-status">Updated when the page loaded.</p>
<table id="pending" data-api="${base}/api/pending" data-approvals="${base}/approvals/"><thead><tr><th>Server / tool</th><th>Agent</th><th>On behalf of</th><th>Session</th><th>Policy reason</th><th>Approvals</th><th>Arguments</th><th>Time left</th></tr></thead>
<tbody>${rows}</tbody></table>
${agents.length ? html`<h2>Waiting per agent</h2><ul>${agents.map(([agent, n]) => html`<li><span class="mono">${visible(agent)}</span>: ${n}</li>`)}</ul>` : ''}
<p class="muted">Open a request to see exactly what will run and to approve or deny it.</p>`;
}

/** What a decision did, or why it was refused (the only texts `?result=` can show). */
export const DECISION_MESSAGES: Readonly<Record<string, { ok: boolean; text: string }>> = {
  approved: { ok: true, text: 'Approved. The agent may now run exactly these arguments, once.' },
  approved_first: {
    ok: true,
    text: 'Your approval is recorded. Another approver must also approve before it can run.',
  },
  denied: { ok: true, text: 'Denied. Nothing will run.' },
  revoked: { ok: true, text: 'The approval was withdrawn. Nothing will run.' },
  self_approval: { ok: false, text: 'Refused: the agent that asked cannot approve or deny its own request.' },
  requester_approval: {
    ok: false,
    text: 'Refused: you are the person this agent acts for; another approver must decide.',
  },
  same_approver: {
    ok: false,
    text: 'Refused: you already approved this request; a different person must give the other approval.',
  },
  incomplete: {
    ok: false,
    text: 'Refused: this request was opened without its exact arguments; the agent must ask again.',
  },
  already_decided: { ok: false, text: 'Refused: this request was already decided.' },
  expired: { ok: false, text: 'Refused: this request has expired; the agent must ask again.' },
  not_approved: {
    ok: false,
    text: 'Refused: only an approved request that has not been used can be withdrawn.',
  },
  invalid_request: {
    ok: false,
    text: 'Refused: the comment is too long or contains characters that cannot be stored.',
  },
};

/** One request: the facts, the exact arguments, and the decision forms. */
export function approvalPage(
  base: string,
  a: ApprovalView,
  csrf: string,
  flash: string | undefined,
  _approver: Approver,
  earlier?: readonly EarlierCall[],
): Html {
  const facts = argumentFacts(a);
  const given = a.approvals ?? [];
  const required = a.requiredApprovals ?? 1;
  const f = flash ? DECISION_MESSAGES[flash] : undefined;
  // Every value agent-written or agent-chosen is shown with its hidden characters made visible.
  const row = (k: string, v: unknown, mono = false) =>
    html`<tr><th>${k}</th><td${mono ? html` class="mono"` : ''}>${visible(String(v ?? ''))}</td></tr>`;
  const pending = a.status === 'pending' && a.argumentsJson !== null;
  const form = (
    action: 'approve' | 'deny',
    label: string,
  ) => html`<form method="post" class="decide" action="${base}/approvals/${encodeURIComponent(a.id)}/decide">
<input type="hidden" name="_csrf" value="${csrf}"><input type="hidden" name="action" value="${action}">
<input type="hidden" name="args_sha256" value="${a.argsHash}">
<label>Comment (optional)<br><textarea name="note" maxlength="1000"></textarea></label><br>
<button type="submit" id="${action}">${label}</button></form>`;
  return html`<h1><span class="mono">${visible(`${a.server} / ${a.tool}`)}</span> — ${a.status}</h1>
${f ? html`<p class="${f.ok ? 'ok' : 'error'}" id="result">${f.text}</p>` : ''}
<h2>Earlier identical calls</h2>
${earlierCallsSection(base, earlier)}
<table class="facts">
${row('Request', a.id, true)}${row('Status', a.status)}${row('Server', a.server, true)}${row('Tool', a.tool, true)}
${row('Agent', a.agentId, true)}${row('On behalf of', a.user ?? '(none)', true)}${row('Agent session', a.agentSession ?? '(none)', true)}
${row('Tenant', a.tenant ?? '(none)', true)}${row('Roles', a.roles.join(', '), true)}${row('Policy reason', a.reason ?? '(not recorded)')}
${row('Requested', when(a.requestedAt))}${row('Expires', `${when(a.expiresAt)} (${a.status === 'pending' ? timeLeft(a.expiresAt) : a.status})`)}
<tr><th>Approvals</th><td id="approvals-count">${given.length} of ${required} required${
    given.length
      ? html`<ul>${given.map((g) => html`<li><span class="mono">${visible(g.by)}</span> (${visible(g.issuer)}) at ${when(g.at)}${g.note ? html`: <span class="mono">${visible(g.note)}</span>` : ''}</li>`)}</ul>`
      : ''
  }</td></tr>
${a.decidedBy ? row('Decided by', `${a.decidedBy} (${a.decidedByIssuer ?? ''}) at ${when(a.decidedAt)}`, true) : ''}
${a.note ? html`<tr><th>Decision comment</th><td class="mono">${visible(a.note)}</td></tr>` : ''}
${a.executedAt ? row('Executed', `${when(a.executedAt)} (${a.outcome ?? ''})`) : ''}
</table>
<h2>Exactly what will run</h2>
${
  facts
    ? html`<p>The stored canonical JSON of the arguments, whole: <b id="arg-bytes">${facts.bytes}</b> bytes (UTF-8), SHA-256 <code id="arg-sha256">${facts.sha256}</code>${
        facts.bound
          ? ' — the hash this approval is bound to.'
          : html` <span class="error">does NOT match the hash this approval is bound to: do not approve.</span>`
      }</p>
${
  hasHidden(a.argumentsJson!)
    ? html`<p class="warn" id="hidden-warning">These arguments contain characters outside printable ASCII (control, invisible, bidirectional or non-ASCII characters). Each is shown as <span class="esc">\\uXXXX</span>; check them.</p>`
    : ''
}
<pre class="args" id="arguments">${visible(a.argumentsJson!)}</pre>`
    : html`<p class="error">This request was opened without its exact arguments and cannot be decided; the agent must ask again.</p>`
}
${
  pending
    ? html`<h2>Decide</h2><p>Approving lets the agent run this tool once, with exactly these arguments, in its session. Agent-written text above is shown as data, never as instructions.</p>
${form('approve', 'Approve')}${form('deny', 'Deny')}`
    : a.status === 'approved'
      ? html`<h2>Withdraw</h2><p>Approved and not used yet: you may withdraw the approval.</p>${form('deny', 'Withdraw approval')}`
      : ''
}
<p><a href="${base}">Back to pending approvals</a></p>`;
}
