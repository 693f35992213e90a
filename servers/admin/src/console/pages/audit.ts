// The audit trail: filters (agent, tool, outcome, session, server, time range), paging by cursor, and
// one record in full. Reads through core's AuditQuery (every value a bound parameter).
import type { AuditPage, AuditPageQuery, AuditRecord } from '@mcp-fleet/core/approvals';
import { type Html, html, visible, when } from '../html.js';

/** The outcomes a record can have (kernel/call.ts AuditOutcome), for the filter's choices. */
export const OUTCOMES = [
  'ok',
  'error',
  'denied',
  'invalid',
  'timeout',
  'cancelled',
  'unknown',
  'rate_limited',
  'budget_exceeded',
  'cached',
  'replayed',
  'awaiting_approval',
  'approval_denied',
  'started',
  'audit_unavailable',
] as const;

/** The times a filter may name: years 1970..9999 (UTC). */
export const TIME_MIN = Date.UTC(1970, 0, 1);
export const TIME_MAX = Date.UTC(10000, 0, 1) - 1;

const FIELDS = ['agent', 'tool', 'outcome', 'session', 'server', 'from', 'to', 'after'] as const;
type Field = (typeof FIELDS)[number];
/** The filter form's values, as typed. */
export type AuditForm = Partial<Record<Field, string>>;

/** Reads the filters of a query string; one value per field, at most 512 characters each. */
export function parseAuditFilters(
  q: Record<string, string | string[] | undefined>,
): { form: AuditForm; filter: AuditPageQuery } | { form: AuditForm; error: string } {
  const form: AuditForm = {};
  for (const k of FIELDS) {
    const v = q[k];
    if (v === undefined || v === '') continue;
    if (typeof v !== 'string' || v.length > 512)
      return { form, error: `${k}: one value of at most 512 characters` };
    // A text column holds no NUL, and PostgreSQL refuses one in a parameter.
    if (v.includes('\u0000')) return { form, error: `${k}: contains a NUL character` };
    form[k] = v;
  }
  const time = (name: string, v: string | undefined) => {
    if (v === undefined) return undefined;
    // datetime-local inputs give "2026-01-02T03:04" (read as UTC); ISO times are taken as they are.
    const d = new Date(/Z|[+-]\d\d:?\d\d$/.test(v) ? v : `${v}Z`);
    if (Number.isNaN(d.getTime())) throw new Error(`${name} is not a time`);
    // What PostgreSQL's timestamptz takes (a JS Date reaches year -271821, which it refuses).
    if (d.getTime() < TIME_MIN || d.getTime() > TIME_MAX)
      throw new Error(`${name} must be between 1970-01-01 and 9999-12-31 (UTC)`);
    return d;
  };
  try {
    return {
      form,
      filter: {
        agent: form.agent,
        tool: form.tool,
        outcome: form.outcome,
        session: form.session,
        server: form.server,
        from: time('from', form.from),
        to: time('to', form.to),
        after: form.after,
      },
    };
  } catch (err) {
    return { form, error: (err as Error).message };
  }
}

function query(form: AuditForm, extra: AuditForm = {}): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries({ ...form, ...extra })) if (v) p.set(k, v);
  return p.toString();
}

/** The filter form and one page of records. */
export function auditListPage(
  base: string,
  form: AuditForm,
  page: AuditPage | undefined,
  error?: string,
): Html {
  const input = (name: Field, label: string, type = 'text') =>
    html`<label>${label}<input type="${type}" name="${name}" value="${form[name] ?? ''}" maxlength="512"></label>`;
  const rows = (page?.records ?? []).map(
    (
      r,
    ) => html`<tr><td><a href="${base}/audit/${r.id}">${when(r.ts)}</a></td><td class="mono">${visible(r.server)}</td><td class="mono">${visible(r.method)}</td>
<td class="mono">${visible(r.tool ?? '')}</td><td class="mono">${visible(r.agentId ?? '')}</td><td class="mono">${visible(r.userInvoker ?? '')}</td><td class="mono">${visible(r.agentSession ?? '')}</td>
<td>${r.decision}</td><td>${r.outcome}</td><td>${visible(r.decisionReason)}</td></tr>`,
  );
  const { after: _after, ...filters } = form;
  return html`<h1>Audit trail</h1>
<form method="get" action="${base}/audit" class="filters">
${input('agent', 'Agent')}${input('tool', 'Tool')}
<label>Outcome<select name="outcome"><option value="">any</option>${OUTCOMES.map(
    (o) => html`<option value="${o}"${form.outcome === o ? html` selected` : ''}>${o}</option>`,
  )}</select></label>
${input('session', 'Session')}${input('server', 'Server')}${input('from', 'From (UTC)', 'datetime-local')}${input('to', 'To (UTC)', 'datetime-local')}
<button type="submit">Filter</button> <a href="${base}/audit">Clear</a></form>
${error ? html`<p class="error">${error}</p>` : ''}
<table id="audit"><thead><tr><th>Time (UTC)</th><th>Server</th><th>Method</th><th>Tool</th><th>Agent</th><th>User</th><th>Session</th><th>Decision</th><th>Outcome</th><th>Reason</th></tr></thead>
<tbody>${rows}</tbody></table>
${page && page.records.length === 0 ? html`<p class="muted">No records match.</p>` : ''}
<p>${form.after ? html`<a href="${base}/audit?${query(filters)}">First page</a> ` : ''}${
    page?.next
      ? html`<a id="next-page" href="${base}/audit?${query(filters, { after: page.next })}">Next page</a>`
      : ''
  }</p>`;
}

/** One record, every field, values made visible. */
export function auditRecordPage(base: string, r: AuditRecord): Html {
  const row = (k: string, v: unknown) =>
    html`<tr><th>${k}</th><td class="mono">${visible(typeof v === 'string' ? v : (JSON.stringify(v, null, 2) ?? ''))}</td></tr>`;
  return html`<h1>Audit record</h1>
<table class="facts" id="record">
${row('Id', r.id)}${row('Time', r.ts)}${row('Server', r.server)}${row('Request', r.requestId)}${row('Method', r.method)}
${row('Tool', r.tool)}${row('Agent', r.agentId)}${row('Session', r.agentSession)}${row('On behalf of', r.userInvoker)}${row('Tenant', r.tenant)}
${row('Roles', r.roles)}${row('Decision', r.decision)}${row('Reason', r.decisionReason)}${row('Outcome', r.outcome)}${row('Result', r.resultSummary)}
${row('Duration (ms)', r.durationMs)}${row('Policy version', r.policyVersion)}${row('Protocol', r.protocolVersion)}${row('Arguments SHA-256', r.argsHash ?? null)}${row('Trace id', r.traceId ?? null)}
${row('Arguments (as recorded: secrets redacted, long values cut)', r.arguments)}${row('Details', r.details)}
</table>
<p><a href="${base}/audit">Back to the audit trail</a></p>`;
}
