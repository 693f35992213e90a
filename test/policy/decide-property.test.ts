// Property: over random policies (roles, grants with server/tool patterns, access, except lists,
// dimension keys, tool-name overrides, "*" values) and random tools, decide() never leaves a tool
// that declares a constraint dimension unconstrained (constraints === null) unless some covering
// grant says "*" for it: its "<server>/<tool>" key, or without one its "<server>.<dimension>" key. A grant
// that gives neither never grants the tool.
import {
  decide,
  grantCovers,
  type PolicyDocument,
  policySchema,
  type ToolFacts,
} from '@mcp-fleet/core/policy';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

const SERVERS = ['database', 'files', 'communication'];
const TOOLS = ['run_query', 'sample_rows', 'read_document', 'write_report', 'send_message'];
const DIMENSIONS = ['schemas', 'read', 'write', 'channels'];

const value = fc.oneof(
  fc.constant('*'),
  fc.record({ allowed: fc.array(fc.constantFrom('a', 'b', 'c'), { minLength: 1, maxLength: 3 }) }),
);
const constraintKey = fc.oneof(
  fc.tuple(fc.constantFrom(...SERVERS), fc.constantFrom(...TOOLS)).map(([s, t]) => `${s}/${t}`),
  fc.tuple(fc.constantFrom(...SERVERS), fc.constantFrom(...DIMENSIONS)).map(([s, d]) => `${s}.${d}`),
);
const grant = fc.record(
  {
    servers: fc.oneof(fc.constant(['*']), fc.subarray(SERVERS, { minLength: 1 })),
    tools: fc.oneof(fc.constant(['*']), fc.constant(['*_*']), fc.subarray(TOOLS, { minLength: 1 })),
    access: fc.constantFrom('read', 'all'),
    except: fc.subarray(TOOLS, { maxLength: 2 }),
    constraints: fc.dictionary(constraintKey, value, { maxKeys: 4 }),
    approval: fc.constant([]),
  },
  { requiredKeys: ['servers'] },
);
const policy = fc
  .dictionary(
    fc.constantFrom('support', 'analyst', 'admin', 'ops'),
    fc.record({ grants: fc.array(grant, { maxLength: 3 }) }),
    {
      minKeys: 1,
      maxKeys: 4,
    },
  )
  .map((roles) => policySchema.parse({ version: 1, roles }) as PolicyDocument);
const tool: fc.Arbitrary<ToolFacts> = fc.record({
  name: fc.constantFrom(...TOOLS),
  readOnly: fc.boolean(),
  needsApproval: fc.boolean(),
  dimension: fc.option(fc.constantFrom(...DIMENSIONS), { nil: null }),
});

/** The value a grant gives `tool`, looked up independently of decide(): override first, then the dimension. */
function valueFor(
  g: PolicyDocument['roles'][string]['grants'][number],
  server: string,
  t: ToolFacts,
): unknown {
  const own = `${server}/${t.name}`;
  if (Object.hasOwn(g.constraints, own)) return g.constraints[own];
  const key = `${server}.${t.dimension}`;
  return Object.hasOwn(g.constraints, key) ? g.constraints[key] : undefined;
}

describe('decide() over random policies', () => {
  it('never returns constraints === null for a dimensioned tool unless a covering grant says "*"', () => {
    fc.assert(
      fc.property(
        policy,
        tool,
        fc.constantFrom(...SERVERS),
        fc.subarray(['support', 'analyst', 'admin', 'ops', 'nobody']),
        (doc, t, server, roles) => {
          const d = decide(doc, { roles }, server, t);
          if (t.dimension === null) return;
          const covering = roles.flatMap((r) =>
            Object.hasOwn(doc.roles, r)
              ? (doc.roles[r]?.grants ?? []).filter((g) => grantCovers(g, server, t))
              : [],
          );
          const given = covering.map((g) => valueFor(g, server, t)).filter((v) => v !== undefined);
          if (d.allowed && d.constraints === null) expect(given).toContain('*');
          // Allowed exactly when some covering grant gives the dimension a value; never through a gap.
          expect(d.allowed).toBe(given.length > 0);
          // The values are those the grants give, "*" aside.
          if (d.allowed && d.constraints !== null)
            expect(d.constraints).toEqual(given.filter((v) => v !== '*'));
        },
      ),
      { numRuns: 2000 },
    );
  });
});
