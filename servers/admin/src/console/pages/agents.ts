// Agents: calls, refusals and cost units over time per agent and per tool (from the audit trail:
// each tools/call record's `details.cost` is the cost units the call was charged), budget use
// against the policy's budgets, and suspend/resume through core's AgentDesk (the kill switch: every
// server refuses a suspended agent within seconds).

import type { ServerHttpContext } from '@mcp-fleet/core';
import { AgentDesk, type AuditScope, type SuspensionView } from '@mcp-fleet/core/approvals';
import type { FastifyInstance } from 'fastify';
import type pg from 'pg';
import type { ConsoleKit } from '../console.js';
import { type Html, html, visible, visiblePlain, when } from '../html.js';

/** Time windows the page offers (hours) and the bucket of each (seconds). */
export const WINDOWS: Readonly<Record<string, number>> = { '1': 300, '6': 1800, '24': 3600, '168': 6 * 3600 };

interface Bucketed {
  agent: string;
  tool: string;
  bucket: Date;
  calls: number;
  refusals: number;
  cost: number;
}

/** Outcomes that are refusals even when the policy allowed the call (limits, approvals, bad arguments). */
const REFUSED_OUTCOMES = "('denied', 'approval_denied', 'rate_limited', 'budget_exceeded', 'invalid')";

/** The SQL condition and parameters of a reader's tenant scope (the desk's: a tenant, untenanted only, or all). */
function scoped(scope: AuditScope, first: number): { sql: string; params: unknown[] } {
  return {
    sql: `($${first}::boolean OR tenant IS NOT DISTINCT FROM $${first + 1}::text)`,
    params: [scope.tenant === undefined, scope.tenant ?? null],
  };
}

/**
 * Calls, refusals (denied by policy, a limit, a budget, an approval or invalid) and cost units per
 * agent, tool and time bucket, of the records in the reader's tenant scope.
 */
export async function activity(
  db: pg.Pool,
  hours: number,
  bucketSeconds: number,
  scope: AuditScope,
): Promise<Bucketed[]> {
  const s = scoped(scope, 3);
  const { rows } = await db.query<{
    agent: string;
    tool: string;
    bucket: Date;
    calls: string;
    refusals: string;
    cost: string;
  }>(
    `SELECT agent_id AS agent, coalesce(tool, '') AS tool,
            to_timestamp(floor(extract(epoch FROM ts) / $2) * $2) AS bucket,
            count(*) AS calls,
            count(*) FILTER (WHERE decision = 'deny' OR outcome IN ${REFUSED_OUTCOMES}) AS refusals,
            coalesce(sum(CASE WHEN jsonb_typeof(details -> 'cost') = 'number' THEN (details ->> 'cost')::numeric END), 0) AS cost
       FROM audit_records
      WHERE method = 'tools/call' AND agent_id IS NOT NULL AND ts >= now() - $1 * interval '1 hour'
        AND ${s.sql}
      GROUP BY 1, 2, 3 ORDER BY 3`,
    [hours, bucketSeconds, ...s.params],
  );
  return rows.map((r) => ({
    ...r,
    calls: Number(r.calls),
    refusals: Number(r.refusals),
    cost: Number(r.cost),
  }));
}

/** Cost spent by an agent: in its policy window (agent + tenant) and by its busiest session. */
async function spent(
  db: pg.Pool,
  agent: string,
  tenant: string | null,
  windowMinutes: number | undefined,
  sessionHours: number,
): Promise<{ window: number; session: number }> {
  const { rows } = await db.query<{ w: string | null; s: string | null }>(
    `WITH c AS (
       SELECT ts, agent_session, CASE WHEN jsonb_typeof(details -> 'cost') = 'number' THEN (details ->> 'cost')::numeric ELSE 0 END AS cost
         FROM audit_records
        WHERE method = 'tools/call' AND agent_id = $1 AND tenant IS NOT DISTINCT FROM $2
          AND ts >= now() - greatest($3::int * interval '1 minute', $4::int * interval '1 hour'))
     SELECT (SELECT sum(cost) FROM c WHERE ts >= now() - $3::int * interval '1 minute') AS w,
            (SELECT max(t) FROM (SELECT sum(cost) AS t FROM c WHERE ts >= now() - $4::int * interval '1 hour' AND agent_session IS NOT NULL GROUP BY agent_session) x) AS s`,
    [agent, tenant, windowMinutes ?? 0, sessionHours],
  );
  return { window: Number(rows[0]?.w ?? 0), session: Number(rows[0]?.s ?? 0) };
}

const PALETTE = [
  '#1f77b4',
  '#d62728',
  '#2ca02c',
  '#9467bd',
  '#ff7f0e',
  '#8c564b',
  '#e377c2',
  '#17becf',
  '#7f7f7f',
  '#bcbd22',
];

/** A line chart (server-rendered SVG): one line per series over the buckets, with a legend. */
export function lineChart(o: {
  title: string;
  id: string;
  buckets: readonly number[];
  series: readonly { name: string; values: readonly number[] }[];
}): Html {
  const W = 720;
  const H = 220;
  const L = 48;
  const B = 28;
  const max = Math.max(1, ...o.series.flatMap((s) => s.values));
  const n = Math.max(1, o.buckets.length - 1);
  const x = (i: number) => L + ((W - L - 10) * i) / n;
  const y = (v: number) => H - B - ((H - B - 10) * v) / max;
  const first = o.buckets[0];
  const last = o.buckets.at(-1);
  return html`<figure><figcaption>${o.title}</figcaption>
<svg class="chart" id="${o.id}" role="img" aria-label="${o.title}" width="${W}" height="${H + 18 * o.series.length}" viewBox="0 0 ${W} ${H + 18 * o.series.length}" xmlns="http://www.w3.org/2000/svg">
<line x1="${L}" y1="${H - B}" x2="${W - 10}" y2="${H - B}" stroke="#888"/><line x1="${L}" y1="10" x2="${L}" y2="${H - B}" stroke="#888"/>
<text x="${L - 6}" y="14" text-anchor="end" font-size="11">${Number(max.toFixed(2))}</text><text x="${L - 6}" y="${H - B}" text-anchor="end" font-size="11">0</text>
${first !== undefined ? html`<text x="${L}" y="${H - 10}" font-size="11">${when(new Date(first))}</text>` : ''}
${last !== undefined ? html`<text x="${W - 10}" y="${H - 10}" font-size="11" text-anchor="end">${when(new Date(last))}</text>` : ''}
${o.series.map((s, k) => {
  const color = PALETTE[k % PALETTE.length]!;
  const points = s.values.map((v, i) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(' ');
  return html`<polyline fill="none" stroke="${color}" stroke-width="2" points="${points}"><title>${visiblePlain(s.name)}</title></polyline>
<rect x="${L}" y="${H + 18 * k + 4}" width="10" height="10" fill="${color}"/><text x="${L + 16}" y="${H + 18 * k + 13}" font-size="12">${visiblePlain(s.name)} (total ${Number(s.values.reduce((a, b) => a + b, 0).toFixed(2))})</text>`;
})}
</svg></figure>`;
}

/** Registers the agents pages and actions on the console. */
export function agentsRoutes<C, Cfg>(ctx: ServerHttpContext<C, Cfg>) {
  return (app: FastifyInstance, kit: ConsoleKit): void => {
    const rt = ctx.runtime;
    let desk: AgentDesk | undefined;
    const deskOf = () => {
      const store = rt.governance.suspensionStore;
      if (!store) return undefined;
      desk ??= new AgentDesk({
        store,
        server: rt.server,
        audit: (r) => rt.audit.recordDurable(r),
        policyVersion: () => rt.policy.version || null,
        changed: () => rt.governance.suspensions?.reload(),
      });
      return desk;
    };

    app.get<{ Querystring: { hours?: string; result?: string; agent?: string } }>(
      '/agents',
      { preHandler: kit.signedIn },
      async (request, reply) => {
        const db = ctx.fleetDb;
        const d = deskOf();
        if (!db || !d)
          return kit.render(
            request,
            reply,
            {
              title: 'Agents',
              nav: 'agents',
              body: html`<p class="error">Agents need the fleet database.</p>`,
            },
            503,
          );
        const hours = Object.hasOwn(WINDOWS, request.query.hours ?? '') ? request.query.hours! : '24';
        const bucket = WINDOWS[hours]!;
        const scope = kit.scope(request);
        const rows = await activity(db, Number(hours), bucket, scope);
        const approver = kit.approver(request);
        const { suspended, history } = await d.list(approver, { historyLimit: 20 });
        const csrf = kit.csrf(reply);
        const body = await agentsBody({
          base: kit.base,
          db,
          rows,
          hours: Number(hours),
          bucket,
          suspended,
          history,
          csrf,
          policy: rt.policy.current,
          scope,
        });
        const result = request.query.result;
        const flash =
          typeof result === 'string' && Object.hasOwn(AGENT_MESSAGES, result)
            ? AGENT_MESSAGES[result]
            : undefined;
        return kit.render(request, reply, {
          title: 'Agents',
          nav: 'agents',
          body: html`${flash ? html`<p class="${flash.ok ? 'ok' : 'error'}" id="result">${flash.text}</p>` : ''}${body}`,
        });
      },
    );

    for (const action of ['suspend', 'resume'] as const) {
      app.post<{ Body: Record<string, unknown> }>(
        `/agents/${action}`,
        { preHandler: kit.post },
        async (request, reply) => {
          const d = deskOf();
          if (!d)
            return kit.render(
              request,
              reply,
              { title: 'Agents', body: html`<p class="error">Agents need the fleet database.</p>` },
              503,
            );
          const body = request.body ?? {};
          const agentId = body.agent;
          const reason = typeof body.reason === 'string' && body.reason.length > 0 ? body.reason : undefined;
          const input = {
            agentId: typeof agentId === 'string' ? agentId : '',
            reason,
            requestId: request.id,
          };
          const result =
            action === 'suspend'
              ? await d.suspend(kit.approver(request), input)
              : await d.resume(kit.approver(request), input);
          const code = result.ok ? result.event : result.why;
          return reply.redirect(`${kit.base}/agents?result=${encodeURIComponent(code)}`, 303);
        },
      );
    }
  };
}

/** The only texts `?result=` can show on the agents page. */
export const AGENT_MESSAGES: Readonly<Record<string, { ok: boolean; text: string }>> = {
  suspended: { ok: true, text: 'Suspended. Every server refuses this agent within seconds.' },
  resumed: { ok: true, text: 'Resumed. Every server accepts this agent again within seconds.' },
  invalid_request: { ok: false, text: 'Refused: the agent id or the reason is not acceptable.' },
  self_suspension: { ok: false, text: 'Refused: you are that agent.' },
  already_suspended: { ok: false, text: 'Refused: this agent is already suspended.' },
  not_suspended: { ok: false, text: 'Refused: this agent has no suspension in force that you may resume.' },
};

type Policy = ServerHttpContext<unknown, unknown>['runtime']['policy']['current'];

async function agentsBody(o: {
  base: string;
  db: pg.Pool;
  rows: Bucketed[];
  hours: number;
  bucket: number;
  suspended: SuspensionView[];
  history: SuspensionView[];
  csrf: string;
  policy: Policy;
  scope: AuditScope;
}): Promise<Html> {
  const now = Date.now();
  const start = Math.floor((now - o.hours * 3_600_000) / 1000 / o.bucket) * o.bucket * 1000;
  const buckets: number[] = [];
  for (let t = start; t <= now; t += o.bucket * 1000) buckets.push(t);
  const index = new Map(buckets.map((t, i) => [t, i]));
  const byAgent = new Map<
    string,
    { calls: number; refusals: number; cost: number; series: Record<'calls' | 'refusals' | 'cost', number[]> }
  >();
  const byTool = new Map<string, { calls: number; refusals: number; cost: number; costs: number[] }>();
  for (const r of o.rows) {
    const i = index.get(r.bucket.getTime());
    let a = byAgent.get(r.agent);
    if (!a) {
      a = {
        calls: 0,
        refusals: 0,
        cost: 0,
        series: { calls: buckets.map(() => 0), refusals: buckets.map(() => 0), cost: buckets.map(() => 0) },
      };
      byAgent.set(r.agent, a);
    }
    a.calls += r.calls;
    a.refusals += r.refusals;
    a.cost += r.cost;
    if (i !== undefined) {
      a.series.calls[i]! += r.calls;
      a.series.refusals[i]! += r.refusals;
      a.series.cost[i]! += r.cost;
    }
    const key = `${r.agent}\u0000${r.tool}`;
    let t = byTool.get(key);
    if (!t) {
      t = { calls: 0, refusals: 0, cost: 0, costs: buckets.map(() => 0) };
      byTool.set(key, t);
    }
    t.calls += r.calls;
    t.refusals += r.refusals;
    t.cost += r.cost;
    if (i !== undefined) t.costs[i]! += r.cost;
  }
  const agents = [...byAgent.entries()].sort((x, y) => y[1].calls - x[1].calls).slice(0, 10);
  const tools = [...byTool.entries()].sort((x, y) => y[1].cost - x[1].cost || y[1].calls - x[1].calls);
  const suspendedIds = new Set(o.suspended.map((s) => s.agentId));
  const budgets = await budgetRows(
    o.db,
    agents.map(([a]) => a),
    o.policy,
    o.scope,
  );
  const suspendForm = (
    agent: string,
  ) => html`<form method="post" action="${o.base}/agents/suspend" class="decide">
<input type="hidden" name="_csrf" value="${o.csrf}"><input type="hidden" name="agent" value="${agent}">
<input type="text" name="reason" maxlength="500" placeholder="reason"><button type="submit" class="suspend">Suspend</button></form>`;
  const resumeForm = (
    agent: string,
  ) => html`<form method="post" action="${o.base}/agents/resume" class="decide">
<input type="hidden" name="_csrf" value="${o.csrf}"><input type="hidden" name="agent" value="${agent}">
<input type="text" name="reason" maxlength="500" placeholder="reason"><button type="submit" class="resume">Resume</button></form>`;
  return html`<h1>Agents</h1>
<p>Window: ${Object.keys(WINDOWS).map((h) => html`<a href="${o.base}/agents?hours=${h}"${String(o.hours) === h ? html` aria-current="page"` : ''}>${h} h</a> `)}</p>
<h2>Suspended</h2>
${
  o.suspended.length
    ? html`<table id="suspended"><thead><tr><th>Agent</th><th>Applies to</th><th>Managed by</th><th>Since</th><th>By</th><th>Reason</th><th></th></tr></thead><tbody>${o.suspended.map(
        (s) =>
          html`<tr><td class="mono">${visible(s.agentId)}</td><td>every tenant</td><td class="mono">${visible(s.tenant ?? 'all tenants')}</td><td>${when(s.suspendedAt)}</td><td class="mono">${visible(s.suspendedBy)}</td><td>${visible(s.reason ?? '')}</td><td>${resumeForm(s.agentId)}</td></tr>`,
      )}</tbody></table>`
    : html`<p class="muted">No agent is suspended.</p>`
}
<h3>Suspend an agent by id</h3>
<form method="post" action="${o.base}/agents/suspend" class="filters" id="suspend-any"><input type="hidden" name="_csrf" value="${o.csrf}">
<label>Agent id<input type="text" name="agent" maxlength="256" required></label><label>Reason<input type="text" name="reason" maxlength="500"></label><button type="submit">Suspend</button></form>
<h2>Activity, last ${o.hours} h</h2>
<table id="agents"><thead><tr><th>Agent</th><th>Calls</th><th>Refusals</th><th>Cost units</th><th>Budget use</th><th></th></tr></thead><tbody>${agents.map(
    ([
      agent,
      a,
    ]) => html`<tr data-agent="${agent}"><td class="mono">${visible(agent)}</td><td>${a.calls}</td><td>${a.refusals}</td><td>${Number(a.cost.toFixed(2))}</td><td>${budgets.get(agent) ?? ''}</td>
<td>${suspendedIds.has(agent) ? resumeForm(agent) : suspendForm(agent)}</td></tr>`,
  )}</tbody></table>
${agents.length === 0 ? html`<p class="muted">No calls in this window.</p>` : ''}
${lineChart({ title: 'Cost units per agent', id: 'chart-cost', buckets, series: agents.map(([name, a]) => ({ name, values: a.series.cost })) })}
${lineChart({ title: 'Calls per agent', id: 'chart-calls', buckets, series: agents.map(([name, a]) => ({ name, values: a.series.calls })) })}
${lineChart({ title: 'Refusals per agent', id: 'chart-refusals', buckets, series: agents.map(([name, a]) => ({ name, values: a.series.refusals })) })}
${lineChart({ title: 'Cost units per agent and tool (top 10)', id: 'chart-tools', buckets, series: tools.slice(0, 10).map(([k, t]) => ({ name: k.replace('\u0000', ' / '), values: t.costs })) })}
<h2>Per agent and tool</h2>
<table id="tools"><thead><tr><th>Agent</th><th>Tool</th><th>Calls</th><th>Refusals</th><th>Cost units</th></tr></thead><tbody>${tools.map(
    ([k, t]) => {
      const [agent, tool] = k.split('\u0000');
      return html`<tr><td class="mono">${visible(agent ?? '')}</td><td class="mono">${visible(tool ?? '')}</td><td>${t.calls}</td><td>${t.refusals}</td><td>${Number(t.cost.toFixed(2))}</td></tr>`;
    },
  )}</tbody></table>
<h2>Recent suspensions</h2>
<table><thead><tr><th>Agent</th><th>Managed by</th><th>Suspended</th><th>By</th><th>Reason</th><th>Resumed</th><th>By</th></tr></thead><tbody>${o.history.map(
    (s) =>
      html`<tr><td class="mono">${visible(s.agentId)}</td><td class="mono">${visible(s.tenant ?? 'all tenants')}</td><td>${when(s.suspendedAt)}</td><td class="mono">${visible(s.suspendedBy)}</td><td>${visible(s.reason ?? '')}</td><td>${when(s.resumedAt)}</td><td class="mono">${visible(s.resumedBy ?? '')}</td></tr>`,
  )}</tbody></table>
<p class="muted">Cost units are those recorded on each call's audit record; budget use is computed from the same records (the limiter's own counters may differ slightly, e.g. after a restart without Redis).</p>`;
}

/** "12 / 100 per 60 min; session 7 / 50" for each agent, from the policy budget of its last call's roles. */
async function budgetRows(
  db: pg.Pool,
  agents: readonly string[],
  policy: Policy,
  scope: AuditScope,
): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  if (agents.length === 0) return out;
  // Only records in the reader's tenant scope: the budget use of an agent id in another tenant is not theirs to see.
  const s = scoped(scope, 2);
  const { rows } = await db.query<{ agent: string; tenant: string | null; roles: string[] }>(
    `SELECT DISTINCT ON (agent_id) agent_id AS agent, tenant, roles FROM audit_records
      WHERE method = 'tools/call' AND agent_id = ANY($1::text[]) AND ${s.sql} ORDER BY agent_id, ts DESC`,
    [agents, ...s.params],
  );
  for (const r of rows) {
    const role = r.roles.map((n) => policy.roles[n]).find((x) => x?.budget);
    const budget = role?.budget ?? policy.defaults?.budget;
    if (!budget) {
      out.set(r.agent, 'no budget');
      continue;
    }
    const s = await spent(db, r.agent, r.tenant, budget.perWindow?.minutes, budget.sessionHours);
    const parts: string[] = [];
    if (budget.perWindow)
      parts.push(`${s.window} / ${budget.perWindow.cost} per ${budget.perWindow.minutes} min`);
    if (budget.perSession) parts.push(`busiest session ${s.session} / ${budget.perSession}`);
    out.set(r.agent, parts.join('; ') || 'no budget');
  }
  return out;
}
