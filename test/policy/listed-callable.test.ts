// For every role of the example policy and every tool of every server in this checkout: a tool is
// listed exactly when it is callable, over real clients of both protocol eras.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { ServerDefinition } from '@mcp-fleet/core';
import { parsePolicy } from '@mcp-fleet/core/policy';
import {
  type BootedServer,
  bootServer,
  connectClient,
  createTestDatabase,
  DevIssuer,
} from '@mcp-fleet/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { discoverServers, EXAMPLE_POLICY, loadDefinition, ROOT } from '../../packages/cli/src/layout.js';
import { callMsg, rpc } from '../../packages/core/test/helpers.js';

const policyText = readFileSync(EXAMPLE_POLICY, 'utf8');
const roles = [...Object.keys(parsePolicy(policyText).roles), 'no_such_role'];
const packages = discoverServers();

let issuer: DevIssuer;
let db: Awaited<ReturnType<typeof createTestDatabase>>;
const booted = new Map<string, BootedServer>();

beforeAll(async () => {
  issuer = await DevIssuer.create();
  await issuer.listen();
  db = await createTestDatabase('listed_callable');
  for (const pkg of packages) {
    const def = await loadDefinition(pkg);
    // Only the declarations matter here: no connectors, so nothing upstream is touched. Admission is
    // decided before any handler runs; a handler that needs a connector answers with an error result.
    const declarationsOnly: ServerDefinition<unknown> = {
      ...def,
      connect: undefined,
      readiness: undefined,
      disconnect: undefined,
    };
    booted.set(
      def.name,
      await bootServer(declarationsOnly, { policy: policyText, issuer, databaseUrl: db.url }),
    );
  }
}, 180_000);
afterAll(async () => {
  for (const s of booted.values()) await s.close();
  await issuer?.close();
  await db?.drop();
});

describe('listed ⇔ callable (example policy, every server)', () => {
  it('covers every server package of this checkout, each booted', () => {
    // Read servers/ independently of discoverServers(): a package it missed would go untested here.
    const serversDir = join(ROOT, 'servers');
    const onDisk = readdirSync(serversDir, { withFileTypes: true })
      .filter((e) => e.isDirectory() && existsSync(join(serversDir, e.name, 'package.json')))
      .map((e) => e.name)
      .sort();
    expect(onDisk).toEqual(expect.arrayContaining(['database', 'files']));
    expect(packages.map((p) => basename(p.dir)).sort()).toEqual(onDisk);
    expect([...booted.keys()].sort()).toEqual(packages.map((p) => p.name).sort());
  });

  const cases = packages.flatMap((pkg) =>
    roles.flatMap((role) => (['modern', 'legacy'] as const).map((era) => [pkg.name, role, era] as const)),
  );
  it.each(cases)('%s: role %s over a %s client', async (server, role, era) => {
    const s = booted.get(server)!;
    const token = await s.token({ sub: `agent-${role}`, roles: [role], tenant: 'acme' });
    const client = await connectClient(era, s.url, token);
    const listed = new Set((await client.listTools()).tools.map((t) => t.name));
    await client.close();
    const mismatches: string[] = [];
    for (const name of s.server.runtime.registry.names()) {
      const res = await rpc(s.url, callMsg(name, {}), { authorization: `Bearer ${token}` });
      const callable = res.body?.result !== undefined;
      if (callable !== listed.has(name))
        mismatches.push(`${name}: listed=${listed.has(name)} callable=${callable}`);
    }
    expect(mismatches).toEqual([]);
  });
});

describe('the contract roles', () => {
  it('support, analyst and admin exist; an unknown role sees nothing', async () => {
    expect(roles).toEqual(expect.arrayContaining(['support', 'analyst', 'admin']));
    for (const s of booted.values()) {
      const token = await s.token({ sub: 'nobody', roles: ['no_such_role'] });
      const res = await rpc(
        s.url,
        { jsonrpc: '2.0', id: 1, method: 'tools/list' },
        { authorization: `Bearer ${token}` },
      );
      expect(res.body.result.tools).toEqual([]);
    }
  });

  it('support may not call mutating tools other than its ticket and Slack sends and CRM notes', async () => {
    for (const s of booted.values()) {
      const token = await s.token({ sub: 'support-agent', roles: ['support'] });
      const res = await rpc(
        s.url,
        { jsonrpc: '2.0', id: 1, method: 'tools/list' },
        { authorization: `Bearer ${token}` },
      );
      for (const tool of res.body.result.tools as {
        name: string;
        annotations: { readOnlyHint: boolean };
      }[]) {
        if (!tool.annotations.readOnlyHint)
          expect([
            'create_ticket',
            'add_ticket_comment',
            'slack_post_message',
            'hubspot_create_note',
          ]).toContain(tool.name);
      }
    }
  });
});
