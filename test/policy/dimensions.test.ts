// Constraint dimensions fail closed. For every role of the example policy, every server of this
// checkout, every tool and every dimension a server declares (plus a brand-new tool declaring each
// dimension, read-only and mutating): a tool that declares a dimension is never unconstrained unless
// the grant says "*" for it. And the review's Appendix C probe (a new `sample_rows` read tool on the
// database server) comes back constrained under the example policy and denied under the old one.
import { readFileSync, writeFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import type { AnyTool, ConstraintDimension } from '@mcp-fleet/core';
import { createLogger } from '@mcp-fleet/core/internal';
import {
  decide,
  grantCovers,
  type PolicyDocument,
  PolicyStore,
  parsePolicy,
  policyGaps,
  ToolRegistry,
  toolFacts,
} from '@mcp-fleet/core/policy';
import { beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { checkPolicyFile } from '../../packages/cli/src/commands/policy.js';
import { discoverServers, EXAMPLE_POLICY, loadDefinition } from '../../packages/cli/src/layout.js';

const policyText = readFileSync(EXAMPLE_POLICY, 'utf8');
const roles = Object.keys(parsePolicy(policyText).roles);

interface Server {
  name: string;
  tools: readonly AnyTool[];
  dimensions: ConstraintDimension<unknown>[];
}
const servers: Server[] = [];

beforeAll(async () => {
  for (const pkg of discoverServers()) {
    const def = await loadDefinition(pkg);
    const tools = def.tools as readonly AnyTool[];
    servers.push({
      name: def.name,
      tools,
      dimensions: [...new ToolRegistry(tools).dimensions().values()],
    });
  }
});

/** A tool nobody wrote a policy line for, declaring an existing dimension. */
function probe(dimension: ConstraintDimension<unknown>, readOnly: boolean, name?: string): AnyTool {
  return {
    name: name ?? `probe_${readOnly ? 'read' : 'write'}_${dimension.name}`,
    title: 'Probe',
    description: 'A tool added after the policy was written, declaring an existing dimension.',
    input: z.object({}),
    governance: { readOnly },
    constraint: { dimension, check: () => null },
    handler: async () => ({ text: 'ran' }),
  };
}

/**
 * Whether some grant of `role` that covers `tool` says "*" for it (its tool-name key, or, without
 * one, its dimension key), read from the raw YAML-parsed policy, not from decide().
 */
function explicitlyOpen(doc: PolicyDocument, role: string, server: string, tool: AnyTool): boolean {
  const facts = toolFacts(tool);
  const dimKey = `${server}.${facts.dimension}`;
  return (doc.roles[role]?.grants ?? []).some((g) => {
    if (!grantCovers(g, server, facts)) return false;
    const own = `${server}/${tool.name}`;
    const value = Object.hasOwn(g.constraints, own) ? g.constraints[own] : g.constraints[dimKey];
    return value === '*';
  });
}

describe('every role × every server × every tool and dimension of the example policy', () => {
  it('finds the servers and their dimensions', () => {
    const keys = servers.flatMap((s) => s.dimensions.map((d) => `${s.name}.${d.name}`)).sort();
    expect(keys).toEqual(expect.arrayContaining(['database.schemas', 'files.read', 'files.write']));
  });

  it('leaves no gap in the example policy (fleet policy check is clean)', async () => {
    const check = await checkPolicyFile(EXAMPLE_POLICY);
    expect(check.ok).toBe(true);
    expect(check.gaps).toEqual([]);
  });

  it('never leaves a dimensioned tool unconstrained unless a covering grant says "*"', () => {
    const bad: string[] = [];
    let checked = 0;
    for (const server of servers) {
      for (const dimension of server.dimensions) {
        const tools = [
          ...server.tools.filter((t) => t.constraint?.dimension.name === dimension.name),
          probe(dimension, true),
          probe(dimension, false),
        ];
        const registry = new ToolRegistry([...server.tools, ...tools.slice(-2)]);
        const doc = parsePolicy(policyText, server.name, registry);
        for (const role of roles) {
          for (const tool of tools) {
            checked++;
            const d = decide(doc, { roles: [role] }, server.name, toolFacts(tool));
            if (d.allowed && d.constraints === null && !explicitlyOpen(doc, role, server.name, tool))
              bad.push(`${role} ${server.name}/${tool.name}`);
            if (d.allowed && d.constraints !== null) {
              // Every value is a parsed value of the dimension (never a string, never unparsed).
              for (const v of d.constraints) expect(dimension.schema.safeParse(v).success).toBe(true);
            }
          }
        }
      }
    }
    expect(checked).toBeGreaterThan(50);
    expect(bad).toEqual([]);
  });

  it('binds a brand-new tool declaring an existing dimension with the same values as its siblings', () => {
    for (const server of servers) {
      for (const dimension of server.dimensions) {
        const siblings = server.tools.filter((t) => t.constraint?.dimension.name === dimension.name);
        for (const readOnly of [true, false]) {
          const added = probe(dimension, readOnly);
          const sibling = siblings.find((t) => t.governance.readOnly === readOnly);
          if (!sibling) continue;
          const registry = new ToolRegistry([...server.tools, added]);
          const doc = parsePolicy(policyText, server.name, registry);
          expect(policyGaps(doc, server.name, registry)).toEqual([]);
          for (const role of roles) {
            // A sibling granted by a tool-name override is not comparable; the example has none.
            const a = decide(doc, { roles: [role] }, server.name, toolFacts(added));
            const b = decide(doc, { roles: [role] }, server.name, toolFacts(sibling));
            if (b.allowed && a.allowed) expect(a.constraints).toEqual(b.constraints);
          }
        }
      }
    }
  });
});

describe("the review's Appendix C probe: a new sample_rows read tool on the database server", () => {
  const schemasOf = () => {
    const db = servers.find((s) => s.name === 'database');
    const dimension = db?.dimensions.find((d) => d.name === 'schemas');
    if (!db || !dimension) throw new Error('the database server and its schemas dimension are expected');
    return { db, dimension };
  };

  it('is constrained to support’s schemas by the example policy, with no new policy line', () => {
    const { db, dimension } = schemasOf();
    const sampleRows = probe(dimension, true, 'sample_rows');
    const registry = new ToolRegistry([...db.tools, sampleRows]);
    const doc = parsePolicy(policyText, 'database', registry);
    const d = decide(doc, { roles: ['support'] }, 'database', toolFacts(sampleRows));
    expect(d).toMatchObject({ allowed: true, constraints: [{ schemas: ['sales', 'support', 'product'] }] });
    expect(decide(doc, { roles: ['support'] }, 'database', toolFacts(sampleRows)).constraints).toEqual(
      decide(
        doc,
        { roles: ['support'] },
        'database',
        toolFacts(db.tools.find((t) => t.name === 'run_query')!),
      ).constraints,
    );
  });

  it('is denied, not open, under the old per-tool-name policy, and the reason names the unset dimension', () => {
    const { db, dimension } = schemasOf();
    const sampleRows = probe(dimension, true, 'sample_rows');
    const registry = new ToolRegistry([...db.tools, sampleRows]);
    // The support grant as it was before dimensions: one line per tool name, none for the new tool.
    const old = parsePolicy(
      [
        'version: 1',
        'roles:',
        '  support:',
        '    grants:',
        '      - servers: ["*"]',
        '        access: read',
        '        constraints:',
        '          database/run_query: &s { schemas: [sales, support, product] }',
        '          database/list_schemas: *s',
      ].join('\n'),
      'database',
      registry,
    );
    const d = decide(old, { roles: ['support'] }, 'database', toolFacts(sampleRows));
    expect(d.allowed).toBe(false);
    expect(d.reason).toMatch(/database\.schemas unset/);
    // The tools that still have their own line keep working.
    expect(
      decide(
        old,
        { roles: ['support'] },
        'database',
        toolFacts(db.tools.find((t) => t.name === 'run_query')!),
      ),
    ).toMatchObject({ allowed: true, constraints: [{ schemas: ['sales', 'support', 'product'] }] });
    expect(policyGaps(old, 'database', registry).map((g) => g.tool)).toContain('sample_rows');
  });
});

describe('policy load', () => {
  const registryOf = (name: string) => {
    const s = servers.find((x) => x.name === name);
    if (!s) throw new Error(`server ${name} expected`);
    return new ToolRegistry(s.tools);
  };
  const grant = (constraints: string) =>
    `version: 1\nroles:\n  r:\n    grants:\n      - servers: ["*"]\n        access: read\n        constraints: ${constraints}\n`;

  it('parses each value once with its dimension schema and refuses a bad value', () => {
    const doc = parsePolicy(
      grant('{ files.write: { write: ["reports/**"] } }'),
      'files',
      registryOf('files'),
    );
    // The schema's default is applied at load: handlers get parsed values.
    expect(doc.roles.r?.grants[0]?.constraints['files.write']).toEqual({
      write: ['reports/**'],
      overwrite: false,
    });
    expect(() =>
      parsePolicy(grant('{ database.schemas: { schemas: "sales" } }'), 'database', registryOf('database')),
    ).toThrow(/constraints\.database\.schemas: schemas: .*a value of database\.schemas, or "\*"/);
  });

  it('refuses a dimension key naming this server but no dimension of it', () => {
    expect(() =>
      parsePolicy(grant('{ database.tables: { tables: [x] } }'), 'database', registryOf('database')),
    ).toThrow(/server database declares no constraint dimension "tables" \(it declares database\.schemas\)/);
    // Another server's dimension is that server's business.
    expect(() =>
      parsePolicy(grant('{ communication.channels: "*" }'), 'database', registryOf('database')),
    ).not.toThrow();
  });

  it('logs a warning for each gap when a server loads the policy', () => {
    const lines: string[] = [];
    const destination = new Writable({
      write(chunk, _enc, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const file = `${process.env.TMPDIR ?? '/tmp'}/gap-policy-${process.pid}.yaml`;
    writeFileSync(
      file,
      'version: 1\nroles:\n  reader:\n    grants:\n      - servers: ["*"]\n        access: read\n',
    );
    new PolicyStore({
      server: 'files',
      registry: registryOf('files'),
      logger: createLogger({ destination }),
      file,
    });
    const gaps = lines.map((l) => JSON.parse(l)).filter((l) => /policy gap/.test(l.msg));
    expect(gaps.map((g) => g.tool).sort()).toEqual([
      'get_file_info',
      'list_folder',
      'read_document',
      'search_documents',
    ]);
    expect(gaps[0]).toMatchObject({ role: 'reader', grant: 0, server: 'files', dimension: 'files.read' });
  });
});
