// Headless Chromium (Debian's /usr/bin/chromium driven by playwright-core) for the console's browser
// tests: a fresh browser context per person, sign-in through the local IdP's login page, screenshots
// kept in test-artifacts/ at the repository root.
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';

/** Where screenshots go (gitignored). */
export const ARTIFACTS = fileURLToPath(new URL('../../../../test-artifacts/', import.meta.url));

/** Starts headless Chromium. */
export async function launchBrowser(): Promise<Browser> {
  mkdirSync(ARTIFACTS, { recursive: true });
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
      '--disable-sync',
    ],
  });
}

/** Saves a full-page screenshot as test-artifacts/console-<name>.png. */
export async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: `${ARTIFACTS}console-${name}.png`, fullPage: true });
}

/** A person's browser: its own context (cookies), one page, every console response's CSP errors collected. */
export interface PersonBrowser {
  context: BrowserContext;
  page: Page;
  /** Console messages about CSP violations (must stay empty). */
  cspViolations: string[];
  close(): Promise<void>;
}

/** Opens a fresh context for one person. */
export async function personBrowser(browser: Browser): Promise<PersonBrowser> {
  const context = await browser.newContext();
  const page = await context.newPage();
  const cspViolations: string[] = [];
  page.on('console', (m) => {
    if (/Content Security Policy|Trusted Type/i.test(m.text())) cspViolations.push(m.text());
  });
  return { context, page, cspViolations, close: () => context.close() };
}

/** Signs in at the console through the local IdP's login page; ends on the page the IdP sends back. */
export async function signIn(page: Page, consoleUrl: string, login: string, password = 'dev'): Promise<void> {
  await page.goto(consoleUrl);
  await page.click('#sign-in');
  await page.waitForSelector('input[name=username]');
  await page.fill('input[name=username]', login);
  await page.fill('input[name=password]', password);
  await Promise.all([
    page.waitForURL((u) => u.href.startsWith(consoleUrl)),
    page.click('button[type=submit]'),
  ]);
  await page.waitForLoadState('load');
}
