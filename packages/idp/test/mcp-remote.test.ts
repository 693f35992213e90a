// `mcp-remote` (a stock MCP client people put in Claude Desktop and others) given a fleet server URL
// and no header: it finds the local IdP, registers, opens "a browser" for the login (here a fake one
// that signs carol in over HTTP), gets a token and proxies stdio to the server. We talk to it over
// stdio with the SDK and list and call tools.
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BootedServer, freePort } from '@mcp-fleet/testkit';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { claimsOf, type IdpFleet, startIdpFleet } from './idp-fleet.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, '../../..');
const MCP_REMOTE = join(realpathSync(join(ROOT, 'node_modules/mcp-remote')), 'dist/proxy.js');

let f: IdpFleet;
let files: BootedServer;

beforeAll(async () => {
  f = await startIdpFleet();
  files = await f.bootFiles();
});
afterAll(async () => {
  await f?.close();
});

it('mcp-remote with no header completes the OAuth flow against the local IdP and lists tools', async () => {
  const work = mkdtempSync(join(tmpdir(), 'mcp-remote-'));
  const bin = join(work, 'bin');
  const configDir = join(work, 'config');
  const log = join(work, 'browser.log');
  // The `open` package runs its own bundled xdg-open (when executable), which hands the URL to
  // $BROWSER when there is no desktop (the route taken here: the log shows no "via xdg-open on
  // PATH"); a fake `xdg-open` first on PATH covers the other route (open bundled without its script).
  const browser = join(work, 'fake-browser');
  writeFileSync(
    browser,
    `#!/bin/sh\ncd "${ROOT}" && exec "${process.execPath}" --conditions=mcp-fleet-source --import tsx "${join(HERE, 'login-driver.ts')}" "$1"\n`,
  );
  chmodSync(browser, 0o755);
  mkdirSync(bin);
  writeFileSync(
    join(bin, 'xdg-open'),
    `#!/bin/sh\necho "via xdg-open on PATH" >> "${log}"\nexec "${browser}" "$1"\n`,
  );
  chmodSync(join(bin, 'xdg-open'), 0o755);

  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (
      v !== undefined &&
      !['DISPLAY', 'WAYLAND_DISPLAY', 'XDG_CURRENT_DESKTOP', 'DESKTOP_SESSION'].includes(k)
    )
      env[k] = v;
  }
  Object.assign(env, {
    PATH: `${bin}:${process.env.PATH}`,
    BROWSER: browser,
    MCP_REMOTE_CONFIG_DIR: configDir,
    FLEET_LOGIN_USER: 'carol',
    FLEET_LOGIN_LOG: log,
  });
  const callbackPort = await freePort();
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [MCP_REMOTE, files.url, String(callbackPort)],
    env,
    stderr: 'pipe',
  });
  let stderr = '';
  transport.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const client = new Client({ name: 'via-mcp-remote', version: '1.0.0' });
  try {
    await client.connect(transport);
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name)).toEqual(expect.arrayContaining(['list_folder', 'read_document']));
    const listed = await client.callTool({ name: 'list_folder', arguments: { path: 'docs' } });
    expect(listed.isError).toBeFalsy();
  } catch (err) {
    throw new Error(
      `${(err as Error).message}\n--- mcp-remote stderr ---\n${stderr}\n--- browser ---\n${existsSync(log) ? readFileSync(log, 'utf8') : '(never opened)'}`,
    );
  } finally {
    await client.close();
  }
  // The fake browser was opened once, signed in, and the callback reached mcp-remote.
  const seen = readFileSync(log, 'utf8');
  expect(seen).toMatch(/^open http:\/\/127\.0\.0\.1:\d+\/auth\?/m);
  expect(seen).toContain('callback answered 200');
  // mcp-remote kept the token it got: carol's, for this server's /mcp.
  const stored = readdirSync(configDir, { recursive: true }) as string[];
  const tokenFile = stored.find((p) => p.endsWith('_tokens.json'));
  expect(tokenFile, stored.join(', ')).toBeTruthy();
  const tokens = JSON.parse(readFileSync(join(configDir, tokenFile!), 'utf8')) as { access_token: string };
  expect(claimsOf(tokens.access_token)).toMatchObject({ sub: 'carol', user: 'carol', aud: files.url });
  const client_ = stored.find((p) => p.endsWith('_client_info.json'));
  expect(JSON.parse(readFileSync(join(configDir, client_!), 'utf8')).client_id).toMatch(/^mcp-/);
});
