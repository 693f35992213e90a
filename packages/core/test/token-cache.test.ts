// Remembering verified tokens must not stretch them: an expired token is refused even if it was
// accepted (and remembered) a moment before.
import { type BootedServer, bootServer } from '@mcp-fleet/testkit';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { fixturePolicy, fixtureServer } from './fixtures.js';
import { callMsg, rpc } from './helpers.js';

let s: BootedServer;
beforeAll(async () => {
  s = await bootServer(fixtureServer, { policy: fixturePolicy, env: { AUTH_CLOCK_SKEW_SECONDS: '0' } });
});
afterAll(async () => s?.close());

it('refuses a remembered token once it expires', async () => {
  const token = await s.token({ sub: 'short-lived', roles: ['reader'], ttlSeconds: 2 });
  const call = () => rpc(s.url, callMsg('echo_text', { text: 'x' }), { authorization: `Bearer ${token}` });
  expect((await call()).status).toBe(200);
  expect((await call()).status).toBe(200); // served from the verified-token cache
  await new Promise((r) => setTimeout(r, 2_300));
  const late = await call();
  expect(late.status).toBe(401);
  expect(late.headers.get('www-authenticate')).toContain('error="invalid_token"');
});
