// The login page in a real browser (headless Chromium): the stock SDK client's authorization URL is
// opened, carol signs in by typing into the form, and the browser lands on the client's loopback
// redirect with a code — the page's own CSP (form-action, no script) does not get in the way, and
// the browser reports no CSP violation. Screenshots go to test-artifacts/.
import { mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BootedServer } from '@mcp-fleet/testkit';
import { UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { OAuthClientInformationMixed, OAuthTokens } from '@modelcontextprotocol/sdk/shared/auth.js';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { claimsOf, type IdpFleet, startIdpFleet } from './idp-fleet.js';

const ARTIFACTS = resolve(dirname(fileURLToPath(import.meta.url)), '../../../test-artifacts/idp');

let f: IdpFleet;
let files: BootedServer;
let browser: Browser;
let callback: Server;
let codes: ((code: string) => void)[] = [];

beforeAll(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  f = await startIdpFleet();
  files = await f.bootFiles();
  // The client's loopback redirect: answers the browser and hands the code to the test.
  callback = createServer((req, res) => {
    const code = new URL(req.url ?? '/', 'http://127.0.0.1').searchParams.get('code');
    res.writeHead(200, { 'content-type': 'text/plain' }).end('signed in; you can close this window');
    if (code) for (const give of codes.splice(0)) give(code);
  });
  await new Promise<void>((r) => callback.listen(0, '127.0.0.1', () => r()));
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
      '--disable-sync',
    ],
  });
});
afterAll(async () => {
  await browser?.close();
  await new Promise<void>((r) => (callback ? callback.close(() => r()) : r()));
  await f?.close();
});

it('carol signs in on the login page in Chromium; the SDK client gets its token and lists tools', async () => {
  const redirectUrl = `http://127.0.0.1:${(callback.address() as AddressInfo).port}/callback`;
  const violations: string[] = [];
  const context = await browser.newContext();
  const page = await context.newPage();
  page.on('console', (m) => {
    if (/Content.Security.Policy|Refused to/i.test(m.text())) violations.push(m.text());
  });
  let client: OAuthClientInformationMixed | undefined;
  let saved: OAuthTokens | undefined;
  let verifier = '';
  const provider = {
    redirectUrl,
    clientMetadata: {
      client_name: 'Browser-tested client',
      redirect_uris: [redirectUrl],
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    },
    clientInformation: () => client,
    saveClientInformation: (c: OAuthClientInformationMixed) => {
      client = c;
    },
    tokens: () => saved,
    saveTokens: (t: OAuthTokens) => {
      saved = t;
    },
    saveCodeVerifier: (v: string) => {
      verifier = v;
    },
    codeVerifier: () => verifier,
    async redirectToAuthorization(url: URL) {
      await page.goto(url.toString());
    },
  };
  const transport = new StreamableHTTPClientTransport(new URL(files.url), { authProvider: provider });
  await expect(new Client({ name: 'b', version: '1' }).connect(transport)).rejects.toBeInstanceOf(
    UnauthorizedError,
  );

  // The login page as a person sees it.
  await expect(page.locator('.badge').first().textContent()).resolves.toContain('LOCAL dev IdP');
  await expect(page.locator('#client').textContent()).resolves.toContain('Browser-tested client');
  await page.screenshot({ path: join(ARTIFACTS, 'login-page.png'), fullPage: true });

  // A wrong password first: the page says so and stays.
  await page.fill('#username', 'carol');
  await page.fill('#password', 'nope');
  await page.click('button[type=submit]');
  await expect(page.locator('#error').textContent()).resolves.toBe('Wrong user name or password.');
  await page.screenshot({ path: join(ARTIFACTS, 'login-wrong-password.png'), fullPage: true });

  const code = new Promise<string>((r) => codes.push(r));
  await page.fill('#password', 'dev');
  await page.click('button[type=submit]');
  await transport.finishAuth(await code);
  await page.waitForURL(`${redirectUrl}?**`);
  await page.screenshot({ path: join(ARTIFACTS, 'login-done.png') });

  expect(claimsOf(saved!.access_token)).toMatchObject({ sub: 'carol', aud: files.url });
  const mcp = new Client({ name: 'b', version: '1' });
  await mcp.connect(new StreamableHTTPClientTransport(new URL(files.url), { authProvider: provider }));
  expect((await mcp.listTools()).tools.map((t) => t.name)).toContain('list_folder');
  await mcp.close();
  expect(violations).toEqual([]);
  await context.close();
  codes = [];
});
