// The governance parts of policy: the schema accepts limits, budgets and per-tool settings and
// refuses malformed ones; explainGovernance says what applies and where it comes from.
import { FleetError } from '@mcp-fleet/core';
import { explainGovernance, parsePolicy } from '@mcp-fleet/core/policy';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { govServer } from './harness.js';

const tool = (name: string) => govServer.tools.find((t) => t.name === name)!;

const policy = parsePolicy(
  stringify({
    version: 1,
    defaults: { limits: { perMinute: 100 }, budget: { perSession: 50 } },
    roles: {
      support: {
        grants: [{ servers: ['govtest'], access: 'read', constraints: { 'govtest.regions': '*' } }],
        limits: { perMinute: 60, perTool: { get_report: 10, 'govtest/echo_caller': 5 } },
        budget: { perSession: 200, sessionHours: 8, perWindow: { cost: 1000, minutes: 60 } },
      },
      admin: {
        grants: [{ servers: ['*'], tools: ['*'], constraints: { 'govtest.regions': '*' } }],
        limits: { perMinute: 600 },
      },
      guest: {
        grants: [{ servers: ['govtest'], tools: ['get_report'], constraints: { 'govtest.regions': '*' } }],
      },
    },
    tools: {
      get_report: { globalPerMinute: 1000, cost: 2, cacheTtlSeconds: 60 },
      'govtest/run_expensive_query': { perCallerPerMinute: 3 },
      'other/run_expensive_query': { perCallerPerMinute: 99 },
    },
  }),
);

describe('governance in policy', () => {
  it('explains limits, budgets, cost, cache, idempotency, approval and timeout with their sources', () => {
    const e = explainGovernance(policy, ['support'], 'govtest', tool('get_report'));
    expect(e.allowed).toBe(true);
    expect(e.settings.perCallerPerMinute).toEqual({ value: 60, from: 'role support' });
    expect(e.settings.perCallerToolPerMinute).toEqual({ value: 10, from: 'role support' });
    expect(e.settings.globalPerMinute).toEqual({ value: 1000, from: 'tools.get_report' });
    expect(e.settings.cost).toEqual({ value: 2, from: 'tools.get_report' });
    // Policy tightens the declared 300 s TTL to 60 s; it can never lengthen it.
    expect(e.settings.cacheTtlSeconds).toEqual({ value: 60, from: 'tools.get_report' });
    expect(e.settings.perSession).toEqual({ value: { cost: 200, hours: 8 }, from: 'role support' });
    expect(e.lines).toContain('rate limit per caller on get_report: 10/min (from role support)');
    expect(e.lines).toContain('idempotency key: not applicable (read-only)');

    // The most generous of several roles; defaults for roles that set nothing.
    const both = explainGovernance(policy, ['support', 'admin'], 'govtest', tool('echo_caller'));
    expect(both.settings.perCallerPerMinute).toEqual({ value: 600, from: 'role admin' });
    expect(both.settings.perCallerToolPerMinute).toEqual({ value: 5, from: 'role support' });
    const guest = explainGovernance(policy, ['guest'], 'govtest', tool('get_report'));
    expect(guest.settings.perCallerPerMinute).toEqual({ value: 100, from: 'defaults' });
    expect(guest.settings.perSession).toEqual({ value: { cost: 50, hours: 24 }, from: 'defaults' });

    // Server-qualified tool keys win over plain ones and do not leak to other servers.
    expect(
      explainGovernance(policy, ['support'], 'govtest', tool('run_expensive_query')).settings
        .perCallerToolPerMinute,
    ).toEqual({
      value: 3,
      from: 'tools.govtest/run_expensive_query',
    });
    expect(
      explainGovernance(policy, ['support'], 'elsewhere', tool('run_expensive_query')).settings
        .perCallerToolPerMinute,
    ).toBeNull();
    expect(
      explainGovernance(policy, ['support'], 'govtest', tool('run_expensive_query')).settings.cost,
    ).toEqual({
      value: 3,
      from: 'tool declaration',
    });

    const refund = explainGovernance(policy, ['admin'], 'govtest', tool('refund_payment'));
    expect(refund.approvalRequired).toBe(true);
    expect(refund.idempotency).toEqual({ argument: 'idempotency_key', meta: 'io.mcp-fleet/idempotencyKey' });
    expect(refund.lines.join('\n')).toMatch(/human approval: required/);
    expect(explainGovernance(policy, ['guest'], 'govtest', tool('refund_payment')).allowed).toBe(false);
    expect(explainGovernance(policy, ['support'], 'govtest', tool('wait_slowly')).timeoutMs).toBe(300);
  });

  it('refuses malformed governance settings with a clear message', () => {
    const bad = (doc: unknown) => () => parsePolicy(stringify(doc));
    expect(bad({ version: 1, roles: { a: { limits: { perMinute: 0 } } } })).toThrow(FleetError);
    expect(bad({ version: 1, roles: { a: { limits: { perMinute: 1.5 } } } })).toThrow(/perMinute/);
    expect(bad({ version: 1, roles: { a: { limits: { perTool: { 'Bad Name': 3 } } } } })).toThrow(
      /server\/tool_name/,
    );
    expect(bad({ version: 1, roles: { a: { budget: { perSession: -1 } } } })).toThrow(/perSession/);
    expect(bad({ version: 1, roles: { a: { limits: { perHour: 3 } } } })).toThrow(/perHour/);
    expect(bad({ version: 1, roles: {}, tools: { get_report: { globalPerMinute: 5, burst: 2 } } })).toThrow(
      /burst/,
    );
  });
});
