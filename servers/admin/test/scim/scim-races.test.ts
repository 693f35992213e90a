// The last-admin rule under concurrency, across replicas: two admin servers on one fleet database and
// one directory; two agents take the last two active admins out of the admins group at the same time
// (disable, or set_user_groups without it), through different replicas. The advisory lock on the fleet
// database serialises check and write, so exactly one passes and the group keeps an active member.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ADMIN_GROUP, bootScim, resetDirectory, type ScimFixture } from './fixture.js';

let fx: ScimFixture;
beforeAll(async () => {
  fx = await bootScim({ prefix: 'scim_races', replicas: 2 });
});
afterAll(() => fx?.close());
beforeEach(() => resetDirectory(fx.sim));

/** Two active admins left: alice and dave (breakglass disabled in the directory). */
function twoAdmins() {
  const bg = fx.sim.userByName('breakglass');
  const dave = fx.sim.userByName('dave');
  const admins = fx.sim.groupByName(ADMIN_GROUP);
  if (!bg || !dave || !admins) throw new Error('demo directory changed');
  bg.active = false;
  admins.members.push(dave.id);
}

const activeAdmins = () =>
  (fx.sim.groupByName(ADMIN_GROUP)?.members ?? []).filter((id) => fx.sim.users.get(id)?.active === true);

const take = {
  disable: (user: string) => ({ tool: 'disable_user', args: { user_name: user } }),
  ungroup: (user: string) => ({ tool: 'set_user_groups', args: { user_name: user, groups: [] } }),
};

describe('two concurrent changes of the last two admins', () => {
  const pairs = [
    ['disable', 'disable'],
    ['disable', 'ungroup'],
    ['ungroup', 'disable'],
    ['ungroup', 'ungroup'],
  ] as const;
  for (const [a, b] of pairs)
    it(`${a}(alice) on replica 1 ∥ ${b}(dave) on replica 2: exactly one passes`, async () => {
      for (let round = 0; round < 3; round++) {
        resetDirectory(fx.sim);
        twoAdmins();
        expect(activeAdmins()).toHaveLength(2);
        const c1 = await fx.client({ sub: 'ops-agent-1', user: 'carol' }, 0);
        const c2 = await fx.client({ sub: 'ops-agent-2', user: 'erin' }, 1);
        const x = take[a]('alice');
        const y = take[b]('dave');
        const [r1, r2] = await Promise.all([fx.call(c1, x.tool, x.args), fx.call(c2, y.tool, y.args)]);
        const outcomes = [r1, r2].map((r) => (r.isError ? r.code : 'ok')).sort();
        expect(outcomes, `${r1.text} | ${r2.text}`).toEqual(['last_admin', 'ok']);
        expect(activeAdmins()).toHaveLength(1);
      }
    });
});
