// `fleet new server <name> [--port N] [--description text]`: a new server package that is green on
// `pnpm typecheck` and `pnpm test` as generated — manifest, definition, configuration, one
// constraint dimension, one example read tool with its test — plus its Helm chart (through
// scripts/helm-charts.mjs), its section of the umbrella chart, a stanza in the example policy and
// a docs page. A name from scripts/planned-servers.json takes its planned port, secrets and egress.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { manifestSchema } from '@mcp-fleet/core/internal';
import { isMap, isSeq, parseDocument, visit } from 'yaml';
import { discoverServers, LOCAL_ISSUER_PORT, LOCAL_PG_PORT, ROOT } from '../layout.js';

/** Longest server name (core's manifest schema says the same): room for `<release>-<server>`. */
const MAX_SERVER_NAME = 40;

/** Names that are taken by something other than a server (charts, the CLI's own words). */
const RESERVED = new Set(['issuer', 'fleet', 'core', 'cli', 'testkit', 'mcp-fleet', 'mcp-fleet-lib', 'all']);
/** Where new servers' ports start when --port is not given (7400-7405 are the operator contract's). */
const FIRST_FREE_PORT = 7406;

interface Planned {
  name: string;
  port: number;
  description: string;
  secretEnv?: Record<string, unknown>;
  egress?: Record<string, unknown>;
}

/** What to generate. */
export interface NewServerOptions {
  name: string;
  port?: number;
  description?: string;
  /** Repository root to write into (default: this checkout). */
  root?: string;
  /** Run `pnpm install --offline` afterwards to link the package (default true). */
  install?: boolean;
  log?: (line: string) => void;
}

/** Top-level keys of the umbrella chart's values that are its own settings (global, ingress, ...), not servers. */
function umbrellaKeys(root: string, servers: readonly string[]): string[] {
  const file = join(root, 'helm', 'mcp-fleet', 'values.yaml');
  if (!existsSync(file)) return [];
  const values = parseDocument(readFileSync(file, 'utf8')).toJSON() as Record<string, unknown> | null;
  return Object.keys(values ?? {}).filter((k) => !servers.includes(k));
}

/** Ports the local fleet uses besides the servers'. */
const LOCAL_PORTS: [number, string][] = [
  [LOCAL_ISSUER_PORT, 'the dev token issuer'],
  [LOCAL_PG_PORT, "the local fleet's embedded PostgreSQL"],
  [7432, "the local fleet's embedded PostgreSQL"],
  [5432, 'PostgreSQL'],
  [6379, 'Redis'],
];

/**
 * Generates servers/<name> and its chart, policy stanza and docs page; returns the files written.
 * Every edit is computed and checked first; then they are written, and if anything fails (the
 * chart generator included) everything written is put back as it was.
 */
export function newServer(o: NewServerOptions): string[] {
  const root = o.root ?? ROOT;
  const log = o.log ?? (() => {});
  const name = o.name;
  const existing = discoverServers(root);
  const plannedFile = join(root, 'scripts', 'planned-servers.json');
  const plannedDoc = existsSync(plannedFile)
    ? (JSON.parse(readFileSync(plannedFile, 'utf8')) as { servers: Planned[] })
    : undefined;
  const reserved = new Set([
    ...RESERVED,
    ...umbrellaKeys(root, [
      ...existing.map((s) => s.name),
      ...(plannedDoc?.servers ?? []).map((p) => p.name),
    ]),
  ]);
  if (!manifestSchema.shape.name.safeParse(name).success || reserved.has(name))
    throw new Error(
      `invalid server name "${name}": lowercase letters and digits, words joined by "-" (e.g. "billing" or "vendor-apis"), at most ${MAX_SERVER_NAME} characters, not a reserved name (${[...reserved].join(', ')})`,
    );
  const planned = plannedDoc?.servers.find((p) => p.name === name);
  const serverDir = join(root, 'servers', name);
  // An ignored node_modules (left by pnpm or an interrupted run) is not a server.
  const leftovers = existsSync(serverDir) ? readdirSync(serverDir).filter((e) => e !== 'node_modules') : [];
  if (existing.some((s) => s.name === name) || leftovers.length > 0)
    throw new Error(`server "${name}" already exists (servers/${name})`);
  const taken = new Map<number, string>(LOCAL_PORTS);
  for (const s of existing) taken.set(s.manifest.port, `server ${s.name}`);
  for (const p of plannedDoc?.servers ?? [])
    if (p.name !== name) taken.set(p.port, `planned server ${p.name}`);
  let port = o.port ?? planned?.port;
  if (port === undefined) for (port = FIRST_FREE_PORT; taken.has(port); port++);
  if (!Number.isInteger(port) || port < 1024 || port > 65535)
    throw new Error(`invalid port ${o.port}: an integer from 1024 to 65535`);
  if (taken.has(port)) throw new Error(`port ${port} is taken by ${taken.get(port)}`);
  const description =
    o.description ??
    planned?.description ??
    `Example tools of the ${name} server (replace this description).`;
  const manifest = {
    name,
    port,
    description,
    secretEnv: planned?.secretEnv ?? {},
    egress: planned?.egress ?? {},
  };
  const checked = manifestSchema.safeParse(manifest);
  if (!checked.success)
    throw new Error(
      `invalid server manifest: ${checked.error.issues.map((i) => `mcpFleet.${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );

  // Every edit, computed before anything is written.
  const edits = new Map<string, string>();
  for (const [rel, content] of Object.entries(serverFiles(manifest, planned)))
    edits.set(join(serverDir, rel), content);
  const docs = join(root, 'docs', `${name}.md`);
  if (!existsSync(docs)) edits.set(docs, docsPage(name, port, description));
  if (planned && plannedDoc) {
    // The manifest is now the one place this server's name and port are written.
    const rest = { ...plannedDoc, servers: plannedDoc.servers.filter((p) => p !== planned) };
    edits.set(plannedFile, `${JSON.stringify(rest, null, 2)}\n`);
  }
  const policyFile = join(root, 'deploy', 'policies', 'example.yaml');
  const policy = withPolicyStanza(policyFile, name);
  if (policy !== undefined) edits.set(policyFile, formatLikeRepo(root, policyFile, policy));
  const umbrellaFile = join(root, 'helm', 'mcp-fleet', 'values.yaml');
  const umbrella = withUmbrellaSection(umbrellaFile, name);
  if (umbrella !== undefined) edits.set(umbrellaFile, umbrella);

  const undo = new Undo(root);
  const written: string[] = [];
  try {
    for (const [abs, content] of edits) {
      undo.write(abs, content);
      written.push(relative(root, abs));
    }
    const charts = spawnSync(process.execPath, [join(root, 'scripts', 'helm-charts.mjs')], {
      cwd: root,
      encoding: 'utf8',
    });
    if (charts.status !== 0)
      throw new Error(`scripts/helm-charts.mjs failed: ${charts.stderr || charts.stdout}`);
    log(charts.stdout.trim());
  } catch (err) {
    undo.rollback();
    throw err;
  }
  written.push(`helm/${name}/`);
  if (o.install !== false) {
    // Links the package into the workspace (and records it in pnpm-lock.yaml): from the local store
    // when it has everything, else from the registry.
    const pnpm = spawnSync('pnpm', ['--version']).status === 0 ? ['pnpm'] : ['npx', '-y', 'pnpm@10.33.0'];
    const install = (flag: string) =>
      spawnSync(pnpm[0]!, [...pnpm.slice(1), 'install', flag], { cwd: root, stdio: 'inherit' }).status === 0;
    if (!install('--offline') && !install('--prefer-offline'))
      log('pnpm install failed: run `pnpm install` to link the new package');
  }
  return written;
}

/**
 * What `fleet new server` wrote, to put back on failure: each file's previous content (or its
 * absence), every file under helm/ (the chart generator writes there), and the directories made.
 */
class Undo {
  readonly #files = new Map<string, Buffer | undefined>();
  readonly #dirs: string[] = [];
  readonly #helm: string;
  readonly #helmBefore: Map<string, Buffer>;

  constructor(root: string) {
    this.#helm = join(root, 'helm');
    this.#helmBefore = Undo.#tree(this.#helm);
  }

  static #tree(dir: string, out = new Map<string, Buffer>()): Map<string, Buffer> {
    if (!existsSync(dir)) return out;
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) Undo.#tree(p, out);
      else if (e.isFile()) out.set(p, readFileSync(p));
    }
    return out;
  }

  #mkdirs(dir: string): void {
    if (existsSync(dir)) return;
    this.#mkdirs(dirname(dir));
    mkdirSync(dir);
    this.#dirs.push(dir);
  }

  write(file: string, content: string): void {
    if (!this.#files.has(file)) this.#files.set(file, existsSync(file) ? readFileSync(file) : undefined);
    this.#mkdirs(dirname(file));
    writeFileSync(file, content);
  }

  rollback(): void {
    for (const [file, before] of this.#files) {
      if (before === undefined) rmSync(file, { force: true });
      else writeFileSync(file, before);
    }
    const now = Undo.#tree(this.#helm);
    for (const file of now.keys()) if (!this.#helmBefore.has(file)) rmSync(file, { force: true });
    for (const [file, before] of this.#helmBefore)
      if (!now.get(file)?.equals(before)) {
        mkdirSync(dirname(file), { recursive: true });
        writeFileSync(file, before);
      }
    for (const dir of Undo.#emptyDirs(this.#helm)) rmSync(dir, { recursive: true, force: true });
    for (const dir of [...this.#dirs].reverse())
      if (existsSync(dir) && readdirSync(dir).length === 0) rmSync(dir, { recursive: true });
  }

  /** Directories under `dir` holding no file, deepest first. */
  static #emptyDirs(dir: string): string[] {
    const out: string[] = [];
    const walk = (d: string): boolean => {
      let empty = true;
      for (const e of readdirSync(d, { withFileTypes: true })) {
        if (e.isDirectory() ? !walk(join(d, e.name)) : true) empty = false;
      }
      if (empty && d !== dir) out.push(d);
      return empty;
    };
    if (existsSync(dir)) walk(dir);
    return out;
  }
}

/**
 * The example policy with `<name>.categories` added to every grant that covers all tools of all
 * servers: read-only grants get the example's narrow value (`public` only), others `"*"`
 * (explicitly unconstrained). Every other grant leaves the dimension unset, so the new tool stays
 * closed to it. Undefined when there is nothing to change; throws when the policy cannot be edited
 * safely (e.g. a grant's constraints shared through a YAML alias).
 */
function withPolicyStanza(file: string, name: string): string | undefined {
  if (!existsSync(file)) return undefined;
  const doc = parseDocument(readFileSync(file, 'utf8'));
  if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors[0]!.message}`);
  // An edit through an anchor changes every alias of it (a grant the stanza was not meant for):
  // such a policy is edited by hand.
  let shared = false;
  visit(doc, {
    Alias: () => {
      shared = true;
      return visit.BREAK;
    },
    Node: (_, node) => {
      if (node.anchor) {
        shared = true;
        return visit.BREAK;
      }
      return undefined;
    },
  });
  if (shared)
    throw new Error(
      `${file} uses YAML anchors or aliases: add ${name}.categories to its grants by hand (see docs/writing-a-server.md), then run this again`,
    );
  const roles = doc.get('roles', true);
  if (!isMap(roles)) return undefined;
  let changed = false;
  for (const role of roles.items) {
    const grants = isMap(role.value) ? role.value.get('grants', true) : undefined;
    if (!isSeq(grants)) continue;
    for (const g of grants.items) {
      if (!isMap(g)) continue;
      const grant = g.toJSON() as { servers?: string[]; tools?: string[]; access?: string };
      const everyServer = grant.servers?.includes('*') || grant.servers?.includes(name);
      const everyTool = grant.tools === undefined || grant.tools.includes('*');
      if (!everyServer || !everyTool) continue;
      const constraints = g.get('constraints', true);
      if (constraints !== undefined && !isMap(constraints))
        throw new Error(
          `${file}: a grant's constraints are not a plain mapping (a YAML alias?): add ${name}.categories to it by hand, then run this again`,
        );
      const value = grant.access === 'read' ? doc.createNode({ categories: ['public'] }) : '*';
      if (typeof value !== 'string') value.flow = true;
      g.setIn(['constraints', `${name}.categories`], value);
      changed = true;
    }
  }
  if (!changed) return undefined;
  const text = doc.toString({ lineWidth: 0, flowCollectionPadding: false });
  if (parseDocument(text).errors.length > 0) throw new Error(`${file}: the edited policy does not parse`);
  return text;
}

/** `text` formatted the way the repository's formatter (biome) does, when biome is installed. */
function formatLikeRepo(root: string, file: string, text: string): string {
  const biome = join(root, 'node_modules', '@biomejs', 'biome', 'bin', 'biome');
  if (!existsSync(biome)) return text;
  const r = spawnSync(process.execPath, [biome, 'format', `--stdin-file-path=${file}`], {
    cwd: root,
    input: text,
    encoding: 'utf8',
  });
  return r.status === 0 && r.stdout ? r.stdout : text;
}

/** The umbrella chart's values with the server's section (its `enabled` switch); undefined if it has one. */
function withUmbrellaSection(file: string, name: string): string | undefined {
  if (!existsSync(file)) return undefined;
  const text = readFileSync(file, 'utf8');
  if (new RegExp(`^${name}:`, 'm').test(text)) return undefined;
  return `${text.trimEnd()}\n\n${name}:\n  # -- Install the ${name} server.\n  enabled: true\n`;
}

const pascal = (name: string) => name.replace(/(^|-)([a-z0-9])/g, (_, __, c: string) => c.toUpperCase());

function serverFiles(
  manifest: { name: string; port: number; description: string; secretEnv: unknown; egress: unknown },
  _planned: Planned | undefined,
) {
  const { name, description } = manifest;
  const Name = pascal(name);
  const ENV = name.toUpperCase().replace(/-/g, '_');
  const pkg = {
    name: `@mcp-fleet/server-${name}`,
    version: '0.1.0',
    private: true,
    type: 'module',
    description: `The ${name} server: ${description}`,
    exports: {
      '.': {
        'mcp-fleet-source': './src/definition.ts',
        types: './src/definition.ts',
        default: './dist/definition.js',
      },
    },
    scripts: { build: 'tsc -p tsconfig.build.json' },
    mcpFleet: manifest,
    dependencies: { '@mcp-fleet/core': 'workspace:*', zod: 'catalog:' },
    // vitest comes from the workspace root, as for the database server.
    devDependencies: { '@mcp-fleet/testkit': 'workspace:*' },
  };
  return {
    'package.json': `${JSON.stringify(pkg, null, 2)}\n`,
    'tsconfig.build.json': `{
  "extends": "../../tsconfig.base.json",
  "compilerOptions": { "outDir": "dist", "rootDir": "src", "customConditions": [] },
  "include": ["src"]
}
`,
    'src/main.ts': `// Entry point: \`node main.js\` serves the ${name} server; \`node main.js migrate\` migrates and exits.
import { runServerMain } from '@mcp-fleet/core';
import definition from './definition.js';

await runServerMain(definition);
`,
    'src/definition.ts': `// The ${name} server, declared: configuration, connectors and tools. Core does authentication,
// policy, validation, rate limits, caching, timeouts, audit and metrics. Name, port and description
// are in package.json#mcpFleet.
import { defineServer } from '@mcp-fleet/core';
import { loadConfig } from './config.js';
import { type Connectors, ExampleCatalog } from './connectors.js';
import { tools } from './tools/index.js';

export default defineServer(import.meta.url, {
  instructions: 'Example tools of the ${name} server. Call list_items with a category to see its items.',
  config: loadConfig,
  tools,
  connect: ({ config }): Connectors => ({ catalog: new ExampleCatalog(), config }),
});
`,
    'src/config.ts': `// The ${name} server's own environment variables, parsed once at start-up.
import { type Env, env, parseEnv } from '@mcp-fleet/core';

/** Environment of the ${name} server (besides core's); \`${ENV}_MAX_ITEMS\` -> \`maxItems\`. */
export const configSchema = env.config('${ENV}_', {
  /** Most items one list_items call returns. */
  ${ENV}_MAX_ITEMS: env.int(50, 1, 500),
});

/** The parsed configuration. */
export type ${Name}Config = ReturnType<typeof loadConfig>;

/** Parses the environment; throws FLEET_ERR_CONFIG naming the bad variables. */
export const loadConfig = (vars: Env) => parseEnv(configSchema, vars, '${name}');
`,
    'src/connectors.ts': `// What the tools reach. The example catalog stands in for the real system: replace it with that
// system's client, opened in definition.ts's connect.
import type { ${Name}Config } from './config.js';

/** One item of the example catalog. */
export interface Item {
  id: string;
  title: string;
  category: string;
}

/** An in-memory catalog (the example upstream). */
export class ExampleCatalog {
  readonly #items: readonly Item[] = [
    { id: 'item-1', title: 'Welcome guide', category: 'public' },
    { id: 'item-2', title: 'Price list', category: 'public' },
    { id: 'item-3', title: 'Quarterly plan', category: 'internal' },
  ];

  /** The items of one category, at most \`limit\`. */
  async list(category: string, limit: number, signal: AbortSignal): Promise<Item[]> {
    signal.throwIfAborted();
    return this.#items.filter((i) => i.category === category).slice(0, limit);
  }
}

/** What every tool of this server receives as \`ctx.connectors\`. */
export interface Connectors {
  catalog: ExampleCatalog;
  config: ${Name}Config;
}
`,
    'src/dimensions.ts': `// The ${name} server's constraint dimensions. Policy grants give values keyed "${name}.<dimension>";
// a grant that covers a tool declaring a dimension but gives no value for it does not cover the tool.
import { defineConstraint } from '@mcp-fleet/core';
import { z } from 'zod';

/** \`${name}.categories\`: which item categories a grant may read, e.g. { categories: [public] }. */
export const categories = defineConstraint({
  name: 'categories',
  description: 'Item categories the caller may read, e.g. { categories: [public] }.',
  schema: z.object({ categories: z.array(z.string().min(1)).min(1) }),
});
`,
    'src/tools/tool.ts': `// Declares a tool of this server: \`ctx\` (connectors, identity, constraints, signal) is typed in
// its handler and cacheKey, with no annotations.
import { toolsFor } from '@mcp-fleet/core';
import type { Connectors } from '../connectors.js';

export const tool = toolsFor<Connectors>();
`,
    'src/tools/list-items.ts': `// list_items: the example read tool — constrained by the categories dimension and cached.
import { z } from 'zod';
import { categories } from '../dimensions.js';
import { tool } from './tool.js';

const item = z.object({ id: z.string(), title: z.string(), category: z.string() });

export const listItems = tool({
  name: 'list_items',
  title: 'List items',
  description: 'Lists the items (id, title) of one category, e.g. "public".',
  input: z.object({ category: z.string().min(1).describe('The category to list, e.g. "public".') }),
  output: z.object({ items: z.array(item) }),
  governance: { readOnly: true, cacheTtlSeconds: 30 },
  constraint: {
    dimension: categories,
    check: (args, value) =>
      value.categories.includes(args.category)
        ? null
        : \`category "\${args.category}" is not one you may read; yours: \${value.categories.join(', ')}\`,
  },
  handler: async (args, ctx) => {
    const { catalog, config } = ctx.connectors;
    return { data: { items: await catalog.list(args.category, config.maxItems, ctx.signal) } };
  },
});
`,
    'src/tools/index.ts': `// The ${name} server's tools, in the order tools/list shows them: one file per tool, one line here.
import { listItems } from './list-items.js';

export const tools = [listItems];
`,
    'test/list-items.test.ts': `// list_items through a real MCP client against the server booted with a dev issuer and the
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
    // The policy \`pnpm start\` loads (its grants and constraints, not its rate limits).
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
`,
  };
}

function docsPage(name: string, port: number, description: string): string {
  return `# The \`${name}\` server

${description} Local port **${port}** (from \`servers/${name}/package.json#mcpFleet\`), MCP endpoint
\`/mcp\`, plus \`/healthz\`, \`/readyz\` and \`/metrics\`.

## Tools

| tool         | kind | cache | what it does                                   |
| ------------ | ---- | ----- | ---------------------------------------------- |
| \`list_items\` | read | 30 s  | the items (id, title) of one category (example) |

## Policy

Constraint dimension \`${name}.categories\`: \`{ categories: [<category>, ...] }\` or \`"*"\`. A grant
that covers a tool of this server without a value for it does not cover the tool.

## Configuration

| variable | default | meaning |
| -------- | ------- | ------- |
| \`${name.toUpperCase().replace(/-/g, '_')}_MAX_ITEMS\` | 50 | most items one \`list_items\` call returns |
`;
}

/** `fleet new server <name> [--port N] [--description text] [--no-install]` */
export async function newCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      port: { type: 'string' },
      description: { type: 'string' },
      root: { type: 'string' },
      'no-install': { type: 'boolean', default: false },
    },
  });
  const [kind, name] = positionals;
  if (kind !== 'server' || !name || positionals.length > 2) {
    process.stderr.write('usage: fleet new server <name> [--port N] [--description text] [--no-install]\n');
    return 2;
  }
  // Decimal digits only: Number() would also take "0x1d4c", "1e4" or " 7406".
  if (values.port !== undefined && !/^[0-9]{1,5}$/.test(values.port))
    throw new Error(`invalid --port "${values.port}": a decimal integer from 1024 to 65535`);
  const written = newServer({
    name,
    ...(values.port !== undefined ? { port: Number(values.port) } : {}),
    ...(values.description !== undefined ? { description: values.description } : {}),
    ...(values.root ? { root: values.root } : {}),
    install: !values['no-install'],
    log: (line) => process.stdout.write(`${line}\n`),
  });
  process.stdout.write(`created server ${name}:\n  ${written.join('\n  ')}
next: pnpm typecheck && pnpm test servers/${name}; add tools in servers/${name}/src/tools/ (one file each, one line in index.ts)
`);
  return 0;
}
