// The flow guard's decision, generated from the policy: every rule × every `to` kind × role membership,
// and fast-check over label sets and outbound shapes. A session that read none of a rule's `after`
// labels is never held by it; one that did is always held when the call is of the rule's kind.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type CallKinds,
  callKinds,
  checkFlow,
  type FlowCallFacts,
  labelsOf,
  type SessionTaint,
  type TaintRead,
} from '../../src/flow/engine.js';
import { contentFingerprints, contentWindows, resultFingerprints } from '../../src/flow/fingerprints.js';
import { type FlowPolicy, flowPolicySchema, type OutboundDeclaration } from '../../src/flow/flow-policy.js';

const LABELS = ['financial', 'pii', 'confidential', 'untrusted'] as const;
const KINDS = ['external', 'internal', 'send', 'destructive', 'mutating'] as const;
const ROLES = ['admin', 'support', 'analyst'] as const;

function policyOf(raw: unknown): FlowPolicy {
  return flowPolicySchema.parse(raw);
}

function read(label: string, i = 0): TaintRead {
  return {
    label,
    server: 'database',
    tool: 'run_query',
    at: `2026-11-29T21:03:0${i}.123Z`,
    auditId: `a${i}`,
    source: 'schema billing',
  };
}

function taintOf(labels: readonly string[]): SessionTaint {
  return { labels: new Map(labels.map((l, i) => [l, [read(l, i % 10)]])) };
}

const outboundArb: fc.Arbitrary<OutboundDeclaration | undefined> = fc.option(
  fc.record({
    destinations: fc.array(
      fc.record({
        id: fc.constantFrom('email:a@partner.example', 'email:b@example.com', 'slack:C1', 'vendor:hubspot'),
        to: fc.constantFrom('internal' as const, 'external' as const),
      }),
      { maxLength: 4 },
    ),
    content: fc.array(fc.string({ maxLength: 20 }), { maxLength: 3 }),
  }),
  { nil: undefined },
);
const callArb: fc.Arbitrary<FlowCallFacts> = fc.record({
  server: fc.constantFrom('communication', 'admin', 'vendor-apis'),
  tool: fc.constantFrom('send_email', 'disable_user', 'hubspot_create_note', 'slack_post'),
  readOnly: fc.boolean(),
  destructive: fc.boolean(),
  sends: fc.constantFrom(undefined, 'internal' as const, 'external' as const),
});

/** The reference: what kind of call this is, written out independently from the engine's code. */
function expectedKinds(call: FlowCallFacts, o: OutboundDeclaration | undefined): CallKinds {
  const d = o?.destinations ?? [];
  if (d.length === 0)
    return {
      external: call.sends === 'external',
      internal: call.sends === 'internal',
      send: call.sends !== undefined,
      destructive: call.destructive,
      mutating: !call.readOnly,
    };
  return {
    external: d.some((x) => x.to === 'external'),
    internal: !d.some((x) => x.to === 'external'),
    send: true,
    destructive: call.destructive,
    mutating: !call.readOnly,
  };
}

describe('rules', () => {
  const cases = KINDS.flatMap((to) => [undefined, ['admin'], ['support']].map((roles) => ({ to, roles })));
  it.each(cases)(
    'rule to=$to roles=$roles: held iff the session read `after` and the call is that kind',
    async ({ to, roles }) => {
      const policy = policyOf({
        rules: [{ name: 'r', after: ['financial', 'pii'], to, ...(roles ? { roles } : {}) }],
      });
      await fc.assert(
        fc.asyncProperty(
          fc.subarray([...LABELS]),
          callArb,
          outboundArb,
          fc.subarray([...ROLES], { minLength: 1 }),
          async (labels, call, outbound, callerRoles) => {
            const v = await checkFlow({
              policy,
              roles: callerRoles,
              call,
              outbound,
              args: {},
              taint: taintOf(labels),
            });
            const read = labels.some((l) => l === 'financial' || l === 'pii');
            const kind = expectedKinds(call, outbound)[to];
            const roleOk = !roles || roles.some((r) => callerRoles.includes(r as never));
            expect(v.action).toBe(read && kind && roleOk ? 'approval' : 'allow');
            if (v.action === 'approval') {
              expect(v.findings).toHaveLength(1);
              expect(v.findings[0]!.reason).toContain('flow rule "r"');
              expect(v.findings[0]!.reason).toContain('database/run_query at 2026-11-29T21:03:0');
              expect(v.findings[0]!.reason).toContain('schema billing');
            }
          },
        ),
        { numRuns: 150 },
      );
    },
  );

  it('callKinds agrees with the reference for every shape', () => {
    fc.assert(
      fc.property(callArb, outboundArb, (call, o) => {
        expect(callKinds(call, o)).toEqual(expectedKinds(call, o));
      }),
    );
  });

  it('names the read, the label and the external destination (the judged reason)', async () => {
    const policy = policyOf({
      rules: [{ name: 'financial-external', after: ['financial'], to: 'external' }],
    });
    const v = await checkFlow({
      policy,
      roles: ['admin'],
      call: { server: 'communication', tool: 'send_email', readOnly: false, destructive: false },
      outbound: {
        destinations: [
          { id: 'email:x@partner.example', to: 'external' },
          { id: 'email:y@example.com', to: 'internal' },
        ],
        content: ['hello'],
      },
      args: {},
      taint: {
        labels: new Map([
          [
            'financial',
            [
              {
                label: 'financial',
                server: 'database',
                tool: 'run_query',
                at: '2026-11-29T21:03:04.000Z',
                auditId: 'x',
                source: 'schema billing',
              },
            ],
          ],
        ]),
      },
    });
    expect(v).toEqual({
      action: 'approval',
      findings: [
        {
          kind: 'rule',
          name: 'financial-external',
          action: 'approval',
          reason:
            'flow rule "financial-external": this session read financial data (database/run_query at 2026-11-29T21:03:04Z, schema billing) and send_email sends outside the company (email:x@partner.example)',
        },
      ],
    });
  });

  it('tools narrows a rule (tool and server/tool keys, globs); deny wins over approval', async () => {
    const policy = policyOf({
      rules: [
        { name: 'admin-changes', after: ['untrusted'], to: 'mutating', tools: ['admin/disable_*'] },
        { name: 'no-deletes', after: ['untrusted'], to: 'destructive', tools: ['delete_*'], action: 'deny' },
      ],
    });
    const taint = taintOf(['untrusted']);
    const at = (server: string, tool: string, destructive = false) =>
      checkFlow({
        policy,
        roles: ['admin'],
        call: { server, tool, readOnly: false, destructive },
        outbound: undefined,
        args: {},
        taint,
      });
    expect((await at('admin', 'disable_user')).action).toBe('approval');
    expect((await at('files', 'disable_user')).action).toBe('allow');
    expect((await at('files', 'delete_file', true)).action).toBe('deny');
    expect((await at('files', 'delete_file', false)).action).toBe('allow');
  });
});

describe('copy detection', () => {
  const policy = policyOf({ copy: { of: ['financial'], minMatches: 2 } });
  const fpsOf = (texts: readonly string[]) => texts.flatMap((t) => t.split(/\s+/)).map((w) => `fp:${w}`);
  const stored = new Map([
    [
      'fp:acme',
      { label: 'financial', server: 'database', tool: 'run_query', at: '2026-11-29T21:03:04.000Z' },
    ],
    [
      'fp:1200',
      { label: 'financial', server: 'database', tool: 'run_query', at: '2026-11-29T21:03:04.000Z' },
    ],
  ]);
  const send = { server: 'communication', tool: 'slack_post', readOnly: false, destructive: false };
  const internal: OutboundDeclaration = {
    destinations: [{ id: 'slack:C1', to: 'internal' }],
    content: ['acme pays 1200'],
  };

  it('holds an internal send whose content carries >= minMatches returned values, naming the read', async () => {
    const v = await checkFlow({
      policy,
      roles: ['support'],
      call: send,
      outbound: internal,
      args: {},
      taint: taintOf(['financial']),
      copyMatches: async (fps) => new Map([...stored].filter(([k]) => fps.includes(k))),
      fingerprintsOf: fpsOf,
    });
    expect(v.action).toBe('approval');
    expect(v.copy).toEqual({ matches: 2 });
    expect(v.findings[0]!.kind).toBe('copy');
    expect(v.findings[0]!.reason).toContain('2 values');
    expect(v.findings[0]!.reason).toContain('database/run_query at 2026-11-29T21:03:04Z');
    expect(v.findings[0]!.reason).not.toContain('acme');
  });

  it('a session whose fingerprints are capped: a send copy detection applies to is held (fail closed)', async () => {
    const taint = { ...taintOf(['financial']), fingerprintsCapped: 50_000 };
    const v = await checkFlow({
      policy,
      roles: ['support'],
      call: send,
      outbound: { ...internal, content: ['nothing copied here'] },
      args: {},
      taint,
      copyMatches: async () => new Set<string>(),
      fingerprintsOf: fpsOf,
    });
    expect(v.action).toBe('approval');
    expect(v.findings).toEqual([
      {
        kind: 'copy',
        name: 'copy-capped',
        action: 'approval',
        reason:
          'flow copy detection: this session read more values than copy detection can compare (50,000); a person checks what leaves',
      },
    ]);
    // Not a send; no copy label read; another role: copy detection does not apply, nothing is held.
    const read = { ...send, tool: 'list_channels', readOnly: true };
    for (const o of [
      { call: read, taint, roles: ['support'] },
      { call: send, taint: { ...taintOf(['pii']), fingerprintsCapped: 50_000 }, roles: ['support'] },
    ])
      expect((await checkFlow({ policy, outbound: undefined, args: {}, ...o })).action).toBe('allow');
    const scoped = policyOf({ copy: { of: ['financial'], minMatches: 2, roles: ['finance'] } });
    expect(
      (
        await checkFlow({
          policy: scoped,
          roles: ['support'],
          call: send,
          outbound: internal,
          args: {},
          taint,
        })
      ).action,
    ).toBe('allow');
  });

  it('one value is below minMatches; no financial read: no lookup at all', async () => {
    let lookups = 0;
    const copyMatches = async (fps: readonly string[]) => {
      lookups += 1;
      return new Set(fps.filter((f) => stored.has(f)));
    };
    const one = await checkFlow({
      policy,
      roles: ['support'],
      call: send,
      outbound: { ...internal, content: ['acme says hi'] },
      args: {},
      taint: taintOf(['financial']),
      copyMatches,
      fingerprintsOf: fpsOf,
    });
    expect(one).toEqual({ action: 'allow', findings: [], copy: { matches: 1 } });
    const fresh = await checkFlow({
      policy,
      roles: ['support'],
      call: send,
      outbound: internal,
      args: {},
      taint: taintOf(['pii']),
      copyMatches,
      fingerprintsOf: fpsOf,
    });
    expect(fresh.action).toBe('allow');
    expect(lookups).toBe(1);
  });

  it('a tool that sends with no declaration: the string leaves of its arguments are the content', async () => {
    const v = await checkFlow({
      policy,
      roles: ['admin'],
      call: {
        server: 'vendor-apis',
        tool: 'hubspot_create_note',
        readOnly: false,
        destructive: false,
        sends: 'external',
      },
      outbound: undefined,
      args: { note: { body: 'acme', lines: ['1200'] }, n: 3 },
      taint: taintOf(['financial']),
      copyMatches: async (fps) => new Set(fps.filter((f) => stored.has(f))),
      fingerprintsOf: fpsOf,
    });
    expect(v.action).toBe('approval');
    expect(v.findings[0]!.reason).toContain('financial');
  });

  describe('with windowsOf: distinct copied values, not fingerprints', () => {
    const KEY = 'engine-test-key';
    const at = '2026-11-29T21:03:04.000Z';
    // A find_customers result: the id is inside the name, the company is a value of its own.
    const result = {
      structured: {
        customers: [
          { id: 1342, name: 'Granite Labs 1342', company: 'Granite Labs', email: 'ops@granitelabs.example' },
          { id: 2718, name: 'Pine Studio 2718', company: 'Pine Studio', email: 'hi@pinestudio.example' },
        ],
      },
    };
    const stored = new Map(
      resultFingerprints(result, KEY).map((fp) => [
        fp,
        { label: 'pii', server: 'database', tool: 'find_customers', at },
      ]),
    );
    const check = (content: string[], windows = true) =>
      checkFlow({
        policy: policyOf({ copy: { of: ['pii'], minMatches: 3 } }),
        roles: ['support'],
        call: send,
        outbound: { destinations: [{ id: 'slack:C1', to: 'internal' }], content },
        args: {},
        taint: taintOf(['pii']),
        copyMatches: async (fps) => new Map([...stored].filter(([k]) => fps.includes(k))),
        fingerprintsOf: (texts) => contentFingerprints(texts, KEY),
        ...(windows ? { windowsOf: (texts: readonly string[]) => contentWindows(texts, KEY) } : {}),
      });
    const escalation = ['Escalating SUP-12 for Granite Labs 1342: the customer cannot log in'];

    it('a customer named with its id is one value (matched fingerprints alone reached minMatches 3)', async () => {
      expect((await check(escalation, false)).action).toBe('approval');
      const v = await check(escalation);
      expect(v).toEqual({ action: 'allow', findings: [], copy: { matches: 1 } });
    });

    it('the same value in a subject and a body counts once (the name twice and its e-mail: 2)', async () => {
      const v = await check(['Granite Labs 1342', ...escalation, 'write to ops@granitelabs.example']);
      expect(v.copy).toEqual({ matches: 2 });
      expect(v.action).toBe('allow');
    });

    it('pasted records are held, the reason naming the read and the count of values', async () => {
      const v = await check([
        'Granite Labs 1342, ops@granitelabs.example\nPine Studio 2718, hi@pinestudio.example',
      ]);
      expect(v.action).toBe('approval');
      expect(v.copy).toEqual({ matches: 4 });
      expect(v.findings[0]!.reason).toContain('contains 4 values');
      expect(v.findings[0]!.reason).toContain('database/find_customers at 2026-11-29T21:03:04Z');
      expect(v.findings[0]!.reason).not.toContain('granite');
    });
  });
});

describe('anomaly', () => {
  const score = {
    score: 10.5,
    p: 0.0007,
    from: 'communication/get_ticket',
    to: 'files/share_document',
    count: 0,
    total: 412,
    baseline: 'role:admin',
  };
  const call = { server: 'files', tool: 'share_document', readOnly: false, destructive: false };
  it('holds above the threshold with an explainable reason; not at or below, not without a baseline', async () => {
    const policy = policyOf({ anomaly: { holdAbove: 9 } });
    const v = await checkFlow({
      policy,
      roles: ['admin'],
      call,
      outbound: undefined,
      args: {},
      taint: taintOf([]),
      anomaly: score,
    });
    expect(v.findings).toEqual([
      {
        kind: 'anomaly',
        name: 'anomaly',
        action: 'approval',
        reason:
          'unusual sequence for role admin: files/share_document after communication/get_ticket (seen 0 of 412 transitions from it; p=0.0007, 10.5 bits > 9)',
      },
    ]);
    for (const a of [
      { ...score, score: 9 },
      { ...score, baseline: 'none' },
    ]) {
      const w = await checkFlow({
        policy,
        roles: ['admin'],
        call,
        outbound: undefined,
        args: {},
        taint: taintOf([]),
        anomaly: a,
      });
      expect(w.action).toBe('allow');
    }
    const scoredOnly = policyOf({ anomaly: {} });
    expect(
      (
        await checkFlow({
          policy: scoredOnly,
          roles: ['admin'],
          call,
          outbound: undefined,
          args: {},
          taint: taintOf([]),
          anomaly: score,
        })
      ).action,
    ).toBe('allow');
    const otherRole = policyOf({ anomaly: { holdAbove: 9, roles: ['support'] } });
    expect(
      (
        await checkFlow({
          policy: otherRole,
          roles: ['admin'],
          call,
          outbound: undefined,
          args: {},
          taint: taintOf([]),
          anomaly: score,
        })
      ).action,
    ).toBe('allow');
  });

  it('holds only a change or a send: a read with the same score is not held (the step never holds one)', async () => {
    const policy = policyOf({ anomaly: { holdAbove: 9 } });
    const read = { server: 'files', tool: 'read_document', readOnly: true, destructive: false };
    const at = (c: typeof read & { sends?: 'internal' | 'external' }) =>
      checkFlow({
        policy,
        roles: ['admin'],
        call: c,
        outbound: undefined,
        args: {},
        taint: taintOf([]),
        anomaly: { ...score, to: `files/${c.tool}` },
      });
    expect(await at(read)).toEqual({ action: 'allow', findings: [] });
    // A read-only tool that sends (a notification) is a send: held.
    expect((await at({ ...read, tool: 'notify', sends: 'internal' })).action).toBe('approval');
  });
});

describe('labelsOf', () => {
  const policy = policyOf({
    labels: {
      tools: { 'admin/get_user': ['pii'], 'get_*': ['confidential'] },
      sources: {
        'database.schema': { billing: ['financial', 'pii'], 'sales*': ['pii'] },
        'files.path': { 'finance/**': ['financial'] },
      },
    },
  });
  it('declared ∪ tool keys ∪ sources (name or glob) ∪ untrusted, each with its source', () => {
    expect(
      labelsOf(policy, {
        server: 'database',
        tool: 'run_query',
        declared: ['internal-only'],
        sources: [
          { kind: 'schema', name: 'billing' },
          { kind: 'schema', name: 'sales_eu' },
          { kind: 'path', name: 'finance/q3.md' },
        ],
        untrusted: true,
      }),
    ).toEqual([
      { label: 'internal-only' },
      { label: 'financial', source: 'schema billing' },
      { label: 'pii', source: 'schema billing' },
      { label: 'untrusted' },
    ]);
    expect(labelsOf(policy, { server: 'admin', tool: 'get_user', sources: [], untrusted: false })).toEqual([
      { label: 'pii' },
      { label: 'confidential' },
    ]);
    expect(
      labelsOf(policy, {
        server: 'files',
        tool: 'read_document',
        sources: [{ kind: 'path', name: 'finance/.hidden/a.md' }],
        untrusted: false,
      }),
    ).toEqual([{ label: 'financial', source: 'path finance/.hidden/a.md' }]);
    expect(
      labelsOf(undefined, {
        server: 'x',
        tool: 'y',
        sources: [{ kind: 'schema', name: 'billing' }],
        untrusted: false,
      }),
    ).toEqual([]);
  });
  it('property: a source whose name no key matches adds nothing', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[a-z]{1,8}$/), (name) => {
        fc.pre(name !== 'billing' && !name.startsWith('sales'));
        expect(
          labelsOf(policy, {
            server: 'database',
            tool: 'run_query',
            sources: [{ kind: 'schema', name }],
            untrusted: false,
          }),
        ).toEqual([]);
      }),
    );
  });
});
