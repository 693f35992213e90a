// The approvals console in a real browser (headless Chromium): people sign in through the local IdP,
// see exactly what an agent's held call will run, and decide; what reaches the Stripe simulator and
// the SCIM directory is counted. Screenshots: test-artifacts/console-*.png.
import { STRIPE_DEMO } from '@mcp-fleet/simulators';
import { callOutcome, eventually, type TestClient } from '@mcp-fleet/testkit';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AdminHarness, startAdminHarness } from '../harness.js';
import { launchBrowser, type PersonBrowser, personBrowser, shot, signIn } from './browser.js';

let h: AdminHarness;
let browser: Browser;
const people: PersonBrowser[] = [];

beforeAll(async () => {
  h = await startAdminHarness({ dbName: 'fleet_console_browser' });
  browser = await launchBrowser();
});
afterAll(async () => {
  for (const p of people) await p.close().catch(() => {});
  await browser?.close();
  await h?.close();
});

/** A person's browser, signed in at the console. */
async function signedIn(login: string): Promise<PersonBrowser> {
  const p = await personBrowser(browser);
  people.push(p);
  await signIn(p.page, h.consoleUrl, login);
  await p.page.waitForURL((u) => u.pathname === '/console');
  return p;
}

/** The refunds of one payment intent that reached the Stripe simulator. */
async function refundsOf(pi: string): Promise<{ amount?: unknown }[]> {
  return (await h.stripeRequests())
    .filter((r) => r.method === 'POST' && r.path === '/v1/refunds')
    .map((r) => r.params as { payment_intent?: string; amount?: unknown })
    .filter((p) => p.payment_intent === pi);
}

/** Calls a tool and expects it held; the approval id. */
async function held(agent: TestClient, tool: string, args: Record<string, unknown>): Promise<string> {
  const out = await callOutcome(agent, tool, args);
  expect(out.code, out.text).toBe('awaiting_approval');
  return (out.meta!['io.mcp-fleet/governance'] as { approvalId: string }).approvalId;
}

/** Opens one request's page from the live pending list (the row appears without a reload). */
async function openRequest(page: Page, id: string): Promise<void> {
  if (new URL(page.url()).pathname !== '/console') await page.goto(h.consoleUrl);
  await page.waitForSelector(`#pending tr[data-id="${id}"]`, { timeout: 15_000 });
  await page.click(`#pending tr[data-id="${id}"] a`);
  await page.waitForSelector('#arguments');
}

/** Decides the open request with a comment; the result text shown. */
async function decide(page: Page, action: 'approve' | 'deny', note = ''): Promise<string> {
  const form = page.locator(`form:has(button#${action})`);
  if (note) await form.locator('textarea[name=note]').fill(note);
  await Promise.all([page.waitForURL((u) => u.searchParams.has('result')), form.locator('button').click()]);
  return (await page.textContent('#result')) ?? '';
}

describe('refunds through the console', () => {
  it('holds an agent’s issue_refund; alice sees the exact arguments, approves; the agent resumes and Stripe gets exactly one refund of that amount', async () => {
    const alice = await signedIn('alice');
    const pi = STRIPE_DEMO.paymentIntents.usd;
    const args = { payment_intent: pi, amount: 1234, currency: 'usd', reason: 'requested_by_customer' };
    const agent = await h.agent({ user: 'bob' });
    await alice.page.goto(h.consoleUrl);
    const id = await held(agent, 'issue_refund', args);
    expect(await refundsOf(pi)).toEqual([]);

    await openRequest(alice.page, id);
    const shown = await alice.page.textContent('#arguments');
    const canonical = JSON.stringify({
      amount: 1234,
      currency: 'usd',
      payment_intent: pi,
      reason: 'requested_by_customer',
    });
    expect(shown).toBe(canonical);
    expect(await alice.page.textContent('#arg-bytes')).toBe(String(Buffer.byteLength(canonical)));
    const { createHash } = await import('node:crypto');
    expect(await alice.page.textContent('#arg-sha256')).toBe(
      createHash('sha256').update(canonical).digest('hex'),
    );
    expect(await alice.page.textContent('#approvals-count')).toContain('0 of 1');
    await shot(alice.page, 'refund-held');
    expect(await decide(alice.page, 'approve', 'customer asked; checked the order')).toMatch(/^Approved/);
    await shot(alice.page, 'refund-approved');

    const resumed = await callOutcome(agent, 'issue_refund', { ...args, approval_id: id });
    expect(resumed.isError, resumed.text).toBe(false);
    const refunds = await refundsOf(pi);
    expect(refunds).toHaveLength(1);
    expect(Number(refunds[0]!.amount)).toBe(1234);
    // Reuse: the approval ran once.
    const again = await callOutcome(agent, 'issue_refund', { ...args, approval_id: id });
    expect(again.isError).toBe(true);
    // Another amount under the same approval: refused, nothing sent.
    const other = await callOutcome(agent, 'issue_refund', { ...args, amount: 1235, approval_id: id });
    expect(other.isError).toBe(true);
    expect(await refundsOf(pi)).toHaveLength(1);
    expect(alice.cspViolations).toEqual([]);
  });

  it('deny: the agent’s resumed call is refused and nothing reaches Stripe', async () => {
    const alice = await signedIn('alice');
    const pi = STRIPE_DEMO.paymentIntents.usdPartlyRefunded;
    const before = (await refundsOf(pi)).length;
    const args = { payment_intent: pi, amount: 500, currency: 'usd', reason: 'duplicate' };
    const agent = await h.agent({ user: 'bob', sid: 'sid-deny' });
    const id = await held(agent, 'issue_refund', args);
    await openRequest(alice.page, id);
    expect(await decide(alice.page, 'deny', 'not a duplicate <script>alert(1)</script>')).toMatch(/^Denied/);
    expect(await alice.page.textContent('h1')).toContain('denied');
    await shot(alice.page, 'refund-denied');
    const resumed = await callOutcome(agent, 'issue_refund', { ...args, approval_id: id });
    expect(resumed.isError).toBe(true);
    expect((await refundsOf(pi)).length).toBe(before);
  });

  it('the person the agent acts for cannot approve its request', async () => {
    const alice = await signedIn('alice');
    const pi = STRIPE_DEMO.paymentIntents.eurPartlyRefunded;
    const args = { payment_intent: pi, amount: 100, currency: 'eur', reason: 'requested_by_customer' };
    const agent = await h.agent({ user: 'alice', sid: 'sid-self' });
    const id = await held(agent, 'issue_refund', args);
    await openRequest(alice.page, id);
    expect(await decide(alice.page, 'approve')).toMatch(/you are the person this agent acts for/);
    expect(await alice.page.textContent('h1')).toContain('pending');
    await shot(alice.page, 'requester-refused');
    const resumed = await callOutcome(agent, 'issue_refund', { ...args, approval_id: id });
    expect(resumed.isError).toBe(true);
    expect(await refundsOf(pi)).toHaveLength(0);
  });
});

describe('who may sign in', () => {
  it('carol (not in fleet-approvers) cannot sign in: no session, nothing to see', async () => {
    const carol = await personBrowser(browser);
    people.push(carol);
    await signIn(carol.page, h.consoleUrl, 'carol');
    expect(await carol.page.textContent('h1')).toBe('Not allowed');
    await shot(carol.page, 'carol-refused');
    const cookies = await carol.context.cookies(h.baseUrl);
    expect(cookies.map((c) => c.name)).not.toContain('__Host-fleet-console');
    await carol.page.goto(`${h.consoleUrl}/audit`);
    expect(await carol.page.textContent('h1')).toBe('Approvals console');
  });

  it('the session cookie is __Host-, Secure, HttpOnly, SameSite=Strict (Chromium keeps it on loopback http); sign-out ends the session', async () => {
    const bob = await signedIn('bob');
    const cookie = (await bob.context.cookies(h.baseUrl)).find((c) => c.name === '__Host-fleet-console')!;
    expect(cookie).toMatchObject({ secure: true, httpOnly: true, sameSite: 'Strict', path: '/' });
    await Promise.all([bob.page.waitForURL(/\/console\/logout$/), bob.page.click('form.logout button')]);
    expect(await bob.page.textContent('h1')).toBe('Signed out');
    // The old cookie value no longer signs anybody in (the session ended server-side).
    await bob.context.addCookies([{ ...cookie }]);
    await bob.page.goto(`${h.consoleUrl}/audit`);
    expect(await bob.page.textContent('h1')).toBe('Approvals console');
  });
});

describe('dual control', () => {
  it('delete_user needs alice AND bob; alice twice is refused; then the agent deletes exactly that user', async () => {
    const alice = await signedIn('alice');
    const bob = await signedIn('bob');
    const agent = await h.agent({ user: 'dave', sid: 'sid-dual' });
    const id = await held(agent, 'delete_user', { user_name: 'frank' });
    await openRequest(alice.page, id);
    expect(await alice.page.textContent('#approvals-count')).toContain('0 of 2');
    expect(await decide(alice.page, 'approve')).toMatch(/Another approver must also approve/);
    expect(await alice.page.textContent('#approvals-count')).toContain('1 of 2');
    // Not yet: the agent's resumed call is refused (pending), frank is still there.
    const early = await callOutcome(agent, 'delete_user', { user_name: 'frank', approval_id: id });
    expect(early.isError).toBe(true);
    expect(await decide(alice.page, 'approve')).toMatch(/you already approved/);
    await shot(alice.page, 'dual-alice-twice');
    await openRequest(bob.page, id);
    expect(await decide(bob.page, 'approve')).toMatch(/^Approved/);
    await shot(bob.page, 'dual-approved');
    const done = await callOutcome(agent, 'delete_user', { user_name: 'frank', approval_id: id });
    expect(done.isError, done.text).toBe(false);
    const gone = await fetch(`${h.scim.baseUrl}/Users?filter=${encodeURIComponent('userName eq "frank"')}`, {
      headers: { authorization: `Bearer ${h.scim.token}` },
    });
    expect(((await gone.json()) as { totalResults: number }).totalResults).toBe(0);
  });
});

describe('CSRF', () => {
  it('a decision POST without a token, with a wrong one, or from another Origin changes nothing', async () => {
    const alice = await signedIn('alice');
    const pi = STRIPE_DEMO.paymentIntents.jpy;
    const args = { payment_intent: pi, amount: 1000, currency: 'jpy', reason: 'requested_by_customer' };
    const agent = await h.agent({ user: 'bob', sid: 'sid-csrf' });
    const id = await held(agent, 'issue_refund', args);
    await openRequest(alice.page, id);
    const token = await alice.page.getAttribute('form:has(button#approve) input[name=_csrf]', 'value');
    const sha = await alice.page.getAttribute('form:has(button#approve) input[name=args_sha256]', 'value');
    const url = `${h.consoleUrl}/approvals/${id}/decide`;
    const attempts: { form: Record<string, string>; origin: string }[] = [
      { form: { action: 'approve', args_sha256: sha! }, origin: h.baseUrl },
      { form: { action: 'approve', args_sha256: sha!, _csrf: `${token}x` }, origin: h.baseUrl },
      { form: { action: 'approve', args_sha256: sha!, _csrf: 'a'.repeat(40) }, origin: h.baseUrl },
      { form: { action: 'approve', args_sha256: sha!, _csrf: token! }, origin: 'http://localhost:1' },
      { form: { action: 'approve', args_sha256: sha!, _csrf: token! }, origin: h.idp.issuer },
      { form: { action: 'approve', args_sha256: sha!, _csrf: token! }, origin: 'null' },
    ];
    for (const a of attempts) {
      // The browser context's own request API: it sends alice's cookies (a worst case: SameSite=Strict
      // would keep them off a real cross-site form).
      const r = await alice.page.request.post(url, {
        form: a.form,
        headers: { origin: a.origin },
        maxRedirects: 0,
      });
      expect(r.status(), JSON.stringify(a)).toBe(403);
    }
    await alice.page.reload();
    expect(await alice.page.textContent('h1')).toContain('pending');
    expect(await alice.page.textContent('#approvals-count')).toContain('0 of 1');
    const resumed = await callOutcome(agent, 'issue_refund', { ...args, approval_id: id });
    expect(resumed.isError).toBe(true);
    expect(await refundsOf(pi)).toHaveLength(0);
  });
});

describe('suspend', () => {
  it('suspending an agent in the console makes this server and another replica refuse it within seconds; resume: accepted', async () => {
    const { createFleetServer } = await import('@mcp-fleet/core');
    const { freePort, connectClient } = await import('@mcp-fleet/testkit');
    const { adminDefinition } = await import('../harness.js');
    const port = await freePort();
    const other = await createFleetServer(adminDefinition(), {
      env: { ...h.env, PORT: String(port), PUBLIC_URL: `http://127.0.0.1:${port}` },
    });
    await other.listen();
    try {
      const sub = 'runaway-agent';
      const here = await h.agent({ user: 'bob', sub, sid: 'sid-runaway' });
      const there = await connectClient(
        'modern',
        `http://127.0.0.1:${port}/mcp`,
        await h.agentToken({ user: 'bob', sub, sid: 'sid-runaway', aud: `http://127.0.0.1:${port}/mcp` }),
      );
      const look = (c: TestClient) => callOutcome(c, 'get_user', { user_name: 'dave' });
      expect((await look(here)).isError).toBe(false);
      expect((await look(there)).isError).toBe(false);

      const alice = await signedIn('alice');
      await alice.page.goto(`${h.consoleUrl}/agents`);
      await alice.page.fill('#suspend-any input[name=agent]', sub);
      await alice.page.fill('#suspend-any input[name=reason]', 'runaway: 400 refunds a minute');
      await Promise.all([alice.page.waitForURL(/result=/), alice.page.click('#suspend-any button')]);
      expect(await alice.page.textContent('#result')).toMatch(/^Suspended/);
      expect(await alice.page.textContent('#suspended')).toContain(sub);
      await shot(alice.page, 'agent-suspended');

      const refused = async (c: TestClient) => (await look(c)).code === 'agent_suspended';
      expect(await eventually(() => refused(here), 10_000)).toBe(true);
      expect(await eventually(() => refused(there), 10_000)).toBe(true);

      await Promise.all([
        alice.page.waitForURL(/result=resumed/),
        alice.page.click('#suspended button.resume'),
      ]);
      await shot(alice.page, 'agent-resumed');
      expect(await eventually(async () => !(await look(here)).isError, 10_000)).toBe(true);
      expect(await eventually(async () => !(await look(there)).isError, 10_000)).toBe(true);
    } finally {
      await other.close();
    }
  });
});

describe('hidden characters and long tails', () => {
  it('another server’s held call with bidi, zero-width and control characters and a long tail is shown whole, every character visible', async () => {
    // As the communication server would open it (the admin tools' strict arguments cannot carry such
    // text): the console's desk is fleet-wide. Opened through core's ApprovalStore, not by hand.
    const { ApprovalStore } = await import('@mcp-fleet/core/approvals');
    const { createFleetPool, createLogger } = await import('@mcp-fleet/core/internal');
    const { createHash, randomUUID } = await import('node:crypto');
    const pool = createFleetPool(h.db.url, createLogger({ level: 'silent' }), 1);
    try {
      const tail = `${'x'.repeat(4000)}THE-TAIL`;
      const argumentsJson = JSON.stringify({
        body: `Quarterly numbers attached.${' '.repeat(300)}${tail}`,
        to: 'ceo@example.com\u202E\u200Bmoc.live@evil\u0000',
      });
      const argsHash = createHash('sha256').update(argumentsJson).digest('base64url');
      const opened = await new ApprovalStore(pool).request({
        server: 'communication',
        tool: 'send_email',
        argsHash,
        argumentsJson,
        caller: { agentId: 'mail-agent', tenant: 'acme', user: 'bob' },
        session: 'sid-mail',
        roles: ['support'],
        ttlSeconds: 600,
        auditId: randomUUID(),
      });
      if (!('id' in opened)) throw new Error('not opened');
      const alice = await signedIn('alice');
      await openRequest(alice.page, opened.id);
      const shown = (await alice.page.textContent('#arguments'))!;
      const expected = argumentsJson.replace(
        /[^\x20-\x7e]/g,
        (c) => `\\u${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`,
      );
      expect(shown).toBe(expected);
      expect(shown).toContain('\\u202E\\u200Bmoc.live@evil');
      expect(shown.endsWith('THE-TAIL","to":"ceo@example.com\\u202E\\u200Bmoc.live@evil\\u0000"}')).toBe(
        true,
      );
      expect(await alice.page.isVisible('#hidden-warning')).toBe(true);
      expect(await alice.page.textContent('#arg-bytes')).toBe(String(Buffer.byteLength(argumentsJson)));
      // The whole text is on screen: the box grows, nothing is cut or scrolled away.
      const box = await alice.page.locator('#arguments').evaluate((el) => ({
        scroll: el.scrollHeight,
        client: el.clientHeight,
        w: el.scrollWidth,
        cw: el.clientWidth,
      }));
      expect(box.scroll).toBeLessThanOrEqual(box.client + 1);
      expect(box.w).toBeLessThanOrEqual(box.cw + 1);
      await shot(alice.page, 'hidden-characters');
      expect(alice.cspViolations).toEqual([]);
    } finally {
      await pool.end();
    }
  });
});
