// What the user tools accept (A7, A14, A16), generated: hostile user names (paths, `..`, wildcards,
// whitespace, control and invisible characters, empty, too long) and hostile group lists (wildcards,
// filter syntax, empty names, padded names, duplicates, too many) are refused for every tool before
// the directory is asked anything; `confirm`-style extra keys are refused; user names with `"` and `\`
// reach the directory correctly quoted in the SCIM filter and find exactly that user; the tools'
// annotations are pinned.
import { oktaLikeId } from '@mcp-fleet/simulators';
import { listedNames } from '@mcp-fleet/testkit';
import fc from 'fast-check';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MAX_GROUPS } from '../../src/scim/index.js';
import { bootScim, resetDirectory, type ScimFixture } from './fixture.js';

let fx: ScimFixture;
beforeAll(async () => {
  fx = await bootScim({ prefix: 'scim_args' });
});
afterAll(() => fx?.close());
beforeEach(() => resetDirectory(fx.sim));

const TOOLS = ['get_user', 'disable_user', 'delete_user', 'set_user_groups'] as const;
const safe = fc.stringMatching(/^[a-z][a-z0-9._-]{0,20}$/).filter((s) => !s.includes('..'));
const poison = fc.constantFrom(
  '/',
  '..',
  '*',
  '?',
  '%',
  ' ',
  '\t',
  '\n',
  '\r',
  '\u0000',
  '\u007f',
  '\u0085',
  '\u00a0',
  '\u200b',
  '\u200e',
  '\u202e',
  '\u2028',
  '\ufeff',
  '\u3000',
  '\ud800',
);
/** A name with something hostile in it: `00u1/lifecycle/activate`, `../../groups/00g1`, `*`, `dave\u202e`... */
const hostileUserName = fc.oneof(
  fc.tuple(safe, poison, fc.string({ maxLength: 10 })).map(([a, p, b]) => `${a}${p}${b}`),
  fc.tuple(poison, safe).map(([p, a]) => `${p}${a}`),
  fc.constantFrom('', '*', '00u1/lifecycle/activate', '../../groups/00g1', 'dave ', ' dave', 'a'.repeat(129)),
);

describe('hostile user names are refused before the directory is asked', () => {
  for (const tool of TOOLS)
    it(tool, async () => {
      const c = await fx.client({ sub: 'ops-agent', user: 'carol' });
      await fc.assert(
        fc.asyncProperty(hostileUserName, async (name) => {
          const args = tool === 'set_user_groups' ? { user_name: name, groups: [] } : { user_name: name };
          const out = await fx.call(c, tool, args);
          expect(out.isError, `${tool}(${JSON.stringify(name)})`).toBe(true);
          expect(out.code).not.toBe('awaiting_approval');
        }),
        { numRuns: 40 },
      );
      expect(fx.requests()).toBe(0);
    });
});

describe('hostile group lists are refused before the directory is asked (A7)', () => {
  const hostileGroup = fc.oneof(
    fc.constantFrom('', '*', '?', 'fleet-*', ' support', 'support ', 'sup  port', 'a"b', 'x\\y', '[x]', '%'),
    fc.constantFrom('displayName eq "fleet-admins"', 'support\u200b', 'support\n', 'g'.repeat(129)),
  );
  const list = fc
    .tuple(fc.array(fc.constantFrom('support', 'analysts'), { maxLength: 1 }), hostileGroup)
    .map(([ok, bad]) => [...ok, bad]);
  const tooMany = fc.constant(Array.from({ length: MAX_GROUPS + 1 }, (_, i) => `group-${i}`));
  const duplicates = fc.constantFrom(['support', 'support'], ['support', 'Support']);

  it('wildcards, filters, empty or padded names, too many, duplicates', async () => {
    const c = await fx.client({ sub: 'ops-agent', user: 'carol' });
    await fc.assert(
      fc.asyncProperty(fc.oneof(list, tooMany, duplicates), async (groups) => {
        const out = await fx.call(c, 'set_user_groups', { user_name: 'dave', groups });
        expect(out.isError, JSON.stringify(groups)).toBe(true);
      }),
      { numRuns: 40 },
    );
    expect(fx.requests()).toBe(0);
  });

  it('arguments outside the schema (confirm, approved, a filter) are refused', async () => {
    const c = await fx.client({ sub: 'ops-agent', user: 'carol' });
    for (const extra of [
      { confirm: true },
      { approved: true },
      { filter: 'userName eq "dave"' },
      { user_id: '00u1' },
    ]) {
      for (const tool of TOOLS) {
        const base = tool === 'set_user_groups' ? { user_name: 'dave', groups: [] } : { user_name: 'dave' };
        const out = await fx.call(c, tool, { ...base, ...extra });
        expect(out.isError, `${tool} ${JSON.stringify(extra)}`).toBe(true);
      }
    }
    expect(fx.requests()).toBe(0);
  });
});

describe('the SCIM wire format', () => {
  const quoting = fc
    .tuple(
      safe,
      fc.array(fc.constantFrom('"', '\\', "'", '@', '+', 'é', '"\\'), { minLength: 1, maxLength: 3 }),
      safe,
    )
    .map(([a, q, b]) => `${a}${q.join('')}${b}`);

  it('a user name with " or \\ is quoted in the filter and finds exactly that user', async () => {
    const c = await fx.client({ sub: 'ops-agent', user: 'carol' });
    await fc.assert(
      fc.asyncProperty(quoting, async (name) => {
        fx.sim.recorder.clear();
        const now = new Date().toISOString();
        const id = oktaLikeId('user', name);
        fx.sim.users.set(id, {
          id,
          userName: name,
          givenName: 'Q',
          familyName: 'Uote',
          displayName: 'Q Uote',
          emails: [],
          active: true,
          created: now,
          lastModified: now,
          version: 1,
        });
        try {
          const out = await fx.call(c, 'get_user', { user_name: name });
          expect(out.isError, out.text).toBe(false);
          expect(out.data?.user).toMatchObject({ id, user_name: name });
          const sent = fx.sim.requests.find((r) => r.operation === 'users.list');
          const filter = (sent?.params as { query?: { filter?: string } } | undefined)?.query?.filter;
          expect(filter).toBe(`userName eq ${JSON.stringify(name)}`);
        } finally {
          fx.sim.users.delete(id);
        }
      }),
      { numRuns: 30 },
    );
  });

  it('a name that is a prefix or a filter fragment of another finds nothing', async () => {
    const c = await fx.client({ sub: 'ops-agent', user: 'carol' });
    for (const name of ['dav', 'dave"or"alice', 'dave\\"']) {
      const out = await fx.call(c, 'get_user', { user_name: name });
      expect(out.code, `${name}: ${out.text}`).toBe('user_not_found');
    }
  });
});

describe('tool listing', () => {
  it('annotations are accurate (A16): only get_user reads, only delete_user is destructive', async () => {
    const c = await fx.client({ sub: 'ops-agent', user: 'carol' });
    expect(await listedNames(c)).toEqual(['delete_user', 'disable_user', 'get_user', 'set_user_groups']);
    const tools = (await c.listTools()).tools;
    const hints = Object.fromEntries(
      tools.map((t) => [
        t.name,
        {
          readOnlyHint: t.annotations?.readOnlyHint,
          destructiveHint: t.annotations?.destructiveHint,
          idempotentHint: t.annotations?.idempotentHint,
          openWorldHint: t.annotations?.openWorldHint,
        },
      ]),
    );
    expect(hints).toEqual({
      get_user: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
      disable_user: {
        readOnlyHint: false,
        destructiveHint: false,
        idempotentHint: false,
        openWorldHint: false,
      },
      delete_user: {
        readOnlyHint: false,
        destructiveHint: true,
        idempotentHint: false,
        openWorldHint: false,
      },
      set_user_groups: {
        readOnlyHint: false,
        destructiveHint: false,
        idempotentHint: false,
        openWorldHint: false,
      },
    });
    for (const t of tools)
      expect(
        (t as { inputSchema?: { additionalProperties?: unknown } }).inputSchema?.additionalProperties,
        t.name,
      ).toBe(false);
  });

  it('a support agent (read grant) sees get_user only', async () => {
    const c = await fx.client({ sub: 'support-agent', roles: ['support'] });
    expect(await listedNames(c)).toEqual(['get_user']);
  });
});
