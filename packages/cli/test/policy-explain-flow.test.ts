// `fleet policy explain` with the flow guard: each tool's row carries the labels its results get and
// the flow rules that can hold it, only when the policy has a flow section (other output unchanged);
// the CLI prints the section itself after the tools.
import { defineTool } from '@mcp-fleet/core';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { explainPolicy } from '../src/commands/policy.js';

const sendEmail = defineTool({
  name: 'send_email',
  title: 'Send email',
  description: 'Sends one email; its server declares the destinations per call.',
  input: z.object({ to: z.string() }),
  governance: { readOnly: false },
  handler: async () => ({ text: 'sent' }),
});
const runQuery = defineTool({
  name: 'run_query',
  title: 'Run query',
  description: 'Reads rows of the warehouse and names the schemas it read.',
  input: z.object({ sql: z.string() }),
  governance: { readOnly: true },
  handler: async () => ({ text: 'rows' }),
});
const servers = [
  { name: 'communication', tools: [sendEmail] },
  { name: 'database', tools: [runQuery] },
];
const base = {
  version: 1,
  roles: { admin: { grants: [{ servers: ['communication', 'database'], tools: ['*'] }] } },
};

describe('fleet policy explain: flow', () => {
  it('without a flow section the rows are as before (no flow key)', () => {
    for (const row of explainPolicy(base as never, 'admin', servers)) expect(row).not.toHaveProperty('flow');
  });

  it('with one: labels by source for a read, the rules that can hold a send', () => {
    const rows = explainPolicy(
      {
        ...base,
        flow: {
          labels: { sources: { 'database.schema': { billing: ['financial'] } } },
          rules: [{ name: 'financial-external', after: ['financial'], to: 'external' }],
        },
      } as never,
      'admin',
      servers,
    );
    const send = rows.find((r) => r.tool === 'send_email');
    const read = rows.find((r) => r.tool === 'run_query');
    expect(send?.flow).toContain(
      'flow rules that can hold it: financial-external (after financial: approval, when a call sends there)',
    );
    expect(read?.flow?.[0]).toContain('by the sources it names: database.schema billing → financial');
    expect(read?.flow).toContain('flow rules that can hold it: none');
  });
});
