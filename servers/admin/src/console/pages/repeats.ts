// Earlier identical calls (issue 15): before approving, the approver sees whether ANY caller in the
// request's tenant (any agent, on behalf of any user) already called the same server + tool with the
// same arguments in the last 24 h, who made each call, and how each ended — above all whether one's
// outcome is unknown (the upstream may have done it already: approving again could do it twice). Another
// agent or on-behalf-of user asking for the same refund is exactly the case to see: the admin server's
// Stripe Idempotency-Key includes the caller, so theirs would be a real second refund.
//
// "The same arguments" are the validated arguments without reserved keys, whatever idempotency_key or
// approval_id came with them: core records their fingerprint as details.argumentsHash on every call that
// went through the approval gate; an approval's args_hash binds the caller key too, so the request's own
// arguments-only fingerprint comes from core's argumentsHashesOf over its bound text. Older records are matched as before: the record's args_hash (of the
// arguments as sent) equal to the request's, or the record ran under an approval with the same
// args_hash. Records of this request itself, calls still being put up for approval
// (`awaiting_approval`) and `started` markers are not listed. The records are of the request's own
// tenant, so never outside the approver's scope (the request is in it).
import { argumentsHashesOf } from '@mcp-fleet/core/approvals';
import type pg from 'pg';
import { type Html, html, visible, when } from '../html.js';

/** How far back earlier calls are looked for. */
export const REPEAT_WINDOW_HOURS = 24;
/** At most this many earlier calls per request. */
export const REPEAT_LIMIT = 20;
/** Outcomes that leave open whether the call took effect upstream. */
export const UNCERTAIN_OUTCOMES: readonly string[] = ['unknown', 'timeout'];

/** One earlier identical call. */
export interface EarlierCall {
  id: string;
  ts: string;
  outcome: string;
  decision: string;
  resultSummary: string | null;
  /** The approval it ran under, when it resumed one. */
  approvalId: string | null;
  /** Who made it: the agent and the user it acted for. */
  agentId: string;
  user: string | null;
}

/** The earlier identical calls of each request (by approval id), most recent first. */
export async function earlierCallsOf(
  db: pg.Pool,
  approvalIds: readonly string[],
): Promise<Map<string, EarlierCall[]>> {
  const out = new Map<string, EarlierCall[]>();
  if (approvalIds.length === 0) return out;
  // Each request's arguments without the caller key, as core fingerprints them (details.argumentsHash).
  const requests = await db.query<{ id: string; args_hash: string; arguments_json: string | null }>(
    'SELECT id::text AS id, args_hash, arguments_json FROM approvals WHERE id = ANY($1::uuid[])',
    [approvalIds],
  );
  const ids: string[] = [];
  const hashes: string[] = [];
  for (const r of requests.rows) {
    for (const h of argumentsHashesOf(r.args_hash, r.arguments_json)) {
      ids.push(r.id);
      hashes.push(h);
    }
  }
  if (ids.length === 0) return out;
  const { rows } = await db.query<{
    approval: string;
    id: string;
    ts: Date;
    outcome: string;
    decision: string;
    result_summary: string | null;
    via: string | null;
    agent_id: string;
    user_invoker: string | null;
  }>(
    `SELECT p.id::text AS approval, r.id::text AS id, r.ts, r.outcome, r.decision, r.result_summary, r.via,
            r.agent_id, r.user_invoker
       FROM approvals p
       CROSS JOIN LATERAL (
         SELECT a.id, a.ts, a.outcome, a.decision, a.result_summary, a.details ->> 'approvalId' AS via,
                a.agent_id, a.user_invoker
           FROM audit_records a
          WHERE a.method = 'tools/call' AND a.server = p.server AND a.tool = p.tool
            AND a.tenant IS NOT DISTINCT FROM p.tenant
            AND a.ts >= now() - $2::int * interval '1 hour'
            AND a.outcome NOT IN ('started', 'awaiting_approval')
            AND (a.details ->> 'approvalId') IS DISTINCT FROM p.id::text
            AND ((a.details ->> 'argumentsHash') IN (
                  SELECT b.hash FROM unnest($4::uuid[], $5::text[]) AS b(id, hash) WHERE b.id = p.id)
                 OR a.args_hash = p.args_hash
                 OR (a.details ->> 'approvalId') IN (
                  SELECT q.id::text FROM approvals q
                   WHERE q.server = p.server AND q.tool = p.tool AND q.args_hash = p.args_hash
                     AND q.tenant IS NOT DISTINCT FROM p.tenant))
          ORDER BY a.ts DESC, a.id DESC
          LIMIT $3) r
      WHERE p.id = ANY($1::uuid[])
      ORDER BY r.ts DESC, r.id DESC`,
    [approvalIds, REPEAT_WINDOW_HOURS, REPEAT_LIMIT, ids, hashes],
  );
  for (const r of rows) {
    const list = out.get(r.approval) ?? [];
    list.push({
      id: r.id,
      ts: r.ts.toISOString(),
      outcome: r.outcome,
      decision: r.decision,
      resultSummary: r.result_summary,
      approvalId: r.via,
      agentId: r.agent_id,
      user: r.user_invoker,
    });
    out.set(r.approval, list);
  }
  return out;
}

/** Whether any earlier call's outcome is uncertain. */
export const anyUncertain = (calls: readonly EarlierCall[] | undefined) =>
  (calls ?? []).some((c) => UNCERTAIN_OUTCOMES.includes(c.outcome));

/** The warning text when an earlier identical call's outcome is unknown. */
export const UNCERTAIN_WARNING =
  "An earlier identical call's outcome is unknown: check the upstream before approving.";

/** The section of the approval page: the earlier identical calls, the warning first when one is uncertain. */
export function earlierCallsSection(base: string, calls: readonly EarlierCall[] | undefined): Html {
  if (!calls || calls.length === 0)
    return html`<p class="muted" id="earlier-none">No identical call (same tool and arguments, by any agent or user in this tenant) in the last ${REPEAT_WINDOW_HOURS} h.</p>`;
  const uncertain = anyUncertain(calls);
  return html`<div class="${uncertain ? 'error' : 'warn'}" id="earlier-calls" role="alert">
${uncertain ? html`<p id="earlier-unknown"><b>${UNCERTAIN_WARNING}</b> It may already have taken effect; approving runs it again.</p>` : ''}
<p>This request repeats ${calls.length === 1 ? 'a call' : `${calls.length} calls`} of the same tool with the same arguments by any caller in this tenant in the last ${REPEAT_WINDOW_HOURS} h (most recent first; another agent or user asking for the same thing is a separate operation upstream):</p>
<table id="earlier"><thead><tr><th>Time (UTC)</th><th>Agent</th><th>User</th><th>Outcome</th><th>Decision</th><th>Result</th><th>Approval</th></tr></thead><tbody>${calls.map(
    (c) =>
      html`<tr data-outcome="${c.outcome}" data-agent="${c.agentId}" data-user="${c.user ?? ''}"><td><a href="${base}/audit/${c.id}">${when(c.ts)}</a></td><td class="mono">${visible(c.agentId)}</td><td class="mono">${c.user === null ? html`<i>none</i>` : visible(c.user)}</td><td>${UNCERTAIN_OUTCOMES.includes(c.outcome) ? html`<b>${c.outcome}</b>` : c.outcome}</td><td>${c.decision}</td><td>${visible(c.resultSummary ?? '')}</td><td class="mono">${c.approvalId ? html`<a href="${base}/approvals/${encodeURIComponent(c.approvalId)}">${visible(c.approvalId)}</a>` : ''}</td></tr>`,
  )}</tbody></table></div>`;
}

/** The pending list's marker: how many earlier identical calls, and whether one is uncertain. */
export function repeatMarker(calls: readonly EarlierCall[] | undefined): string {
  if (!calls || calls.length === 0) return '';
  return anyUncertain(calls)
    ? `repeat: ${calls.length} earlier, outcome unknown`
    : `repeat: ${calls.length} earlier`;
}
