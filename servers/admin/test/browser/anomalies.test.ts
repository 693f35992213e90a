// The Unusual sequences page in a real browser (headless Chromium): records as the flow step writes them
// (details.anomaly on each scored call, details.flow.holds when the score held it) are listed highest
// score first, each with its session's earlier calls, the baseline numbers behind the score and whether
// it was held; hostile agent ids and sessions are shown as exact text; the record link opens the audit
// record; nobody signed out sees any of it; the page runs under the console's strict CSP.
// Screenshot: test-artifacts/console-anomalies.png.
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AdminHarness, startAdminHarness } from '../harness.js';
import { launchBrowser, type PersonBrowser, personBrowser, shot, signIn } from './browser.js';

let h: AdminHarness;
let browser: Browser;
let pool: pg.Pool;
const people: PersonBrowser[] = [];

beforeAll(async () => {
  h = await startAdminHarness({ dbName: 'fleet_console_anomalies' });
  browser = await launchBrowser();
  pool = new pg.Pool({ connectionString: h.db.url, max: 2 });
});
afterAll(async () => {
  for (const p of people) await p.close().catch(() => {});
  await browser?.close();
  await pool?.end();
  await h?.close();
});

const HOSTILE_AGENT = 'agent-<img src=x onerror=alert(1)>\u202Egnp.exe';

interface Rec {
  tool: string;
  secondsAgo: number;
  agent?: string;
  session?: string;
  outcome?: string;
  score?: number;
  from?: string;
  held?: boolean;
}

async function record(r: Rec): Promise<string> {
  const id = randomUUID();
  const [server, tool] = r.tool.split('/');
  const anomaly =
    r.score === undefined
      ? undefined
      : {
          score: r.score,
          p: 2 ** -r.score,
          from: r.from ?? '^',
          to: r.tool,
          count: r.score > 5 ? 0 : 40,
          total: 412,
          baseline: 'role:support',
        };
  const details = anomaly
    ? {
        anomaly,
        ...(r.held
          ? { flow: { holds: [{ kind: 'anomaly', name: 'anomaly', action: 'approval', reason: 'unusual' }] } }
          : {}),
      }
    : null;
  await pool.query(
    `INSERT INTO audit_records (id, ts, server, request_id, method, tool, agent_id, agent_session, user_invoker,
                                tenant, roles, decision, outcome, details)
     VALUES ($1, now() - make_interval(secs => $2), $3, 'req', 'tools/call', $4, $5, $6, 'bob', 'acme',
             '{support}', $7, $8, $9)`,
    [
      id,
      r.secondsAgo,
      server,
      tool,
      r.agent ?? HOSTILE_AGENT,
      r.session ?? 'sid-1',
      r.outcome === 'awaiting_approval' ? 'deny' : 'allow',
      r.outcome ?? 'ok',
      details,
    ],
  );
  return id;
}

describe('unusual sequences', () => {
  it('lists the most unusual calls first, each with its session before it, why, and whether it was held', async () => {
    await record({ tool: 'tickets/get_ticket', secondsAgo: 50, score: 0.4 });
    await record({ tool: 'database/run_query', secondsAgo: 40, score: 3.2, from: 'tickets/get_ticket' });
    const held = await record({
      tool: 'communication/send_email',
      secondsAgo: 30,
      outcome: 'awaiting_approval',
      score: 11.3,
      from: 'database/run_query',
      held: true,
    });
    // Another agent, another session; and a call two days ago (outside the default 24 h window).
    await record({
      tool: 'tickets/get_ticket',
      secondsAgo: 20,
      agent: 'quiet-agent',
      session: 'sid-2',
      score: 1,
    });
    await record({
      tool: 'files/delete_file',
      secondsAgo: 2 * 86_400,
      agent: 'old-agent',
      session: 'sid-3',
      score: 20,
    });

    // Signed out: the sign-in page, none of the trail.
    const anonymous = await fetch(`${h.consoleUrl}/anomalies`, { redirect: 'manual' });
    const anonymousText = await anonymous.text();
    expect(anonymousText).not.toContain('send_email');
    expect(anonymousText).not.toContain('onerror');

    const alice = await personBrowser(browser);
    people.push(alice);
    await signIn(alice.page, h.consoleUrl, 'alice');
    await alice.page.goto(h.consoleUrl);
    await Promise.all([alice.page.waitForURL(/\/anomalies/), alice.page.click('nav a[href$="/anomalies"]')]);
    await alice.page.waitForSelector('#anomalies');
    const rows = alice.page.locator('#anomalies tbody tr');
    expect(await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-score')))).toEqual([
      '11.3',
      '3.2',
      '1.0',
      '0.4',
    ]);
    const top = rows.first();
    expect(await top.getAttribute('data-id')).toBe(held);
    expect(await top.getAttribute('data-held')).toBe('yes');
    const seq = await top.locator('ol.sequence li').allTextContents();
    expect(seq).toEqual(['tickets/get_ticket', 'database/run_query', 'communication/send_email']);
    const text = (await top.textContent()) ?? '';
    expect(text).toContain("0 of 412 transitions from database/run_query in role:support's baseline");
    expect(text).toContain('held (for its score)');
    // The hostile agent id is text (no element made of it), its bidi override shown, not obeyed.
    expect(await alice.page.locator('#anomalies img').count()).toBe(0);
    const agentCell = (await top.locator('td').nth(2).textContent()) ?? '';
    expect(agentCell).toContain('agent-<img src=x onerror=alert(1)>');
    expect(agentCell).not.toContain('\u202E');
    await shot(alice.page, 'anomalies');

    // A wider window shows the older call, at the top.
    await alice.page.selectOption('select[name=hours]', '168');
    await Promise.all([alice.page.waitForURL(/hours=168/), alice.page.click('form.filters button')]);
    expect(await alice.page.locator('#anomalies tbody tr').first().getAttribute('data-score')).toBe('20.0');

    // The time links to the audit record.
    await alice.page.goto(`${h.consoleUrl}/anomalies`);
    await Promise.all([
      alice.page.waitForURL((u) => u.pathname.endsWith(`/audit/${held}`)),
      alice.page.click(`#anomalies tr[data-id="${held}"] td:nth-child(2) a`),
    ]);
    expect(await alice.page.textContent('#record')).toContain('awaiting_approval');
    expect(alice.cspViolations).toEqual([]);
  });
});
