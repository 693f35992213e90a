// Remembering verified tokens must not stretch them: an expired token is refused even if it was
// accepted (and remembered) a moment before.
import { type BootedServer, bootServer } from '@mcp-fleet/testkit';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { fixturePolicy, fixtureServer } from './fixtures.js';
import { callMsg, rpc } from './helpers.js';

let s: BootedServer;
beforeAll(async () => {
  s = await bootServer(fixtureServer, { policy: fixturePolicy, env: { AUTH_CLOCK_SKEW_SECONDS: '0' } });
});
afterAll(async () => s?.close());

it('refuses a remembered token once it expires, and never accepts it after its exp', async () => {
  const token = await s.token({ sub: 'short-lived', roles: ['reader'], ttlSeconds: 2 }); // exp is 1-2 s away
  const expMs = decodeJwt(token).exp! * 1000;
  const call = () => rpc(s.url, callMsg('echo_text', { text: 'x' }), { authorization: `Bearer ${token}` });
  expect((await call()).status).toBe(200); // verified, then remembered
  // Call until the refusal is observed; every answer is checked against when its request was sent.
  const seen: { sentAt: number; status: number }[] = [];
  let late: Awaited<ReturnType<typeof call>> | undefined;
  for (let i = 0; i < 400 && !late; i++) {
    const sentAt = Date.now();
    const res = await call();
    seen.push({ sentAt, status: res.status });
    if (res.status !== 200) late = res;
    else await new Promise((r) => setTimeout(r, 25));
  }
  expect(late?.status).toBe(401);
  expect(late?.headers.get('www-authenticate')).toContain('error="invalid_token"');
  // No request sent at or after exp was accepted (the cache never outlives the token).
  expect(seen.filter((x) => x.sentAt >= expMs && x.status === 200)).toEqual([]);
  // And once refused it stays refused.
  expect((await call()).status).toBe(401);
});
