// The rules of every directory change, against the real SCIM simulator over HTTP: protected
// principals × every mutating tool (by name, by case, by email), self-action for every tool (agent id,
// `user` claim, email claim), unknown groups, the last active admin, a held delete checked before a
// human is asked and again at execution. Every refusal leaves the directory untouched (asserted by
// what reached the simulator and by its state).
import { eventually } from '@mcp-fleet/testkit';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  ADMIN_GROUP,
  approvalIdOf,
  argsFor,
  bootScim,
  MUTATING,
  PROTECTED,
  resetDirectory,
  type ScimFixture,
} from './fixture.js';

let fx: ScimFixture;
beforeAll(async () => {
  fx = await bootScim({ prefix: 'scim_rules' });
});
afterAll(() => fx?.close());
beforeEach(() => resetDirectory(fx.sim));

const state = () =>
  JSON.stringify([...fx.sim.users.values()].map((u) => [u.userName, u.active, fx.sim.groupsOf(u.userName)]));

describe('protected principals', () => {
  const variants = PROTECTED.flatMap((p) => [p, p.toUpperCase(), `${p}@example.com`]);
  for (const tool of MUTATING)
    it(`${tool} refuses every protected principal (${variants.length} names), directory untouched`, async () => {
      const c = await fx.client({ sub: 'ops-agent', user: 'carol' });
      const before = state();
      const writes = fx.writes();
      for (const name of variants) {
        const out = await fx.call(c, tool, argsFor(tool, name));
        expect(out.isError, `${tool}(${name})`).toBe(true);
        expect(out.code, `${tool}(${name}): ${out.text}`).toBe('protected_principal');
      }
      expect(fx.writes()).toBe(writes);
      expect(state()).toBe(before);
    });

  it('refuses a user whose email names a protected principal (resolved in the directory)', async () => {
    const u = fx.sim.userByName('dave');
    if (!u) throw new Error('no dave');
    u.emails = ['breakglass@example.com'];
    const c = await fx.client({ sub: 'ops-agent', user: 'carol' });
    for (const tool of MUTATING) {
      const out = await fx.call(c, tool, argsFor(tool, 'dave'));
      expect(out.code, `${tool}: ${out.text}`).toBe('protected_principal');
    }
    expect(fx.writes()).toBe(0);
  });

  it('get_user shows a protected account as protected (reads are allowed)', async () => {
    const c = await fx.client({ sub: 'ops-agent', user: 'carol' });
    const out = await fx.call(c, 'get_user', { user_name: 'breakglass' });
    expect(out.isError, out.text).toBe(false);
    expect(out.data?.user).toMatchObject({ user_name: 'breakglass', protected: true, admin: true });
    // Display names are outsiders' text (A8): the result is marked as untrusted data.
    expect(out.meta?.['io.mcp-fleet/untrusted']).toMatchObject({ source: 'scim directory' });
  });
});

describe('self-action', () => {
  // Who the caller is, and the names that are that caller.
  const cases = [
    { caller: { sub: 'ops-agent', user: 'dave' }, targets: ['dave', 'DAVE', 'dave@example.com'] },
    { caller: { sub: 'erin' }, targets: ['erin', 'Erin'] },
    { caller: { sub: 'ops-agent', extra: { email: 'frank@example.com' } }, targets: ['frank'] },
    { caller: { sub: 'ops-agent', extra: { preferred_username: 'grace' } }, targets: ['grace'] },
  ];
  for (const tool of MUTATING)
    it(`${tool} never targets the caller or the person it acts for`, async () => {
      for (const { caller, targets } of cases) {
        const c = await fx.client(caller);
        for (const name of targets) {
          const out = await fx.call(c, tool, argsFor(tool, name));
          expect(out.code, `${JSON.stringify(caller)} ${tool}(${name}): ${out.text}`).toBe('self_action');
        }
      }
      expect(fx.writes()).toBe(0);
    });

  it('refuses self-elevation into the admins group, however the caller is named in the directory', async () => {
    // dave's directory account has the caller's email although its userName differs.
    const u = fx.sim.userByName('dave');
    if (!u) throw new Error('no dave');
    u.emails = ['mallory@example.com'];
    const c = await fx.client({ sub: 'ops-agent', user: 'mallory' });
    const out = await fx.call(c, 'set_user_groups', { user_name: 'dave', groups: [ADMIN_GROUP] });
    expect(out.code, out.text).toBe('self_action');
    expect(fx.sim.groupsOf('dave')).toEqual([]);
    expect(fx.writes()).toBe(0);
  });

  it('get_user of oneself is allowed (it changes nothing)', async () => {
    const c = await fx.client({ sub: 'ops-agent', user: 'dave' });
    const out = await fx.call(c, 'get_user', { user_name: 'dave' });
    expect(out.isError, out.text).toBe(false);
  });
});

describe('groups', () => {
  it('never creates a group: an unknown name refuses the whole call, nothing written', async () => {
    const c = await fx.client({ sub: 'ops-agent', user: 'carol' });
    const groups = fx.sim.groups.size;
    const out = await fx.call(c, 'set_user_groups', {
      user_name: 'dave',
      groups: ['support', 'no-such-team'],
    });
    expect(out.code, out.text).toBe('unknown_group');
    expect(out.text).toContain('no-such-team');
    expect(fx.sim.groups.size).toBe(groups);
    expect(fx.sim.groupsOf('dave')).toEqual([]);
    expect(fx.writes()).toBe(0);
  });

  it('group names are exact: a case variant of an existing group is unknown', async () => {
    const c = await fx.client({ sub: 'ops-agent', user: 'carol' });
    const out = await fx.call(c, 'set_user_groups', { user_name: 'dave', groups: ['Support'] });
    expect(out.code, out.text).toBe('unknown_group');
    expect(fx.writes()).toBe(0);
  });

  it('sets exactly the listed groups (leaves before joins), one PATCH per change', async () => {
    const c = await fx.client({ sub: 'ops-agent', user: 'carol' });
    const out = await fx.call(c, 'set_user_groups', { user_name: 'grace', groups: ['support', 'billing'] });
    expect(out.isError, out.text).toBe(false);
    expect(out.data).toMatchObject({ added: ['support'], removed: ['analysts'], changed: true });
    expect(fx.sim.groupsOf('grace')).toEqual(['billing', 'support']);
    expect(fx.sim.writeRequests.map((r) => r.operation)).toEqual(['groups.patch', 'groups.patch']);
    const again = await fx.call(c, 'set_user_groups', { user_name: 'grace', groups: ['support', 'billing'] });
    expect(again.data).toMatchObject({ changed: false });
    expect(fx.writes()).toBe(2);
  });
});

describe('the last active admin', () => {
  /** alice is the only active admin: breakglass (the other member) is disabled in the directory. */
  const aliceAlone = () => {
    const bg = fx.sim.userByName('breakglass');
    if (!bg) throw new Error('no breakglass');
    bg.active = false;
  };

  for (const tool of MUTATING)
    it(`${tool} never takes the last active admin out of ${ADMIN_GROUP}`, async () => {
      aliceAlone();
      const c = await fx.client({ sub: 'ops-agent', user: 'carol' });
      const out = await fx.call(c, tool, argsFor(tool, 'alice'));
      // delete_user is refused before a human is asked (no approval request).
      expect(out.code, out.text).toBe('last_admin');
      expect(fx.writes()).toBe(0);
      expect(fx.sim.userByName('alice')?.active).toBe(true);
      expect(fx.sim.groupsOf('alice')).toContain(ADMIN_GROUP);
    });

  it('lets a change through when another active admin remains', async () => {
    const c = await fx.client({ sub: 'ops-agent', user: 'carol' });
    const out = await fx.call(c, 'disable_user', { user_name: 'alice' });
    expect(out.isError, out.text).toBe(false);
    expect(out.data).toMatchObject({ user_name: 'alice', active: false, changed: true });
    expect(fx.sim.userByName('alice')?.active).toBe(false);
    expect(fx.writes()).toBe(1);
  });

  it('keeping the last admin in the group while changing other groups is allowed', async () => {
    aliceAlone();
    const c = await fx.client({ sub: 'ops-agent', user: 'carol' });
    const out = await fx.call(c, 'set_user_groups', { user_name: 'alice', groups: [ADMIN_GROUP] });
    expect(out.isError, out.text).toBe(false);
    expect(fx.sim.groupsOf('alice')).toEqual([ADMIN_GROUP]);
  });
});

describe('delete_user (held for a human)', () => {
  it('is held, then deletes exactly once when approved', async () => {
    const c = await fx.client({ sub: 'ops-agent', user: 'carol' });
    const held = await fx.call(c, 'delete_user', { user_name: 'dave' });
    expect(held.code, held.text).toBe('awaiting_approval');
    expect(fx.writes()).toBe(0);
    const id = approvalIdOf(held);
    expect(await fx.approve(id)).toBe(200);
    const done = await fx.call(c, 'delete_user', { user_name: 'dave', approval_id: id });
    expect(done.isError, done.text).toBe(false);
    expect(done.data).toMatchObject({ user_name: 'dave', deleted: true });
    expect(fx.sim.userByName('dave')).toBeUndefined();
    expect(fx.sim.writeRequests.map((r) => r.method)).toEqual(['DELETE']);
    // A15: the record names the approval used and the directory id deleted; no token in it.
    let record: { outcome: string; details: Record<string, unknown> | null } | undefined;
    await eventually(async () => {
      // The tools/call record (the approval decision has its own record, without the tool's facts).
      record = (await fx.audit('delete_user')).find((r) => r.outcome === 'ok' && r.details?.scimUserId);
      return record !== undefined;
    });
    expect(record?.details).toMatchObject({ approvalId: id, scimUserId: expect.stringMatching(/^00u/) });
    expect(JSON.stringify(record)).not.toContain(fx.directory.token);
  });

  it('a human is never asked about a deletion that would be refused', async () => {
    const c = await fx.client({ sub: 'ops-agent', user: 'carol' });
    for (const name of ['breakglass', 'carol', 'nobody-here']) {
      const out = await fx.call(c, 'delete_user', { user_name: name });
      expect(out.code, `${name}: ${out.text}`).not.toBe('awaiting_approval');
      expect(out.isError).toBe(true);
      // No approval request was opened for it.
      expect(out.meta?.['io.mcp-fleet/governance'] ?? {}, name).not.toHaveProperty('approvalId');
    }
    expect(fx.writes()).toBe(0);
  });

  it('is checked again at execution: the state changed while it waited, nothing is deleted', async () => {
    const c = await fx.client({ sub: 'ops-agent', user: 'carol' });
    const held = await fx.call(c, 'delete_user', { user_name: 'alice' });
    expect(held.code, held.text).toBe('awaiting_approval');
    const id = approvalIdOf(held);
    expect(await fx.approve(id)).toBe(200);
    // Meanwhile the other admin was disabled in the directory: alice is now the last active admin.
    const bg = fx.sim.userByName('breakglass');
    if (!bg) throw new Error('no breakglass');
    bg.active = false;
    const out = await fx.call(c, 'delete_user', { user_name: 'alice', approval_id: id });
    expect(out.code, out.text).toBe('last_admin');
    expect(fx.sim.userByName('alice')).toBeDefined();
    expect(fx.writes()).toBe(0);
  });
});
