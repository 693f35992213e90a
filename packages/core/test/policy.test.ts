// Policy: deny by default, listed ⇔ callable for every role and tool, hot reload, refusal of bad files.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type AnyTool, defineTool, FleetError } from '@mcp-fleet/core';
import { decide, parsePolicy, ToolRegistry } from '@mcp-fleet/core/policy';
import { type BootedServer, bootServer, connectClient, createTestDatabase } from '@mcp-fleet/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { fixturePolicy, fixtureServer } from './fixtures.js';
import { callMsg, rpc } from './helpers.js';

let s: BootedServer;
let db: Awaited<ReturnType<typeof createTestDatabase>>;
beforeAll(async () => {
  db = await createTestDatabase();
  s = await bootServer(fixtureServer, { policy: fixturePolicy, databaseUrl: db.url });
});
afterAll(async () => {
  await s?.close();
  await db?.drop();
});

const roles = [...Object.keys(fixturePolicy.roles), 'nobody'];

describe('listed ⇔ callable', () => {
  it.each(roles.flatMap((role) => (['modern', 'legacy'] as const).map((era) => [role, era] as const)))(
    'role %s over a %s client',
    async (role, era) => {
      const token = await s.token({ sub: `agent-${role}`, roles: [role] });
      const client = await connectClient(era, s.url, token);
      const listed = new Set((await client.listTools()).tools.map((t) => t.name));
      await client.close();
      for (const name of s.server.runtime.registry.names()) {
        // Arguments are deliberately empty: admission is decided before validation, so an admitted
        // call answers with a result (maybe "invalid arguments"), a refused one with a JSON-RPC error.
        const res = await rpc(s.url, callMsg(name, {}), { authorization: `Bearer ${token}` });
        const callable = res.body.result !== undefined;
        expect({ role, name, callable }).toEqual({ role, name, callable: listed.has(name) });
      }
    },
  );

  it('lists nothing and admits nothing for a token without roles', async () => {
    const token = await s.token({ sub: 'agent-none' });
    const res = await rpc(
      s.url,
      { jsonrpc: '2.0', id: 1, method: 'tools/list' },
      { authorization: `Bearer ${token}` },
    );
    expect(res.body.result.tools).toEqual([]);
  });
});

describe('decide()', () => {
  const tool = { name: 'lookup_record', readOnly: true, needsApproval: false, dimension: 'schemas' };
  const policy = parsePolicy(JSON.stringify(fixturePolicy));
  it('denies by default and names the reason', () => {
    expect(decide(policy, { roles: ['ghost'] }, 'fixture', tool)).toMatchObject({ allowed: false });
    expect(decide(policy, { roles: [] }, 'fixture', tool).reason).toBe('token carries no roles');
  });
  it('does not let role names reach Object.prototype', () => {
    expect(decide(policy, { roles: ['__proto__', 'constructor', 'toString'] }, 'fixture', tool).allowed).toBe(
      false,
    );
  });
  it('unions constraints across grants and leaves a tool unconstrained when any grant says "*"', () => {
    const d = decide(policy, { roles: ['narrow'] }, 'fixture', tool);
    expect(d.constraints).toEqual([{ schemas: ['public'] }]);
    expect(decide(policy, { roles: ['narrow', 'reader'] }, 'fixture', tool).constraints).toBeNull();
  });
  it('keeps destructive tools behind approval even for a role granted everything', () => {
    const admin = parsePolicy('version: 1\nroles:\n  admin:\n    grants:\n      - servers: ["*"]\n');
    expect(
      decide(admin, { roles: ['admin'] }, 'x', {
        name: 'delete_everything',
        readOnly: false,
        needsApproval: true,
        dimension: null,
      }).approvalRequired,
    ).toBe(true);
  });
  it('applies constraints on calls: the narrow role may read only the public schema', async () => {
    const token = await s.token({ sub: 'agent-narrow', roles: ['narrow'] });
    const ok = await rpc(s.url, callMsg('lookup_record', { schema: 'public', id: 1 }), {
      authorization: `Bearer ${token}`,
    });
    expect(ok.body.result.structuredContent).toEqual({ schema: 'public', id: 1 });
    const no = await rpc(s.url, callMsg('lookup_record', { schema: 'hr', id: 1 }), {
      authorization: `Bearer ${token}`,
    });
    expect(no.body.result.isError).toBe(true);
    expect(no.body.result.content[0].text).toMatch(/schema "hr" is not one you may read/);
  });
});

describe('policy files', () => {
  it('refuses invalid policies with a message that names the problem', () => {
    expect(() => parsePolicy('version: 2\nroles: {}')).toThrow(FleetError);
    expect(() =>
      parsePolicy('version: 1\nroles:\n  r:\n    grants:\n      - servers: [x]\n        tool: [y]\n'),
    ).toThrow(/tool/);
    expect(() => parsePolicy(':: not yaml ::\n  - [')).toThrow(/YAML/);
    const registry = new ToolRegistry(fixtureServer.tools as AnyTool[]);
    expect(() =>
      parsePolicy(
        'version: 1\nroles:\n  r:\n    grants:\n      - servers: [fixture]\n        constraints: { fixture/lookup_record: { schemas: "public" } }\n',
        'fixture',
        registry,
      ),
    ).toThrow(/constraints\.fixture\/lookup_record/);
  });

  it('picks up a changed policy without restart, and keeps the old one when the new one is invalid', async () => {
    const token = await s.token({ sub: 'agent-reload', roles: ['reader'] });
    const list = async () =>
      (
        await rpc(
          s.url,
          { jsonrpc: '2.0', id: 1, method: 'tools/list' },
          { authorization: `Bearer ${token}` },
        )
      ).body.result.tools.map((t: { name: string }) => t.name);
    expect(await list()).toContain('echo_text');
    const waitFor = async (pred: (names: string[]) => boolean) => {
      for (let i = 0; i < 50; i++) {
        if (pred(await list())) return true;
        await new Promise((r) => setTimeout(r, 100));
      }
      return false;
    };
    s.writePolicy({
      version: 1,
      roles: { reader: { grants: [{ servers: ['fixture'], tools: ['wait_slowly'] }] } },
    });
    expect(await waitFor((n) => n.length === 1 && n[0] === 'wait_slowly')).toBe(true);

    // The rejection is an event the server counts: wait for it, then check the old policy still holds.
    const rejected = async () => {
      const text = await (await fetch(`${s.baseUrl}/metrics`)).text();
      const line = text.split('\n').find((l) => l.startsWith('mcp_policy_reloads_total{result="rejected"'));
      return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
    };
    const rejectedBefore = await rejected();
    s.writePolicy(
      'version: 1\nroles:\n  reader:\n    grants:\n      - servers: [fixture]\n        tools: [echo_text]\n        typo: true\n',
    );
    let seen = false;
    for (let i = 0; i < 150 && !seen; i++) {
      seen = (await rejected()) > rejectedBefore;
      if (!seen) await new Promise((r) => setTimeout(r, 100));
    }
    expect(seen).toBe(true);
    expect(await list()).toEqual(['wait_slowly']);

    s.writePolicy(fixturePolicy);
    expect(await waitFor((n) => n.includes('echo_text'))).toBe(true);
  });

  it('the example policy parses and defines the contract roles', () => {
    const doc = parsePolicy(readFileSync(join(__dirname, '../../../deploy/policies/example.yaml'), 'utf8'));
    expect(Object.keys(doc.roles)).toEqual(expect.arrayContaining(['support', 'analyst', 'admin']));
  });
});

describe('tool registration', () => {
  const make = (name: string, readOnly = true) =>
    defineTool({
      name,
      title: name,
      description: 'A tool used only to test registration rules.',
      input: z.object({}),
      governance: { readOnly },
      handler: async () => ({ text: '' }),
    });
  it('fails loudly on duplicates, bad names and missing governance', () => {
    expect(() => new ToolRegistry([make('get_thing'), make('get_thing')] as unknown as AnyTool[])).toThrow(
      /registered twice/,
    );
    expect(() => new ToolRegistry([make('GetThing')] as unknown as AnyTool[])).toThrow(/snake_case/);
    expect(() => new ToolRegistry([{ ...make('get_thing'), governance: {} } as unknown as AnyTool])).toThrow(
      /governance.readOnly/,
    );
    expect(
      () =>
        new ToolRegistry([
          {
            ...make('put_thing', false),
            governance: { readOnly: false, cacheTtlSeconds: 60 },
          } as unknown as AnyTool,
        ]),
    ).toThrow(/cannot be cacheable/);
  });
  it('sets annotations from governance', () => {
    const reg = new ToolRegistry([make('get_thing'), make('put_thing', false)] as unknown as AnyTool[]);
    expect(reg.get('get_thing')!.listing.annotations).toMatchObject({
      readOnlyHint: true,
      destructiveHint: false,
    });
    expect(reg.get('put_thing')!.listing.annotations).toMatchObject({ readOnlyHint: false });
  });
});
