// list_items through a real MCP client against the server booted with a dev issuer and the
// example policy: listed per role, constrained by the caller's grant, audited.
import {
  type BootedServer,
  bootServer,
  clientAs,
  listedNames,
  policyWithoutThrottling,
  textOf,
} from '@mcp-fleet/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import definition from '../src/definition.js';

const audit: { tool: string | null; agentId: string | null; outcome: string }[] = [];
let s: BootedServer;

beforeAll(async () => {
  s = await bootServer(definition, {
    // The policy `pnpm start` loads (its grants and constraints, not its rate limits).
    policy: policyWithoutThrottling(new URL('../../../deploy/policies/example.yaml', import.meta.url)),
    env: { AUDIT_STDOUT: 'true' },
    serverOptions: { auditWrite: (line) => audit.push(JSON.parse(line)) },
  });
});
afterAll(() => s?.close());

describe('list_items', () => {
  it('is listed to the roles the example policy grants it, and to no one else', async () => {
    for (const role of ['support', 'analyst', 'admin']) {
      const client = await clientAs(s, 'modern', role);
      expect(await listedNames(client)).toContain('list_items');
      await client.close();
    }
    const stranger = await clientAs(s, 'legacy', 'stranger');
    expect(await listedNames(stranger)).toEqual([]);
    await stranger.close();
  });

  it("answers within the caller's categories, refuses outside them, and audits both", async () => {
    const client = await clientAs(s, 'modern', 'support');
    const ok = await client.callTool('list_items', { category: 'public' });
    expect(ok.isError).toBeFalsy();
    expect(ok.structuredContent?.items).toEqual([
      { id: 'item-1', title: 'Welcome guide', category: 'public' },
      { id: 'item-2', title: 'Price list', category: 'public' },
    ]);
    const refused = await client.callTool('list_items', { category: 'internal' });
    expect(refused.isError).toBe(true);
    expect(textOf(refused)).toContain('internal');
    await client.close();
    const calls = audit.filter((r) => r.tool === 'list_items' && r.agentId === 'support-agent');
    expect(calls.map((r) => r.outcome)).toEqual(['ok', expect.not.stringMatching(/^ok$/)]);
  });
});
