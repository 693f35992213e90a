// One set of approver rules for both ways in (issue 15): an approver access token at /approvals
// (ApproverVerifier) and the console's own verified ID token (approverFromIdToken) make the same
// person, or refuse for the same reason — no `act`, no agent roles, a subject, and membership of
// APPROVER_GROUP when it is set — over generated claim sets. And the policy side of dual control:
// `tools.<tool>.approvers` is 1..3, resolved the same for every role (roles never loosen it), the
// server-qualified key winning, shown by `fleet policy explain`.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { approverFromIdToken } from '@mcp-fleet/core/approvals';
import { loadCoreConfig } from '@mcp-fleet/core/internal';
import {
  computeGovernance,
  explainGovernance,
  policySchema,
  resolveGovernance,
  validatePolicy,
} from '@mcp-fleet/core/policy';
import { DevIssuer } from '@mcp-fleet/testkit';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { ApproverVerifier, NotApproverToken } from '../../src/approvals/approvers.js';
import { govPolicy, govServer } from '../governance/harness.js';

const PUBLIC_URL = 'http://rules.local';
const GROUP = 'fleet-approvers';
let issuer: DevIssuer;
beforeAll(async () => {
  issuer = await DevIssuer.create();
  await issuer.listen();
});
afterAll(async () => {
  await issuer?.close();
});

const configOf = (env: Record<string, string> = {}) =>
  loadCoreConfig({ PUBLIC_URL, AUTH_ISSUER: issuer.issuer, AUTH_JWKS_URL: issuer.jwksUrl, ...env }, 7499);

/** Generated claims a person's token (or ID token) may carry. */
const claimSets = fc.record(
  {
    sub: fc.constantFrom('alice', 'bob', 'Carol', 'ａｌｉｃｅ'),
    act: fc.constantFrom({ sub: 'agent-7' }, 'agent-7'),
    roles: fc.constantFrom([], ['admin'], 'admin', '', ' ', ['']),
    groups: fc.constantFrom([], [GROUP], ['support'], GROUP, 'support', [GROUP, 'support'], [`${GROUP} `], 7),
    email: fc.constantFrom('alice@example.com', 'x@example.com'),
    preferred_username: fc.constantFrom('alice', 'bob'),
    upn: fc.constant('alice@corp.example'),
    tenant: fc.constantFrom('acme', 'initech'),
    user: fc.constantFrom('alice', 'dave'),
  },
  { requiredKeys: ['sub'] },
);

describe('approverFromIdToken and ApproverVerifier apply the same rules', () => {
  for (const group of [undefined, GROUP]) {
    it(`same person or same refusal for every generated claim set (APPROVER_GROUP ${group ?? 'unset'})`, async () => {
      const config = configOf(group ? { APPROVER_GROUP: group } : {});
      const verifier = await ApproverVerifier.create(config, 'mcp:approve');
      await fc.assert(
        fc.asyncProperty(claimSets, async (claims) => {
          const token = await issuer.mintApprover({
            sub: claims.sub,
            aud: `${PUBLIC_URL}/approvals`,
            extra: { ...claims, sub: undefined },
          });
          const viaToken = await verifier.verify(`Bearer ${token}`).then(
            (a) => ({ ...a, clients: [] }),
            (e: unknown) => {
              if (e instanceof NotApproverToken) return { refused: e.kind };
              throw e;
            },
          );
          const viaIdToken = approverFromIdToken(
            { ...claims, iss: issuer.issuer, aud: 'fleet-console', exp: 9e9 },
            config,
          );
          const normal = 'refused' in viaIdToken ? { refused: viaIdToken.refused } : viaIdToken;
          expect(viaToken).toEqual(normal);
          // The rules themselves.
          const expected =
            claims.act !== undefined
              ? 'delegated'
              : claims.roles !== undefined &&
                  (Array.isArray(claims.roles) ? claims.roles.length > 0 : claims.roles.trim() !== '')
                ? 'agent_roles'
                : group &&
                    !(Array.isArray(claims.groups)
                      ? (claims.groups as string[]).includes(group)
                      : claims.groups === group)
                  ? 'not_in_group'
                  : undefined;
          expect('refused' in normal ? normal.refused : undefined).toBe(expected);
          if (!('refused' in normal)) {
            expect(normal.subject).toBe(claims.sub);
            expect(normal.clients).toEqual([]);
            for (const k of ['email', 'preferred_username', 'upn', 'user'] as const)
              if (claims[k] !== undefined) expect(normal.identifiers).toContain(claims[k]);
          }
        }),
        { numRuns: 150 },
      );
    });
  }

  it('a token outside the group is refused with 403 (insufficient), not as an invalid token', async () => {
    const verifier = await ApproverVerifier.create(configOf({ APPROVER_GROUP: GROUP }), 'mcp:approve');
    const token = await issuer.mintApprover({
      sub: 'erin',
      aud: `${PUBLIC_URL}/approvals`,
      groups: ['support'],
    });
    const err = await verifier.verify(`Bearer ${token}`).catch((e: NotApproverToken) => e);
    expect(err).toBeInstanceOf(NotApproverToken);
    expect(err).toMatchObject({ kind: 'not_in_group', statusCode: 403, reason: 'insufficient_scope' });
  });

  it('reads APPROVER_GROUP and APPROVER_CLAIM_GROUPS; blank means no check', () => {
    expect(configOf().approvers).toMatchObject({ groupsClaim: 'groups' });
    expect(configOf().approvers?.group).toBeUndefined();
    expect(configOf({ APPROVER_GROUP: '  ' }).approvers?.group).toBeUndefined();
    expect(
      configOf({ APPROVER_GROUP: GROUP, APPROVER_CLAIM_GROUPS: 'realm.groups' }).approvers,
    ).toMatchObject({
      group: GROUP,
      groupsClaim: 'realm.groups',
    });
    const config = configOf({ APPROVER_GROUP: GROUP, APPROVER_CLAIM_GROUPS: 'realm.groups' });
    expect(approverFromIdToken({ sub: 'a', realm: { groups: [GROUP] } }, config)).toMatchObject({
      subject: 'a',
    });
    expect(approverFromIdToken({ sub: 'a', groups: [GROUP] }, config)).toMatchObject({
      refused: 'not_in_group',
    });
    expect(approverFromIdToken({ groups: [GROUP] }, configOf())).toMatchObject({
      refused: 'missing_subject',
    });
    expect(approverFromIdToken({ sub: 7 } as never, configOf())).toMatchObject({
      refused: 'missing_subject',
    });
  });
});

describe('policy: tools.<tool>.approvers', () => {
  it('accepts 1, 2 and 3 and refuses anything else', () => {
    const withApprovers = (approvers: unknown) =>
      policySchema.safeParse({ version: 1, roles: {}, tools: { 'admin/delete_user': { approvers } } })
        .success;
    expect([1, 2, 3].map(withApprovers)).toEqual([true, true, true]);
    expect([0, 4, -1, 1.5, '2', null, true].map(withApprovers)).toEqual(Array(7).fill(false));
  });

  const examplePolicy = () =>
    validatePolicy(
      parseYaml(readFileSync(join(import.meta.dirname, '../../../../deploy/policies/example.yaml'), 'utf8')),
    );

  it('every role of the governance and example policies × every approvers value resolves the same requirement; the qualified key wins', () => {
    const refund = govServer.tools.find((t) => t.name === 'refund_payment')!;
    for (const base of [govPolicy, examplePolicy()] as { roles: Record<string, unknown> }[]) {
      const roles = Object.keys(base.roles);
      fc.assert(
        fc.property(
          fc.subarray(roles),
          fc.option(fc.integer({ min: 1, max: 3 }), { nil: undefined }),
          fc.option(fc.integer({ min: 1, max: 3 }), { nil: undefined }),
          (callerRoles, qualified, bare) => {
            const tools: Record<string, { approvers: number }> = {};
            if (qualified !== undefined) tools['govtest/refund_payment'] = { approvers: qualified };
            if (bare !== undefined) tools.refund_payment = { approvers: bare };
            const policy = validatePolicy({ ...base, tools });
            const g = resolveGovernance(policy, callerRoles, 'govtest', refund);
            expect(g.approvers.value).toBe(qualified ?? bare ?? 1);
            expect(g.approvers.from).toBe(
              qualified !== undefined
                ? 'tools.govtest/refund_payment'
                : bare !== undefined
                  ? 'tools.refund_payment'
                  : 'default',
            );
            // Another server's tool of the same name is not touched by the qualified key.
            expect(computeGovernance(policy, callerRoles, 'other', refund).approvers.value).toBe(bare ?? 1);
          },
        ),
        { numRuns: 200 },
      );
    }
  });

  it('fleet policy explain says how many distinct approvers a held tool needs', () => {
    const refund = govServer.tools.find((t) => t.name === 'refund_payment')!;
    const policy = validatePolicy({ ...govPolicy, tools: { 'govtest/refund_payment': { approvers: 2 } } });
    const lines = explainGovernance(policy, ['operator'], 'govtest', refund).lines.join('\n');
    expect(lines).toMatch(
      /human approval: required for every call, by 2 distinct approvers \(from tools\.govtest\/refund_payment\)/,
    );
    const single = explainGovernance(validatePolicy(govPolicy), ['operator'], 'govtest', refund).lines.join(
      '\n',
    );
    expect(single).not.toMatch(/distinct approvers/);
  });
});
