// A suspension stops the agent id whatever tenant its token names (issue 15, attacker finding B2): an
// approver with a tenant claim (the CLI's default, `acme`) used to stop only that tenant's tokens, and
// the same agent id with another tenant, or none, still ran against company-wide tools. The kill switch
// errs on stopping; the approver's tenant only limits who sees and resumes the suspension. Generated
// over the approver's tenant and the agent token's: another tenant, none, empty, and case, width,
// invisible-character and spacing variants of the approver's.
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ERROR_META_KEY } from '../src/kernel/meta-keys.js';
import { callMsg, rpc } from './helpers.js';
import { eventually, ran, SuspFleet } from './suspension-harness.js';

let fleet: SuspFleet;
beforeAll(async () => {
  fleet = await SuspFleet.start({ count: 2 });
});
afterAll(async () => {
  await fleet?.close();
});

async function code(replica: number, token: string, name: string, args: Record<string, unknown>) {
  const r = await rpc(fleet.servers[replica]!.url, callMsg(name, args), { authorization: `Bearer ${token}` });
  return r.body.result?._meta?.[ERROR_META_KEY]?.code as string | undefined;
}

const tenantName = fc.stringMatching(/^[a-z][a-z0-9-]{0,15}$/);
/** Spellings a token might carry for "the same" tenant, that are other strings. */
const variant = (t: string) =>
  fc.constantFrom(
    t.toUpperCase(),
    t[0]!.toUpperCase() + t.slice(1),
    [...t].map((ch) => String.fromCharCode(ch.charCodeAt(0) + 0xfee0)).join(''), // full width
    `${t}\u200b`,
    `\u200d${t}`,
    ` ${t}`,
    `${t} `,
    t.normalize('NFD'),
  );

it('a suspension stops the agent whatever tenant (or none) its token names; only the approver’s tenant sees and resumes it', async () => {
  const before = { ...ran };
  await fc.assert(
    fc.asyncProperty(
      fc.option(fc.oneof(fc.constant('acme'), tenantName), { nil: null }),
      fc.nat(),
      async (approverTenant, seed) => {
        const agent = `ten-${randomUUID().slice(0, 8)}`;
        const base = approverTenant ?? 'acme';
        // The agent's tokens: the approver's tenant, another one, none, empty, and variants of it.
        const tokenTenants = fc.sample(
          fc.oneof(
            fc.constant(base),
            tenantName.filter((t) => t !== base),
            fc.constant(undefined),
            fc.constant(''),
            variant(base),
          ),
          { numRuns: 6, seed },
        );
        const tokens = await Promise.all(
          [undefined, 'globex', ...tokenTenants].map((tenant) =>
            fleet.agentToken(agent, tenant === undefined ? {} : { tenant }),
          ),
        );
        const approver = await fleet.approverToken(
          'alice',
          approverTenant === null ? {} : { tenant: approverTenant },
        );
        const s = await fleet.api(0, 'POST', `/agents/${agent}/suspend`, approver, { reason: 'runaway' });
        expect(s.status).toBe(200);
        expect(s.body).toMatchObject({ suspension: { tenant: approverTenant } });
        // Replica 0 holds it at once (the desk reloaded its watcher): nothing of the agent runs there.
        for (const token of tokens)
          expect(await code(0, token, 'write_note', { id: 'w', text: 'x' })).toBe('agent_suspended');
        expect(ran).toEqual(before);
        // Replica 1 once its watcher loaded it (its probes may run until then), then nothing either.
        await eventually(async () =>
          expect(await code(1, tokens[0]!, 'read_note', { id: 'r' })).toBe('agent_suspended'),
        );
        Object.assign(before, ran);
        for (const token of tokens)
          expect(await code(1, token, 'write_note', { id: 'w', text: 'x' })).toBe('agent_suspended');
        expect(ran).toEqual(before);
        // Someone of another tenant neither sees nor resumes it.
        if (approverTenant !== null) {
          const other = await fleet.approverToken('bob', { tenant: `${approverTenant}-other` });
          const seen = await fleet.api(0, 'GET', '/agents', other);
          expect((seen.body.suspended as { agentId: string }[]).some((x) => x.agentId === agent)).toBe(false);
          expect((await fleet.api(0, 'POST', `/agents/${agent}/resume`, other, {})).status).toBe(404);
        }
        const r = await fleet.api(
          1,
          'POST',
          `/agents/${agent}/resume`,
          await fleet.approverToken('bob', approverTenant === null ? {} : { tenant: approverTenant }),
          {},
        );
        expect(r.status).toBe(200);
        for (const token of tokens)
          await eventually(async () =>
            expect(await code(0, token, 'read_note', { id: randomUUID() })).toBeUndefined(),
          );
        Object.assign(before, ran);
      },
    ),
    { numRuns: 15 },
  );
});

it('two suspensions by people of different tenants: the agent runs again only once both are resumed', async () => {
  const agent = `two-${randomUUID().slice(0, 8)}`;
  const token = await fleet.agentToken(agent, { tenant: 'acme' });
  const acme = await fleet.approverToken('alice', { tenant: 'acme' });
  const globex = await fleet.approverToken('gus', { tenant: 'globex' });
  expect((await fleet.api(0, 'POST', `/agents/${agent}/suspend`, acme, {})).status).toBe(200);
  expect((await fleet.api(0, 'POST', `/agents/${agent}/suspend`, globex, {})).status).toBe(200);
  expect(
    (
      await fleet.api(
        0,
        'POST',
        `/agents/${agent}/resume`,
        await fleet.approverToken('bob', { tenant: 'acme' }),
        {},
      )
    ).status,
  ).toBe(200);
  expect(await code(0, token, 'read_note', { id: 'x' })).toBe('agent_suspended');
  expect(
    (
      await fleet.api(
        0,
        'POST',
        `/agents/${agent}/resume`,
        await fleet.approverToken('hal', { tenant: 'globex' }),
        {},
      )
    ).status,
  ).toBe(200);
  await eventually(async () =>
    expect(await code(0, token, 'read_note', { id: randomUUID() })).toBeUndefined(),
  );
});
