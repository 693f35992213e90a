// Every identity attack class of THREATS.md is refused with the right status and challenge.
import { createPrivateKey, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { type BootedServer, bootServer, DevIssuer } from '@mcp-fleet/testkit';
import { SignJWT, UnsecuredJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixturePolicy, fixtureServer } from './fixtures.js';
import { callMsg, rpc } from './helpers.js';

let s: BootedServer;
let sibling: BootedServer;

beforeAll(async () => {
  s = await bootServer(fixtureServer, { policy: fixturePolicy, env: { AUTH_REQUIRED_SCOPES: 'mcp:tools' } });
  // A sibling server trusting the same issuer: its tokens must not open this one.
  sibling = await bootServer(
    { ...fixtureServer, name: 'sibling' },
    { policy: fixturePolicy, issuer: s.issuer },
  );
});
afterAll(async () => {
  await sibling?.close();
  await s?.close();
});

const good = () => s.token({ sub: 'agent-1', roles: ['reader'], scope: 'mcp:tools' });
const auth = (token: string) => ({ authorization: `Bearer ${token}` });

function expectChallenge(
  res: { status: number; headers: Headers; text: string },
  status: number,
  error?: string,
) {
  expect(res.status).toBe(status);
  const challenge = res.headers.get('www-authenticate') ?? '';
  expect(challenge).toMatch(/^Bearer /);
  expect(challenge).toContain(`resource_metadata="${s.baseUrl}/.well-known/oauth-protected-resource/mcp"`);
  if (error) expect(challenge).toContain(`error="${error}"`);
  expect(res.text).not.toMatch(/at .*\.(ts|js):\d+/); // no stack traces
}

describe('bearer tokens', () => {
  it('accepts a valid token', async () => {
    const res = await rpc(s.url, callMsg('echo_text', { text: 'x' }), auth(await good()));
    expect(res.status).toBe(200);
    expect(res.body.result.structuredContent).toEqual({ text: 'x', agent: 'agent-1' });
  });

  it('refuses a missing token with 401 and the metadata pointer, without error code', async () => {
    const res = await rpc(s.url, callMsg('echo_text', { text: 'x' }));
    expectChallenge(res, 401);
    expect(res.headers.get('www-authenticate')).not.toContain('error=');
  });

  const cases: [string, () => Promise<string>][] = [
    ['a malformed token', async () => 'not-a-jwt'],
    ['a token with a bad signature', async () => `${(await good()).slice(0, -6)}AAAAAA`],
    [
      'an expired token',
      () => s.token({ sub: 'a', roles: ['reader'], scope: 'mcp:tools', ttlSeconds: -600 }),
    ],
    [
      'a not-yet-valid token',
      () => s.token({ sub: 'a', roles: ['reader'], scope: 'mcp:tools', nbfSeconds: 3600 }),
    ],
    [
      'a wrong-issuer token',
      () => s.token({ sub: 'a', roles: ['reader'], scope: 'mcp:tools', issuer: 'https://evil.example' }),
    ],
    [
      'a wrong-audience token',
      () => s.token({ sub: 'a', roles: ['reader'], scope: 'mcp:tools', aud: 'https://other.example/mcp' }),
    ],
    [
      'a token minted for a sibling server',
      () => sibling.token({ sub: 'a', roles: ['reader'], scope: 'mcp:tools' }),
    ],
    [
      'an alg:none token',
      async () =>
        new UnsecuredJWT({ roles: ['reader'], scope: 'mcp:tools' })
          .setIssuer(s.issuer.issuer)
          .setAudience(s.url)
          .setSubject('a')
          .setExpirationTime('1h')
          .encode(),
    ],
    [
      'an HS256 token signed with the public key',
      async () => {
        const secret = new TextEncoder().encode(JSON.stringify(s.issuer.publicJwk));
        return new SignJWT({ roles: ['admin'], scope: 'mcp:tools' })
          .setProtectedHeader({ alg: 'HS256', kid: s.issuer.kid })
          .setIssuer(s.issuer.issuer)
          .setAudience(s.url)
          .setSubject('a')
          .setExpirationTime('1h')
          .sign(secret);
      },
    ],
    [
      'a token signed by an unknown key',
      async () => {
        const rogue = await DevIssuer.create(s.issuer.issuer);
        return rogue.mint({ sub: 'a', roles: ['admin'], aud: s.url, scope: 'mcp:tools' });
      },
    ],
    [
      'an RS256 token from a key the issuer never published',
      async () => {
        const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
        void createPublicKey(privateKey);
        return new SignJWT({ roles: ['admin'], scope: 'mcp:tools' })
          .setProtectedHeader({ alg: 'RS256', kid: s.issuer.kid })
          .setIssuer(s.issuer.issuer)
          .setAudience(s.url)
          .setSubject('a')
          .setExpirationTime('1h')
          .sign(createPrivateKey(privateKey.export({ format: 'pem', type: 'pkcs8' })));
      },
    ],
    [
      'a token without an agent id',
      async () => s.issuer.mint({ sub: '', roles: ['reader'], aud: s.url, scope: 'mcp:tools' }),
    ],
  ];
  it.each(cases)('refuses %s with 401 invalid_token', async (_name, make) => {
    const res = await rpc(s.url, callMsg('echo_text', { text: 'x' }), auth(await make()));
    expectChallenge(res, 401, 'invalid_token');
  });

  it('refuses a token without the required scope with 403 insufficient_scope', async () => {
    const token = await s.token({ sub: 'a', roles: ['reader'], scope: 'other' });
    const res = await rpc(s.url, callMsg('echo_text', { text: 'x' }), auth(token));
    expectChallenge(res, 403, 'insufficient_scope');
    expect(res.headers.get('www-authenticate')).toContain('scope="mcp:tools"');
  });

  it('accepts the sibling token on the sibling and refuses it here (audience binding both ways)', async () => {
    const siblingToken = await sibling.token({ sub: 'a', roles: ['reader'] });
    expect((await rpc(sibling.url, callMsg('echo_text', { text: 'x' }), auth(siblingToken))).status).toBe(
      200,
    );
    expect((await rpc(s.url, callMsg('echo_text', { text: 'x' }), auth(siblingToken))).status).toBe(401);
  });

  it('counts auth failures by reason in /metrics', async () => {
    // Self-contained: the counts move by exactly the refusals this test causes.
    const before = { expired: await authFailures('expired'), aud: await authFailures('wrong_audience') };
    const expired = await s.token({ sub: 'a', roles: ['reader'], scope: 'mcp:tools', ttlSeconds: -600 });
    const foreign = await sibling.token({ sub: 'a', roles: ['reader'], scope: 'mcp:tools' });
    expect((await rpc(s.url, callMsg('echo_text', { text: 'x' }), auth(expired))).status).toBe(401);
    expect((await rpc(s.url, callMsg('echo_text', { text: 'x' }), auth(foreign))).status).toBe(401);
    expect(await authFailures('expired')).toBe(before.expired + 1);
    expect(await authFailures('wrong_audience')).toBe(before.aud + 1);
  });
});

/** The value of mcp_auth_failures_total for one reason (0 before the first). */
async function authFailures(reason: string): Promise<number> {
  const text = await (await fetch(`${s.baseUrl}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`mcp_auth_failures_total{reason="${reason}"`));
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
}

describe('identity claims are typed', () => {
  const odd: [string, string, unknown][] = [
    ['tenant', 'a number', 42],
    ['tenant', 'an array', ['acme']],
    ['tenant', 'empty', ''],
    ['tenant', 'an object', { id: 'acme' }],
    ['user', 'a number', 7],
    ['user', 'empty', ''],
    ['sid', 'an array', ['s1']],
    // Text the audit trail would have to escape or replace (so what it stores would not be what the
    // call path used, e.g. the tenant an anomaly baseline is learned and scored under).
    ['tenant', 'holding a NUL', 'ac\u0000me'],
    ['tenant', 'holding an unpaired surrogate', 'acme\udc00'],
    ['user', 'holding an escape character', 'bo\u001bb'],
    ['sid', 'holding an unpaired surrogate', 's\ud800'],
    ['tenant', 'holding a C1 control character', 'ac\u0085me'],
  ];
  it.each(odd)('refuses a token whose %s claim is %s, saying which claim', async (claim, _kind, value) => {
    const token = await s.token({
      sub: 'agent-typed',
      roles: ['reader'],
      scope: 'mcp:tools',
      extra: { [claim]: value },
    });
    const res = await rpc(s.url, callMsg('echo_text', { text: 'x' }), auth(token));
    expectChallenge(res, 401, 'invalid_token');
    expect(res.body.error_description).toBe(
      `the "${claim}" claim must be a non-empty string without control characters or unpaired surrogates`,
    );
  });

  it('still accepts a token whose tenant claim is absent', async () => {
    const res = await rpc(s.url, callMsg('echo_text', { text: 'x' }), auth(await good()));
    expect(res.status).toBe(200);
  });
});

describe('protected resource metadata', () => {
  it.each(['/.well-known/oauth-protected-resource', '/.well-known/oauth-protected-resource/mcp'])(
    'is served at %s',
    async (path) => {
      const res = await fetch(`${s.baseUrl}${path}`);
      expect(res.status).toBe(200);
      const doc = (await res.json()) as Record<string, unknown>;
      expect(doc.resource).toBe(s.url);
      expect(doc.authorization_servers).toEqual([s.issuer.issuer]);
      expect(doc.scopes_supported).toEqual(['mcp:tools']);
    },
  );
});

describe('headers and bodies', () => {
  it('refuses a foreign Host (DNS rebinding) with 403 before looking at the token', async () => {
    // An invalid token: had the token been checked first, the answer would be 401 and a counted failure.
    const before = await authFailures('malformed');
    const res = await rpc(s.url, callMsg('echo_text', { text: 'x' }), {
      ...auth('not-a-jwt'),
      host: 'evil.example:80',
    });
    expect(res.status).toBe(403);
    expect(res.body.error.message).toBe('Forbidden: Host header not allowed');
    expect(res.headers.get('www-authenticate')).toBeNull();
    expect(await authFailures('malformed')).toBe(before);
  });

  it('refuses a foreign Origin with 403', async () => {
    const res = await rpc(s.url, callMsg('echo_text', { text: 'x' }), {
      ...auth(await good()),
      origin: 'http://evil.example',
    });
    expect(res.status).toBe(403);
  });

  it('accepts a loopback Origin', async () => {
    const res = await rpc(s.url, callMsg('echo_text', { text: 'x' }), {
      ...auth(await good()),
      origin: 'http://localhost:3000',
    });
    expect(res.status).toBe(200);
  });

  it('refuses an unsupported MCP-Protocol-Version with 400', async () => {
    const res = await rpc(s.url, callMsg('echo_text', { text: 'x' }), {
      ...auth(await good()),
      'mcp-protocol-version': '1999-01-01',
    });
    expect(res.status).toBe(400);
  });

  it('refuses an oversized body with 413 before parsing it', async () => {
    const huge = JSON.stringify(callMsg('echo_text', { text: 'x'.repeat(2 * 1024 * 1024) }));
    const res = await rpc(s.url, huge, auth(await good()));
    expect(res.status).toBe(413);
  });

  it('answers malformed JSON with a parse error, no stack trace', async () => {
    const res = await rpc(s.url, '{"jsonrpc": "2.0", "id": 1, "method": ', auth(await good()));
    expect(res.status).toBe(400);
    expect(res.text).not.toContain('node_modules');
  });
});

/** The auth-params of a challenge, parsed per RFC 7235 (token or quoted-string with quoted-pairs). */
function challengeParams(header: string): Record<string, string> {
  const m = /^Bearer(?: (.*))?$/.exec(header);
  if (!m) throw new Error(`not a Bearer challenge: ${header}`);
  const out: Record<string, string> = {};
  const re =
    /\s*([!#$%&'*+.^_`|~0-9A-Za-z-]+)=(?:"((?:[^"\\]|\\.)*)"|([!#$%&'*+.^_`|~0-9A-Za-z-]+))\s*(?:,|$)/gy;
  const rest = m[1] ?? '';
  let consumed = 0;
  for (let p = re.exec(rest); p; p = re.exec(rest)) {
    out[p[1]!] = p[2] !== undefined ? p[2].replace(/\\(.)/g, '$1') : p[3]!;
    consumed = re.lastIndex;
    if (consumed >= rest.length) break;
  }
  if (consumed !== rest.length) throw new Error(`unparseable challenge: ${header}`);
  return out;
}

describe('WWW-Authenticate and the Bearer scheme (RFC 6750 / RFC 7235)', () => {
  it('sends a challenge whose quoted strings parse: the quotes in the message are escaped', async () => {
    const res = await rpc(s.url, callMsg('echo_text', { text: 'x' }), { authorization: 'Token abc' });
    expect(res.status).toBe(401);
    const params = challengeParams(res.headers.get('www-authenticate') ?? '');
    expect(params.error).toBe('invalid_token');
    expect(params.error_description).toBe('Authorization must be "Bearer <jwt>"');
    expect(params.resource_metadata).toBe(`${s.baseUrl}/.well-known/oauth-protected-resource/mcp`);
  });

  it.each(['bearer', 'BEARER', 'bEaReR'])(
    'accepts the scheme spelled %s (schemes are case-insensitive)',
    async (scheme) => {
      const res = await rpc(s.url, callMsg('echo_text', { text: 'x' }), {
        authorization: `${scheme} ${await good()}`,
      });
      expect(res.status).toBe(200);
      expect(res.body.result.structuredContent).toEqual({ text: 'x', agent: 'agent-1' });
    },
  );
});
