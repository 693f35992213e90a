// The console published under a path prefix, as the umbrella chart's one-host Ingress/HTTPRoute
// publishes the admin server (PUBLIC_URL https://fleet.example.com/admin, the prefix stripped before
// the server): a proxy in front of the server forwards only /admin/... (prefix removed) and refuses
// everything else. A person signs in through the IdP, watches the live list, decides, reads the audit
// trail, suspends and resumes an agent and signs out in Chromium; every URL the console gave (links,
// forms, script, style, meta refresh, the live script's fetch, Location headers, the OIDC
// redirect_uri) carries the prefix, and nothing the browser asked for fell outside it.
import { STRIPE_DEMO } from '@mcp-fleet/simulators';
import { callOutcome } from '@mcp-fleet/testkit';
import type { Browser, Response } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AdminHarness, startAdminHarness } from '../harness.js';
import { launchBrowser, type PersonBrowser, personBrowser, shot, signIn } from './browser.js';

const PREFIX = '/admin';
let h: AdminHarness;
let browser: Browser;
let alice: PersonBrowser | undefined;

beforeAll(async () => {
  h = await startAdminHarness({ dbName: 'fleet_console_prefix', publicPath: PREFIX });
  browser = await launchBrowser();
});
afterAll(async () => {
  await alice?.close().catch(() => {});
  await browser?.close();
  await h?.close();
});

/** Every URL-valued attribute of a page (href, src, action, formaction, data-api/-approvals, meta refresh). */
function urlsOf(body: string): string[] {
  const out: string[] = [];
  for (const m of body.matchAll(/\s(href|src|action|formaction|data-api|data-approvals)="([^"]*)"/gi))
    out.push(m[2]!);
  for (const m of body.matchAll(/http-equiv="refresh" content="\d+;url=([^"]*)"/gi)) out.push(m[1]!);
  return out.map((u) => u.replace(/&amp;/g, '&'));
}

describe('console under a path prefix', () => {
  it('every link, form, asset, script fetch, redirect and the redirect_uri carry PUBLIC_URL’s path; nothing the browser asks for falls outside it', async () => {
    const publicOrigin = new URL(h.publicUrl).origin;
    const base = `${PREFIX}/console`;
    alice = await personBrowser(browser);
    const { page } = alice;
    const locations: { url: string; location: string }[] = [];
    page.on('response', (r: Response) => {
      if (new URL(r.url()).origin !== publicOrigin) return;
      const location = r.headers().location;
      if (location) locations.push({ url: r.url(), location });
    });

    // Sign-in: the sign-in page, /login's redirect to the IdP, the IdP's redirect back, the "signed in" page.
    await signIn(page, h.consoleUrl, 'alice');
    await page.waitForURL((u) => u.pathname === base);
    // The live list: a call held after the page loaded appears through the script's fetch.
    const agent = await h.agent({ user: 'bob' });
    const out = await callOutcome(agent, 'issue_refund', {
      payment_intent: STRIPE_DEMO.paymentIntents.usd,
      amount: 321,
      currency: 'usd',
      reason: 'requested_by_customer',
    });
    expect(out.code, out.text).toBe('awaiting_approval');
    const id = (out.meta!['io.mcp-fleet/governance'] as { approvalId: string }).approvalId;
    await page.waitForSelector(`#pending tr[data-id="${id}"]`, { timeout: 15_000 });
    await page.click(`#pending tr[data-id="${id}"] a`);
    await page.waitForSelector('#arguments');
    expect(new URL(page.url()).pathname).toBe(`${base}/approvals/${id}`);
    await Promise.all([page.waitForURL((u) => u.searchParams.has('result')), page.click('button#approve')]);
    expect(await page.textContent('#result')).toMatch(/^Approved/);
    await page.click('a[href="/admin/console"]');
    await page.waitForSelector('#pending');
    // Audit trail: the list, the filter form, one record, back.
    await page.click('nav a:has-text("Audit trail")');
    await page.waitForSelector('#audit');
    await Promise.all([
      page.waitForURL(/tool=issue_refund/),
      (async () => {
        await page.fill('input[name=tool]', 'issue_refund');
        await page.click('form.filters button[type=submit]');
      })(),
    ]);
    await page.click('#audit tbody tr a');
    await page.waitForSelector('#record');
    await page.click('a:has-text("Back to the audit trail")');
    await page.waitForSelector('#audit');
    // Agents: a window link, suspend and resume through the forms.
    await page.click('nav a:has-text("Agents")');
    await page.waitForSelector('#agents');
    await Promise.all([page.waitForURL(/hours=1\b/), page.click('a:has-text("1 h")')]);
    await page.fill('#suspend-any input[name=agent]', 'runaway-agent');
    await Promise.all([page.waitForURL(/result=/), page.click('#suspend-any button')]);
    expect(await page.textContent('#result')).toMatch(/^Suspended/);
    await Promise.all([page.waitForURL(/result=resumed/), page.click('#suspended button.resume')]);
    // A page that does not exist, and its way back.
    await page.goto(`${h.consoleUrl}/nope`);
    await page.click('a:has-text("Back to the console")');
    await page.waitForSelector('#pending');
    await shot(page, 'prefix-pending');
    // Sign out, and the way to sign in again (the IdP still knows alice: straight back, via the callback).
    await Promise.all([page.waitForSelector('text=Signed out'), page.click('form.logout button')]);
    await Promise.all([
      page.waitForURL((u) => u.pathname === base),
      page.click('a:has-text("Sign in again")'),
    ]);

    // Every page the console answered (its bytes as they passed the proxy: the browser cannot always
    // read the body of a page it leaves at once, like the callback's meta refresh): its URLs are under
    // the prefix.
    const pages = h.proxied.flatMap((p) =>
      p.html !== undefined && p.status !== 303
        ? [{ url: new URL(p.path, publicOrigin).href, status: p.status, body: p.html }]
        : [],
    );
    const seen = new Set(pages.map((p) => new URL(p.url).pathname));
    for (const path of [
      base,
      `${base}/callback`,
      `${base}/approvals/${id}`,
      `${base}/audit`,
      `${base}/agents`,
      `${base}/nope`,
      `${base}/logout`,
    ])
      expect(seen, path).toContain(path);
    let checked = 0;
    for (const p of pages)
      for (const u of urlsOf(p.body)) {
        expect(u.startsWith(`${base}/`) || u === base, `${u} on ${p.url}`).toBe(true);
        checked++;
      }
    expect(checked).toBeGreaterThan(30);
    // Every redirect: into the prefix, or to the IdP with the prefixed redirect_uri.
    const idp = new URL(h.idp.issuer).origin;
    for (const { url, location } of locations) {
      const to = new URL(location, url);
      if (to.origin === idp)
        expect(to.searchParams.get('redirect_uri')).toBe(`${h.publicUrl}/console/callback`);
      else
        expect(to.pathname.startsWith(`${base}/`) || to.pathname === base, `${location} from ${url}`).toBe(
          true,
        );
    }
    expect(locations.length).toBeGreaterThanOrEqual(4); // /login, approve, suspend, resume (+ the IdP's own)
    // The live script fetched through the prefix; nothing asked for fell outside it (but the favicon).
    expect(h.proxied.some((p) => p.path === `${base}/api/pending`)).toBe(true);
    expect(h.proxied.filter((p) => !p.forwarded && p.path !== '/favicon.ico')).toEqual([]);
    expect(alice.cspViolations).toEqual([]);
  });
});
