// Review findings on the policy language, each checked over cases derived from the servers'
// registries (or generated): override keys name their server (F1), an approval line of a grant that
// matches a tool survives a dimension gap (F2), globs that can never do what they say are refused
// and names matching nothing are reported (F3), `fleet policy check` says which environment built
// the tool lists and takes --env-file (F4), and a document built in code is validated like a file (F5).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { AnyTool, ConstraintDimension } from '@mcp-fleet/core';
import { createLogger } from '@mcp-fleet/core/internal';
import {
  decide,
  grantCovers,
  type PolicyDocument,
  PolicyStore,
  parsePolicy,
  policySchema,
  type ToolFacts,
  ToolRegistry,
  toolFacts,
} from '@mcp-fleet/core/policy';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { z } from 'zod';
import { checkPolicyFile, explainPolicy, policyCommand } from '../../packages/cli/src/commands/policy.js';
import { discoverServers, loadDefinition } from '../../packages/cli/src/layout.js';

interface Server {
  name: string;
  tools: readonly AnyTool[];
  dimensions: ConstraintDimension<unknown>[];
}
const servers: Server[] = [];
const dir = mkdtempSync(join(tmpdir(), 'policy-hardening-'));
let n = 0;
const writeTemp = (text: string, ext = 'yaml'): string => {
  const file = join(dir, `f${n++}.${ext}`);
  writeFileSync(file, text);
  return file;
};
const yaml = (doc: unknown) => stringify(doc);
const quiet = createLogger({
  destination: new Writable({
    write(_c, _e, done) {
      done();
    },
  }),
});

beforeAll(async () => {
  for (const pkg of discoverServers()) {
    const def = await loadDefinition(pkg);
    const tools = def.tools as readonly AnyTool[];
    servers.push({ name: def.name, tools, dimensions: [...new ToolRegistry(tools).dimensions().values()] });
  }
});

/** A tool of `server` named `name` declaring `dimension` (e.g. a saved query named like another server's tool). */
function namesake(name: string, dimension: ConstraintDimension<unknown>): AnyTool {
  return {
    name,
    title: 'Namesake',
    description: 'A tool of one server named like a tool of another server.',
    input: z.object({}),
    governance: { readOnly: true },
    constraint: { dimension, check: () => null },
    handler: async () => ({ text: 'ran' }),
  };
}

/** Every (server A, dimensioned tool T of A, other server B with a dimension D). */
function crossPairs() {
  const out: { a: Server; tool: AnyTool; b: Server; dim: ConstraintDimension<unknown> }[] = [];
  for (const a of servers)
    for (const tool of a.tools.filter((t) => t.constraint))
      for (const b of servers.filter((s) => s !== a))
        for (const dim of b.dimensions) out.push({ a, tool, b, dim });
  return out;
}

describe('F1: a constraint override names its server', () => {
  it('refuses a bare tool-name key, telling the fix, for every dimensioned tool of every server', () => {
    let checked = 0;
    for (const s of servers)
      for (const t of s.tools.filter((x) => x.constraint)) {
        const text = yaml({
          version: 1,
          roles: { r: { grants: [{ servers: ['*'], constraints: { [t.name]: '*' } }] } },
        });
        expect(() => parsePolicy(text)).toThrow(new RegExp(`"<server>/${t.name}"`));
        checked++;
      }
    expect(checked).toBeGreaterThan(5);
  });

  it('an override of A/T never opens a same-named tool on another server B', () => {
    const pairs = crossPairs();
    expect(pairs.length).toBeGreaterThan(5);
    for (const { a, tool, b, dim } of pairs) {
      const registry = new ToolRegistry([
        ...b.tools.filter((t) => t.name !== tool.name),
        namesake(tool.name, dim),
      ]);
      // A's tool is opened by its override; B's namesake must not be (B's dimension is unset: a gap).
      const value = '*';
      const doc = parsePolicy(
        yaml({
          version: 1,
          roles: {
            r: {
              grants: [{ servers: ['*'], constraints: { [`${a.name}/${tool.name}`]: value } }],
            },
          },
        }),
        b.name,
        registry,
      );
      const d = decide(doc, { roles: ['r'] }, b.name, toolFacts(namesake(tool.name, dim)));
      expect(d.allowed, `${a.name}/${tool.name} opened ${b.name}/${tool.name}`).toBe(false);
      const onA = decide(doc, { roles: ['r'] }, a.name, toolFacts(tool));
      expect(onA.allowed).toBe(true);
      expect(onA.constraints).toBeNull();
    }
  });

  it('fleet policy check reports a tool name present on two servers', async () => {
    const [a, b] = servers;
    if (!a || !b) throw new Error('need two servers');
    const shared = a.tools.find((t) => t.constraint) as AnyTool;
    const dim = b.dimensions[0] as ConstraintDimension<unknown>;
    const file = writeTemp(yaml({ version: 1, roles: { r: { grants: [{ servers: [a.name] }] } } }));
    const check = await checkPolicyFile(file, [
      { name: a.name, tools: a.tools },
      { name: b.name, tools: [...b.tools, namesake(shared.name, dim)] },
    ]);
    expect(check.warnings.join('\n')).toContain(`tool ${shared.name} exists on ${a.name} and ${b.name}`);
  });
});

describe('F2: an approval line of a grant matching the tool survives its dimension gap', () => {
  const SERVERS = ['database', 'files'];
  const TOOLS = ['run_query', 'explain_query', 'read_document', 'write_report'];
  const grant = fc.record({
    servers: fc.oneof(fc.constant(['*']), fc.subarray(SERVERS, { minLength: 1 })),
    tools: fc.oneof(fc.constant(['*']), fc.subarray(TOOLS, { minLength: 1 })),
    access: fc.constantFrom('read', 'all'),
    except: fc.subarray(TOOLS, { maxLength: 1 }),
    constraints: fc.oneof(
      fc.constant({}),
      fc.constant({ 'database.schemas': '*' }),
      fc.constant({ 'database.schemas': '*', 'files.read': '*' }),
    ),
    approval: fc.subarray(TOOLS),
  });
  const policy = fc
    .array(grant, { minLength: 1, maxLength: 4 })
    .map((grants) => policySchema.parse({ version: 1, roles: { r: { grants } } }) as PolicyDocument);
  const tool: fc.Arbitrary<ToolFacts> = fc.record({
    name: fc.constantFrom(...TOOLS),
    readOnly: fc.boolean(),
    needsApproval: fc.constant(false),
    dimension: fc.constantFrom('schemas', 'read'),
  });

  it('allowed ⇒ approvalRequired exactly when a grant matching the tool lists it, gap or not', () => {
    fc.assert(
      fc.property(policy, tool, fc.constantFrom(...SERVERS), (doc, t, server) => {
        const d = decide(doc, { roles: ['r'] }, server, t);
        if (!d.allowed) return;
        const wanted = (doc.roles.r?.grants ?? []).some(
          (g) => grantCovers(g, server, t) && g.approval.includes(t.name),
        );
        expect(d.approvalRequired).toBe(wanted);
      }),
      { numRuns: 3000 },
    );
  });

  it('the review case: raw SQL approval added in a grant without database.schemas still applies', () => {
    const database = servers.find((s) => s.name === 'database') as Server;
    const registry = new ToolRegistry(database.tools);
    const doc = parsePolicy(
      yaml({
        version: 1,
        roles: {
          analyst: {
            grants: [
              { servers: ['*'], access: 'read', constraints: { 'database.schemas': '*' } },
              {
                servers: ['database'],
                tools: ['run_query', 'explain_query'],
                approval: ['run_query', 'explain_query'],
              },
            ],
          },
        },
      }),
      'database',
      registry,
    );
    for (const name of ['run_query', 'explain_query']) {
      const reg = registry.get(name);
      if (!reg) continue;
      const d = decide(doc, { roles: ['analyst'] }, 'database', toolFacts(reg.tool));
      expect(d.allowed).toBe(true);
      expect(d.approvalRequired, name).toBe(true);
    }
  });
});

describe('F3: globs that can never do what they say', () => {
  const FIELDS = ['servers', 'tools', 'except', 'approval'] as const;
  const mistakes = (name: string) => [
    `!${name}`,
    name.toUpperCase(),
    `${name[0]?.toUpperCase()}${name.slice(1)}`,
    `${name}, other_tool`,
    `${name},other_tool`,
    ` ${name}`,
    `${name} `,
  ];

  it('are refused at load, in every list, for every server and tool name of this checkout', () => {
    const names = [...servers.map((s) => s.name), ...servers.flatMap((s) => s.tools.map((t) => t.name))];
    let checked = 0;
    for (const name of names)
      for (const field of FIELDS)
        for (const bad of mistakes(name)) {
          const g: Record<string, unknown> = { servers: ['*'], [field]: [bad] };
          const text = yaml({ version: 1, roles: { r: { grants: [g] } } });
          expect(() => parsePolicy(text), `${field}: ${JSON.stringify(bad)}`).toThrow(
            bad.startsWith('!') ? /except/ : /can never match/,
          );
          checked++;
        }
    expect(checked).toBeGreaterThan(100);
  });

  it("refuses any character outside the names' alphabet and plain globs (look-alikes, invisibles, extglobs), generated", () => {
    const names = [...servers.map((s) => s.name), ...servers.flatMap((s) => s.tools.map((t) => t.name))];
    const allowed = /^[a-z0-9_*?{},[\]-]$/;
    const odd = fc
      .oneof(
        fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
        fc.constantFrom(
          '\u200b',
          '\uff27',
          '\u0413',
          '\uff0c',
          '\u00a0',
          '(',
          ')',
          '@',
          '+',
          '!',
          '.',
          '/',
          '\\',
          '|',
        ),
      )
      .filter((ch) => !allowed.test(ch));
    fc.assert(
      fc.property(
        fc.constantFrom(...names),
        fc.constantFrom(...FIELDS),
        odd,
        fc.nat(),
        (name, field, ch, at) => {
          const i = at % (name.length + 1);
          const bad = `${name.slice(0, i)}${ch}${name.slice(i)}`;
          const g: Record<string, unknown> = { servers: ['*'], [field]: [bad] };
          const text = yaml({ version: 1, roles: { r: { grants: [g] } } });
          expect(() => parsePolicy(text), `${field}: ${JSON.stringify(bad)}`).toThrow(
            /can never match|except|whitespace|comma|uppercase/,
          );
        },
      ),
      { numRuns: 3000 },
    );
    for (const bad of [
      '@(!(run_query))',
      '+(!(list_schemas))',
      'get_revenue_by_month\u200b',
      '\uff47et_file_info',
    ])
      expect(() =>
        parsePolicy(yaml({ version: 1, roles: { r: { grants: [{ servers: ['*'], except: [bad] }] } } })),
      ).toThrow();
  });

  it('keeps working globs, brace lists included', () => {
    const text = yaml({
      version: 1,
      roles: {
        r: {
          grants: [
            { servers: ['data*'], tools: ['{run_query,list_schemas}', 'get_*'], except: ['*_dashboard'] },
          ],
        },
      },
    });
    expect(() => parsePolicy(text)).not.toThrow();
  });

  it('fleet policy check warns, by role and grant, about names matching no server or tool; exit 1 only with --strict', async () => {
    // Every tool name with one letter dropped or doubled that names no tool: a typo.
    const all = new Set(servers.flatMap((s) => s.tools.map((t) => t.name)));
    const typos = [...all]
      .flatMap((t) => [t.slice(0, -1), `${t}s`, t.replace(/_/, '')])
      .filter((t) => t.length > 1 && !all.has(t) && /^[a-z][a-z0-9_]*$/.test(t));
    const server = servers[0] as Server;
    const file = writeTemp(
      yaml({
        version: 1,
        roles: {
          r: {
            grants: [
              { servers: [server.name], tools: typos.slice(0, 5), approval: typos.slice(5, 10) },
              { servers: [`${server.name}z`], tools: ['*'] },
            ],
          },
        },
      }),
    );
    const check = await checkPolicyFile(file);
    expect(check.ok).toBe(true);
    const text = check.warnings.join('\n');
    for (const t of typos.slice(0, 5))
      expect(text).toContain(`roles.r.grants.0.tools: "${t}" matches no tool`);
    for (const t of typos.slice(5, 10))
      expect(text).toContain(`roles.r.grants.0.approval: "${t}" matches no tool`);
    expect(text).toContain(`roles.r.grants.1.servers: "${server.name}z" matches no server`);
    expect(await policyCommand(['check', file, '--allow-gaps'])).toBe(0);
    expect(await policyCommand(['check', file, '--allow-gaps', '--strict'])).toBe(1);
  });
});

describe('F4: fleet policy check says which environment built the tool lists', () => {
  it('prints each environment-dependent tool source, and loads --env-file', async () => {
    const file = writeTemp(
      yaml({
        version: 1,
        roles: { r: { grants: [{ servers: ['database'], constraints: { 'database/churn_by_seat': '*' } }] } },
      }),
    );
    const saved = process.env.SAVED_QUERIES_FILE;
    delete process.env.SAVED_QUERIES_FILE;
    try {
      const before = await checkPolicyFile(file);
      expect(before.messages).toContain('database: saved queries from SAVED_QUERIES_FILE=<unset>');
      expect(before.warnings.join('\n')).toContain('unknown tool database/churn_by_seat');

      const queries = writeTemp(
        yaml({
          queries: {
            churn_by_seat: {
              title: 'Churn by seat',
              description: 'Churned subscriptions per seat count, one row per seat bucket.',
              statement: 'SELECT 1 AS seats',
            },
          },
        }),
      );
      const env = writeTemp(`SAVED_QUERIES_FILE=${queries}\n`, 'env');
      const out: string[] = [];
      const write = process.stdout.write.bind(process.stdout);
      process.stdout.write = ((chunk: string) => {
        out.push(String(chunk));
        return true;
      }) as typeof process.stdout.write;
      let code: number;
      try {
        code = await policyCommand(['check', file, '--env-file', env, '--allow-gaps', '--strict']);
      } finally {
        process.stdout.write = write;
      }
      expect(out.join('')).toContain(`database: saved queries from SAVED_QUERIES_FILE=${queries}`);
      expect(out.join('')).not.toContain('unknown tool database/churn_by_seat');
      expect(code).toBe(0);
    } finally {
      if (saved === undefined) delete process.env.SAVED_QUERIES_FILE;
      else process.env.SAVED_QUERIES_FILE = saved;
    }
  });
});

describe('F5: a document built in code is validated like a file', () => {
  it('PolicyStore(opts, initial) and explain refuse exactly what a server refuses when loading the file', () => {
    let refused = 0;
    for (const s of servers) {
      const registry = new ToolRegistry(s.tools);
      for (const dim of s.dimensions) {
        // Wrongly shaped values: a bare string where the dimension wants an object, a list, a number.
        for (const value of ['docs/**', ['docs/**'], 7, { unknown_field: ['x'] }]) {
          const doc = {
            version: 1,
            roles: { r: { grants: [{ servers: ['*'], constraints: { [`${s.name}.${dim.name}`]: value } }] } },
          };
          const parsedFile = () => parsePolicy(yaml(doc), s.name, registry);
          const store = () =>
            new PolicyStore(
              { server: s.name, registry, logger: quiet },
              structuredClone(doc) as unknown as PolicyDocument,
            );
          const explain = () =>
            explainPolicy(policySchema.parse(structuredClone(doc)), 'r', [{ name: s.name, tools: s.tools }]);
          let fileRefusal: string | undefined;
          try {
            parsedFile();
          } catch (err) {
            fileRefusal = (err as Error).message;
          }
          if (fileRefusal !== undefined) {
            refused++;
            expect(store, `${s.name}.${dim.name} = ${JSON.stringify(value)}`).toThrow(fileRefusal);
            expect(explain).toThrow(fileRefusal);
          } else {
            expect(store).not.toThrow();
            expect(explain).not.toThrow();
          }
        }
      }
    }
    expect(refused).toBeGreaterThan(3);
  });

  it('F7: fleet policy check fails on every file some server would refuse on reload', async () => {
    let checked = 0;
    for (const s of servers) {
      const registry = new ToolRegistry(s.tools);
      for (const dim of s.dimensions)
        for (const value of ['docs/**', 7, { unknown_field: ['x'] }]) {
          const text = yaml({
            version: 1,
            roles: { r: { grants: [{ servers: ['*'], constraints: { [`${s.name}.${dim.name}`]: value } }] } },
          });
          let refusal: string | undefined;
          try {
            parsePolicy(text, s.name, registry); // what the server runs on reload
          } catch (err) {
            refusal = (err as Error).message;
          }
          if (refusal === undefined) continue;
          const check = await checkPolicyFile(writeTemp(text));
          expect(check.ok).toBe(false);
          expect(check.messages).toContain(`${s.name}: ${refusal}`);
          checked++;
        }
    }
    expect(checked).toBeGreaterThan(3);
  });

  it('the values a store built in code hands to decide() are parsed values of the dimension', () => {
    for (const s of servers) {
      const registry = new ToolRegistry(s.tools);
      for (const dim of s.dimensions) {
        const tool = s.tools.find((t) => t.constraint?.dimension.name === dim.name) as AnyTool;
        const store = new PolicyStore({ server: s.name, registry, logger: quiet }, {
          version: 1,
          roles: { r: { grants: [{ servers: ['*'], constraints: { [`${s.name}.${dim.name}`]: '*' } }] } },
        } as unknown as PolicyDocument);
        const d = decide(store.current, { roles: ['r'] }, s.name, toolFacts(tool));
        expect(d.allowed).toBe(true);
        expect(store.version).not.toBe('');
      }
    }
  });
});
