// Unusual tool sequences (issue 17): the calls the servers scored as most surprising in the last hours
// (details.anomaly of each audit record: -log2 of how often the baseline saw this call follow the
// session's previous one), highest first, each with its session's calls before it, the agent, roles,
// time, whether it was held (and whether for its score), and the numbers the score came from: "0 of
// 412 transitions from database/run_query in role:support's baseline". Records outside the signed-in
// person's tenant scope are never listed. Read-only: suspending the agent is the agents page's.
import type { ServerHttpContext } from '@mcp-fleet/core';
import { listAnomalies, type UnusualCall } from '@mcp-fleet/core/approvals';
import type { FastifyInstance } from 'fastify';
import type pg from 'pg';
import type { ConsoleKit } from '../console.js';
import { type Html, html, visible, when } from '../html.js';

/** The windows the page offers (hours). */
export const ANOMALY_WINDOWS: readonly string[] = ['1', '6', '24', '168'];
/** At most this many calls are listed. */
export const ANOMALY_PAGE_LIMIT = 50;

/** When the baseline was last learned, if it was. */
interface LearnedRun {
  learnedAt: string;
  learnedBy: string;
  learnDays: number;
  transitions: number;
}

async function lastRun(db: pg.Pool): Promise<LearnedRun | undefined> {
  try {
    const { rows } = await db.query<{
      learned_at: Date;
      learned_by: string;
      learn_days: number;
      transitions: string;
    }>('SELECT learned_at, learned_by, learn_days, transitions::text FROM flow_baseline_runs WHERE id = 1');
    const r = rows[0];
    return r
      ? {
          learnedAt: r.learned_at.toISOString(),
          learnedBy: r.learned_by,
          learnDays: r.learn_days,
          transitions: Number(r.transitions),
        }
      : undefined;
  } catch {
    return undefined; // the table is not there yet: no baseline learned
  }
}

const bits = (n: number) => (Number.isFinite(n) ? n.toFixed(1) : '?');

function why(c: UnusualCall): Html {
  const a = c.anomaly;
  if (a.baseline === 'none') return html`<span class="muted">no baseline (not judged)</span>`;
  const from = a.from === '^' ? 'session starts' : a.from;
  return html`${String(a.count)} of ${String(a.total)} transitions from <span class="mono">${visible(from)}</span> in <span class="mono">${visible(a.baseline)}</span>'s baseline (p ${Number(a.p).toPrecision(2)})`;
}

function sequence(base: string, c: UnusualCall): Html {
  const steps = c.before.map(
    (s) =>
      html`<li data-outcome="${s.outcome}"><a href="${base}/audit/${s.id}" class="mono">${visible(s.call)}</a></li>`,
  );
  return html`<ol class="sequence">${steps}<li class="this"><b class="mono">${visible(`${c.server}/${c.tool}`)}</b></li></ol>`;
}

/** The page body: the window's choices and the table of unusual calls. */
export function anomaliesPage(
  base: string,
  calls: readonly UnusualCall[],
  hours: string,
  run: LearnedRun | undefined,
): Html {
  const rows = calls.map(
    (
      c,
    ) => html`<tr data-id="${c.id}" data-held="${c.held ? 'yes' : 'no'}" data-score="${bits(c.anomaly.score)}">
<td class="num">${bits(c.anomaly.score)}</td>
<td><a href="${base}/audit/${c.id}">${when(c.ts)}</a></td>
<td class="mono">${c.agentId === null ? '' : html`<a href="${base}/agents?agent=${encodeURIComponent(c.agentId)}">${visible(c.agentId)}</a>`}</td>
<td class="mono">${visible(c.roles.join(', '))}</td>
<td>${sequence(base, c)}</td>
<td>${why(c)}</td>
<td>${c.held ? html`<b>held</b>${c.heldForScore ? ' (for its score)' : ''}` : c.outcome}</td></tr>`,
  );
  return html`<h1>Unusual tool sequences</h1>
<p class="muted">Each call's score is its surprise in bits: −log2 of how often the baseline saw this call follow the session's previous one (its own agent's baseline when that has enough data, else its roles'). Higher is rarer; a call with no baseline is not judged.
${run ? html`Baseline learned ${when(run.learnedAt)} by ${visible(run.learnedBy)} from ${String(run.transitions)} transitions of the last ${String(run.learnDays)} days.` : 'No baseline has been learned yet (fleet flow learn).'}</p>
<form method="get" action="${base}/anomalies" class="filters"><label>Window<select name="hours">${ANOMALY_WINDOWS.map(
    (h) => html`<option value="${h}"${h === hours ? html` selected` : ''}>last ${h} h</option>`,
  )}</select></label> <button type="submit">Show</button></form>
<table id="anomalies"><thead><tr><th>Score (bits)</th><th>Time (UTC)</th><th>Agent</th><th>Roles</th><th>Session's calls</th><th>Why</th><th>Outcome</th></tr></thead>
<tbody>${rows}</tbody></table>
${calls.length === 0 ? html`<p class="muted" id="anomalies-none">No scored calls in the last ${hours} h.</p>` : ''}`;
}

/** The console's /anomalies page (registered through the console's `extend`). */
export function anomaliesRoutes<C, Cfg>(ctx: ServerHttpContext<C, Cfg>) {
  return (app: FastifyInstance, kit: ConsoleKit): void => {
    app.get<{ Querystring: { hours?: string } }>(
      '/anomalies',
      { preHandler: kit.signedIn },
      async (request, reply) => {
        const db = ctx.fleetDb;
        if (!db)
          return kit.render(
            request,
            reply,
            {
              title: 'Unusual sequences',
              nav: 'anomalies',
              body: html`<p class="error">Anomaly scores need the fleet database.</p>`,
            },
            503,
          );
        const hours = ANOMALY_WINDOWS.includes(request.query.hours ?? '') ? request.query.hours! : '24';
        const [calls, run] = await Promise.all([
          listAnomalies(db, {
            hours: Number(hours),
            limit: ANOMALY_PAGE_LIMIT,
            tenant: kit.scope(request).tenant,
          }),
          lastRun(db),
        ]);
        return kit.render(request, reply, {
          title: 'Unusual sequences',
          nav: 'anomalies',
          body: anomaliesPage(kit.base, calls, hours, run),
        });
      },
    );
  };
}
