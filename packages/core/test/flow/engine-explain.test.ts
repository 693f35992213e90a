// `fleet policy explain`'s flow lines: the labels a tool's results get, the rules that can hold it (as
// the engine decides them), copy detection and the anomaly hold; and the flow section as a whole.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { defineTool } from '@mcp-fleet/core';
import { explainFlow, explainFlowPolicy, parsePolicy } from '@mcp-fleet/core/policy';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { flowPolicySchema } from '../../src/flow/flow-policy.js';

const tool = (name: string, governance: Parameters<typeof defineTool>[0]['governance']) =>
  defineTool({
    name,
    title: name,
    description: 'A tool of the explain test, described for a model.',
    input: z.object({}),
    governance,
    handler: async () => ({ text: 'x' }),
  });

const flow = flowPolicySchema.parse({
  internal: { emailDomains: ['example.com'] },
  labels: {
    tools: { 'admin/get_user': ['pii'] },
    sources: { 'database.schema': { billing: ['financial'] } },
  },
  rules: [
    { name: 'financial-external', after: ['financial'], to: 'external' },
    { name: 'untrusted-destructive', after: ['untrusted'], to: 'destructive', action: 'deny' },
    { name: 'support-only', after: ['pii'], to: 'send', roles: ['support'] },
  ],
  copy: { of: ['financial'] },
  anomaly: { holdAbove: 12, roles: ['admin'] },
});

describe('explainFlow', () => {
  it('a read: its labels (own, policy per tool, per source of its server); nothing holds it', () => {
    expect(explainFlow(flow, ['admin'], 'admin', tool('get_user', { readOnly: true }))).toEqual([
      'flow labels of its results: pii; untrusted when a result is marked untrusted',
      'flow rules that can hold it: none',
      'anomaly: held for approval when its score is above 12 bits',
    ]);
    expect(explainFlow(flow, ['support'], 'database', tool('run_query', { readOnly: true }))[0]).toBe(
      'flow labels of its results: none of its own; by the sources it names: database.schema billing → financial; untrusted when a result is marked untrusted',
    );
  });

  it('a send declared per call, a destructive tool, a static external send; roles narrow rules', () => {
    const send = explainFlow(flow, ['admin'], 'communication', tool('send_email', { readOnly: false }));
    expect(send[1]).toBe(
      'flow rules that can hold it: financial-external (after financial: approval, when a call sends there)',
    );
    expect(send[2]).toMatch(/^copy detection: its outbound content is checked for financial values/);
    const support = explainFlow(flow, ['support'], 'communication', tool('send_email', { readOnly: false }));
    expect(support[1]).toContain('support-only (after pii: approval, when a call sends there)');
    expect(support.at(-1)).toBe('anomaly: scored, never held');
    const del = explainFlow(
      flow,
      ['admin'],
      'files',
      tool('delete_file', { readOnly: false, destructive: true, sends: 'internal' }),
    );
    expect(del[1]).toBe('flow rules that can hold it: untrusted-destructive (after untrusted: deny)');
    const note = explainFlow(
      flow,
      ['admin'],
      'vendor-apis',
      tool('create_note', { readOnly: false, sends: 'external' }),
    );
    expect(note[1]).toBe('flow rules that can hold it: financial-external (after financial: approval)');
  });

  it('nothing without a flow section; the section itself in lines', () => {
    expect(explainFlow(undefined, ['admin'], 'x', tool('get_user', { readOnly: true }))).toEqual([]);
    expect(explainFlowPolicy(undefined)).toEqual(['flow guard: off (the policy has no flow section)']);
    expect(explainFlowPolicy(flow)).toEqual([
      "flow guard: a session's reads are remembered 24 h; company email domains: example.com",
      'flow rule financial-external: a session that read financial → sends outside the company: held for approval',
      'flow rule untrusted-destructive: a session that read untrusted → destructive tools: refused',
      'flow rule support-only: a session that read pii → sends anywhere [roles support]: held for approval',
      'copy detection: outbound content of every send holding >= 2 values that financial reads returned to the session: held for approval',
      'anomaly scores: learned from 14 days of audit trail, trusted after 30 transitions out of a tool; calls above 12 bits held for approval [roles admin]',
    ]);
  });

  it("the example policy's flow section explains without error", () => {
    const doc = parsePolicy(
      readFileSync(join(import.meta.dirname, '../../../../deploy/policies/example.yaml'), 'utf8'),
    );
    expect(explainFlowPolicy(doc.flow).length).toBeGreaterThan(3);
  });
});

describe('mcp_anomaly_score buckets', () => {
  it("every chart's anomalyScoreBits choices are the histogram's bucket bounds (the alert reads a bucket)", async () => {
    const { ANOMALY_SCORE_BUCKETS } = await import('../../src/flow/flow-metrics.js');
    for (const chart of ['admin', 'communication', 'database', 'files', 'vendor-apis']) {
      const schema = readFileSync(
        join(import.meta.dirname, `../../../../helm/${chart}/values.schema.json`),
        'utf8',
      );
      const m = /"anomalyScoreBits":\s*\{\s*"enum":\s*(\[[^\]]*\])/.exec(schema);
      expect(m, chart).not.toBeNull();
      expect(JSON.parse(m![1]!)).toEqual([...ANOMALY_SCORE_BUCKETS]);
    }
  });
});
