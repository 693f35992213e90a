// The SCIM simulator over HTTP as a provisioning client sees it (RFC 7643/7644, Okta and Entra
// dialects): Bearer auth, the demo directory from DEMO_PEOPLE, the strict filter grammar (generated:
// any quoted name round-trips; anything outside the grammar is 400 invalidFilter), paging, POST, PUT,
// PATCH (both dialects), If-Match and ETags, DELETE, group members, the discovery endpoints, SCIM error
// bodies, and the control plane (requests without credentials, faults, after-commit failures).
import fc from 'fast-check';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  DEMO_GROUPS,
  DEMO_PEOPLE,
  parseScimFilter,
  SCIM_SCHEMAS,
  ScimFilterError,
  ScimSimulator,
  type StartedScimSimulator,
  startScimSimulator,
} from '../src/index.js';

let s: StartedScimSimulator;
beforeAll(async () => {
  s = await startScimSimulator({});
});
afterAll(() => s?.close());
beforeEach(() => {
  const fresh = new ScimSimulator();
  s.simulator.users.clear();
  s.simulator.groups.clear();
  for (const [k, v] of fresh.users) s.simulator.users.set(k, v);
  for (const [k, v] of fresh.groups) s.simulator.groups.set(k, v);
  s.simulator.clearFaults();
  s.simulator.recorder.clear();
  s.simulator.writes = 0;
});

type Json = Record<string, unknown> & { Resources?: Record<string, unknown>[] };
async function scim(
  method: string,
  path: string,
  o: { body?: unknown; headers?: Record<string, string>; token?: string | null } = {},
): Promise<{ status: number; body: Json; headers: Headers }> {
  const headers: Record<string, string> = { ...o.headers };
  if (o.token !== null) headers.authorization = `Bearer ${o.token ?? s.token}`;
  if (o.body !== undefined) headers['content-type'] = 'application/scim+json';
  const res = await fetch(`${s.baseUrl}${path}`, {
    method,
    headers,
    ...(o.body !== undefined ? { body: JSON.stringify(o.body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : {}, headers: res.headers };
}
const q = (filter: string) => `/Users?filter=${encodeURIComponent(filter)}`;
const patch = (Operations: unknown[]) => ({ schemas: [SCIM_SCHEMAS.patch], Operations });
const idOf = (userName: string) => s.simulator.userByName(userName)?.id as string;

describe('authentication and errors', () => {
  it('refuses a missing or wrong token with a SCIM error body', async () => {
    for (const token of [null, 'wrong']) {
      const r = await scim('GET', '/Users', { token });
      expect(r.status).toBe(401);
      expect(r.headers.get('www-authenticate')).toMatch(/^Bearer/);
      expect(r.body).toMatchObject({ schemas: [SCIM_SCHEMAS.error], status: '401' });
    }
  });

  it('answers application/scim+json', async () => {
    const r = await scim('GET', '/Users');
    expect(r.headers.get('content-type')).toMatch(/^application\/scim\+json/);
  });
});

describe('the demo directory', () => {
  it('holds every demo person with their groups, Okta-like ids', async () => {
    const r = await scim('GET', '/Users?count=200');
    expect(r.body.totalResults).toBe(DEMO_PEOPLE.length);
    for (const p of DEMO_PEOPLE) {
      const u = r.body.Resources?.find((x) => x.userName === p.userName);
      expect(u, p.userName).toMatchObject({ active: p.active, emails: [{ value: p.email, primary: true }] });
      expect(u?.id).toMatch(/^00u[A-Za-z0-9]{17}$/);
      expect(((u?.groups ?? []) as { display: string }[]).map((g) => g.display).sort()).toEqual(
        [...p.groups].sort(),
      );
    }
    const g = await scim('GET', '/Groups');
    expect((g.body.Resources ?? []).map((x) => x.displayName).sort()).toEqual(
      DEMO_GROUPS.map((x) => x.displayName).sort(),
    );
  });
});

describe('filters', () => {
  const name = fc
    .string({ minLength: 1, maxLength: 30 })
    .filter((v) => ![...v].some((ch) => ch.charCodeAt(0) < 0x20));
  it('any quoted value round-trips through the filter grammar', () => {
    fc.assert(
      fc.property(name, (v) => {
        expect(parseScimFilter(`userName eq ${JSON.stringify(v)}`, 'User')).toEqual([
          { attr: 'username', value: v },
        ]);
      }),
    );
  });

  const refused = [
    'userName co "a"',
    'userName sw "a"',
    'userName pr',
    'userName gt "a"',
    'userName eq "a" or userName eq "b"',
    'not (userName eq "a")',
    '(userName eq "a")',
    'userName eq a',
    'userName eq "a',
    'userName eq "a" junk',
    'emails[type eq "work"]',
    'password eq "x"',
    'userName eq "a" and active eq true and id eq "x"',
    '',
    ' ',
    'userName  eq',
  ];
  it('refuses everything outside the grammar with 400 invalidFilter', async () => {
    for (const f of refused) {
      expect(() => parseScimFilter(f, 'User'), f).toThrow(ScimFilterError);
      const r = await scim('GET', q(f));
      expect(r.status, f).toBe(400);
      expect(r.body).toMatchObject({ status: '400', scimType: 'invalidFilter' });
    }
  });

  it('eq on userName is case-insensitive and exact; and joins two comparisons', async () => {
    expect((await scim('GET', q('userName eq "ALICE"'))).body.totalResults).toBe(1);
    expect((await scim('GET', q('userName eq "alic"'))).body.totalResults).toBe(0);
    expect((await scim('GET', q('userName eq "henry" and active eq false'))).body.totalResults).toBe(1);
    expect((await scim('GET', q('userName eq "henry" and active eq true'))).body.totalResults).toBe(0);
    expect((await scim('GET', q('emails.value eq "bob@example.com"'))).body.Resources?.[0]?.userName).toBe(
      'bob',
    );
  });
});

describe('paging', () => {
  it('honours startIndex and count', async () => {
    const all = (await scim('GET', '/Users')).body;
    const page = (await scim('GET', '/Users?startIndex=3&count=2')).body;
    expect(page).toMatchObject({
      schemas: [SCIM_SCHEMAS.list],
      totalResults: all.totalResults,
      startIndex: 3,
      itemsPerPage: 2,
    });
    expect(page.Resources?.map((u) => u.id)).toEqual(all.Resources?.slice(2, 4).map((u) => u.id));
    const none = (await scim('GET', '/Users?count=0')).body;
    expect(none).toMatchObject({ itemsPerPage: 0, Resources: [] });
  });
});

describe('users', () => {
  it('POST creates (201, Location), a taken userName is 409 uniqueness', async () => {
    const r = await scim('POST', '/Users', {
      body: {
        schemas: [SCIM_SCHEMAS.user],
        userName: 'ivan',
        name: { givenName: 'Ivan', familyName: 'Petrov' },
      },
    });
    expect(r.status).toBe(201);
    expect(r.headers.get('location')).toBe(`${s.baseUrl}/Users/${r.body.id}`);
    expect(r.body).toMatchObject({
      userName: 'ivan',
      active: true,
      meta: { resourceType: 'User', version: 'W/"1"' },
    });
    const dup = await scim('POST', '/Users', { body: { schemas: [SCIM_SCHEMAS.user], userName: 'IVAN' } });
    expect(dup.status).toBe(409);
    expect(dup.body).toMatchObject({ scimType: 'uniqueness' });
  });

  it("PATCH in Okta's dialect and in Entra's, with ETags", async () => {
    const id = idOf('dave');
    const okta = await scim('PATCH', `/Users/${id}`, {
      body: patch([{ op: 'replace', value: { active: false } }]),
    });
    expect(okta.status).toBe(200);
    expect(okta.body.active).toBe(false);
    expect(okta.headers.get('etag')).toBe('W/"2"');
    const entra = await scim('PATCH', `/Users/${id}`, {
      body: patch([{ op: 'Replace', path: 'active', value: 'True' }]),
      headers: { 'if-match': 'W/"2"' },
    });
    expect(entra.body).toMatchObject({ active: true, meta: { version: 'W/"3"' } });
  });

  it('PATCH refuses what SCIM refuses', async () => {
    const id = idOf('dave');
    const cases: [unknown, number, string][] = [
      [patch([{ op: 'remove', path: 'userName' }]), 400, 'mutability'],
      [patch([{ op: 'add', path: 'groups', value: [] }]), 400, 'mutability'],
      [patch([{ op: 'move', path: 'active', value: false }]), 400, 'invalidSyntax'],
      [patch([{ op: 'remove' }]), 400, 'noTarget'],
      [{ Operations: [{ op: 'replace', path: 'active', value: false }] }, 400, 'invalidSyntax'],
      [patch([{ op: 'replace', path: 'active', value: 'nope' }]), 400, 'invalidValue'],
      [patch([{ op: 'replace', path: 'userName', value: 'alice' }]), 409, 'uniqueness'],
    ];
    for (const [body, status, scimType] of cases) {
      const r = await scim('PATCH', `/Users/${id}`, { body });
      expect(r.status, JSON.stringify(body)).toBe(status);
      expect(r.body.scimType).toBe(scimType);
    }
    expect(s.simulator.userByName('dave')).toMatchObject({ active: true, version: 1 });
    expect(s.simulator.writes).toBe(0);
  });

  it('If-Match with an old version is 412 and changes nothing; PUT replaces', async () => {
    const id = idOf('erin');
    const stale = await scim('DELETE', `/Users/${id}`, { headers: { 'if-match': 'W/"7"' } });
    expect(stale.status).toBe(412);
    const put = await scim('PUT', `/Users/${id}`, {
      body: { schemas: [SCIM_SCHEMAS.user], userName: 'erin', displayName: 'Erin N.', active: false },
      headers: { 'if-match': 'W/"1"' },
    });
    expect(put.body).toMatchObject({ displayName: 'Erin N.', active: false, emails: [] });
  });

  it('DELETE is 204, then 404, and the user leaves every group', async () => {
    const id = idOf('alice');
    const r = await scim('DELETE', `/Users/${id}`);
    expect(r.status).toBe(204);
    expect((await scim('GET', `/Users/${id}`)).status).toBe(404);
    for (const g of s.simulator.groups.values()) expect(g.members).not.toContain(id);
  });
});

describe('groups', () => {
  it('PATCH members: add, remove by filter (Okta), remove by value (Entra), unknown member refused', async () => {
    const g = s.simulator.groupByName('support');
    if (!g) throw new Error('no support group');
    const dave = idOf('dave');
    const add = await scim('PATCH', `/Groups/${g.id}`, {
      body: patch([{ op: 'add', path: 'members', value: [{ value: dave }] }]),
    });
    expect(add.status).toBe(200);
    expect(s.simulator.groupsOf('dave')).toEqual(['support']);
    await scim('PATCH', `/Groups/${g.id}`, {
      body: patch([{ op: 'remove', path: `members[value eq "${dave}"]` }]),
    });
    expect(s.simulator.groupsOf('dave')).toEqual([]);
    const erin = idOf('erin');
    await scim('PATCH', `/Groups/${g.id}`, {
      body: patch([{ op: 'Remove', path: 'members', value: [{ value: erin }] }]),
    });
    expect(s.simulator.groupsOf('erin')).toEqual([]);
    const bad = await scim('PATCH', `/Groups/${g.id}`, {
      body: patch([{ op: 'add', path: 'members', value: [{ value: '00uNOPE' }] }]),
    });
    expect(bad.status).toBe(400);
    expect(bad.body.scimType).toBe('invalidValue');
  });

  it('filters by displayName and can leave members out', async () => {
    const r = await scim(
      'GET',
      `/Groups?filter=${encodeURIComponent('displayName eq "fleet-admins"')}&excludedAttributes=members`,
    );
    expect(r.body.totalResults).toBe(1);
    expect(r.body.Resources?.[0]).not.toHaveProperty('members');
    expect(r.body.Resources?.[0]?.id).toMatch(/^00g[A-Za-z0-9]{17}$/);
  });
});

describe('discovery', () => {
  it('ServiceProviderConfig, ResourceTypes and Schemas', async () => {
    expect((await scim('GET', '/ServiceProviderConfig')).body).toMatchObject({
      patch: { supported: true },
      filter: { supported: true },
      etag: { supported: true },
      authenticationSchemes: [{ type: 'oauthbearertoken' }],
    });
    expect((await scim('GET', '/ResourceTypes')).body.Resources?.map((r) => r.name)).toEqual([
      'User',
      'Group',
    ]);
    expect((await scim('GET', '/Schemas')).body.Resources?.map((r) => r.id)).toEqual([
      SCIM_SCHEMAS.user,
      SCIM_SCHEMAS.group,
    ]);
  });
});

describe('control plane', () => {
  it('records requests without credentials, takes faults over HTTP, fails after commit', async () => {
    await scim('GET', '/Users');
    const log = (await (await fetch(`${s.url}/_simulator/requests`)).json()) as { requests: unknown[] };
    expect(JSON.stringify(log)).not.toContain(s.token);
    expect(log.requests.length).toBe(1);
    const set = await fetch(`${s.url}/_simulator/faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ operation: 'users.list', fault: { status: 503 } }),
    });
    expect(set.status).toBe(200);
    const failed = await scim('GET', '/Users');
    expect(failed.status).toBe(503);
    expect(failed.body).toMatchObject({ schemas: [SCIM_SCHEMAS.error], status: '503' });
    expect((await scim('GET', '/Users')).status).toBe(200);
    s.simulator.failAfterCommit('users.patch', 502);
    const id = idOf('frank');
    const r = await scim('PATCH', `/Users/${id}`, {
      body: patch([{ op: 'replace', path: 'active', value: false }]),
    });
    expect(r.status).toBe(502);
    expect(s.simulator.userByName('frank')?.active).toBe(false);
  });
});
