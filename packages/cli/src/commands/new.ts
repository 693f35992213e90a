// `fleet new server <name> [--port N] [--description text]`: a new server package that is green on
// `pnpm typecheck` and `pnpm test` as generated — manifest, definition, configuration, one
// constraint dimension, one example read tool with its test — plus its Helm chart (through
// scripts/helm-charts.mjs), its section of the umbrella chart, a stanza in the example policy and
// a docs page. A name from scripts/planned-servers.json takes its planned port, secrets and egress.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { manifestSchema } from '@mcp-fleet/core/internal';
import { isMap, isSeq, parseDocument } from 'yaml';
import { discoverServers, LOCAL_ISSUER_PORT, ROOT } from '../layout.js';

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

/** Generates servers/<name> and its chart, policy stanza and docs page; returns the files written. */
export function newServer(o: NewServerOptions): string[] {
  const root = o.root ?? ROOT;
  const log = o.log ?? (() => {});
  const name = o.name;
  if (!manifestSchema.shape.name.safeParse(name).success || RESERVED.has(name))
    throw new Error(
      `invalid server name "${name}": lowercase letters and digits, words joined by "-" (e.g. "billing" or "vendor-apis"), not ${[...RESERVED].join(', ')}`,
    );
  const existing = discoverServers(root);
  const plannedFile = join(root, 'scripts', 'planned-servers.json');
  const plannedDoc = existsSync(plannedFile)
    ? (JSON.parse(readFileSync(plannedFile, 'utf8')) as { servers: Planned[] })
    : undefined;
  const planned = plannedDoc?.servers.find((p) => p.name === name);
  if (existing.some((s) => s.name === name) || existsSync(join(root, 'servers', name)))
    throw new Error(`server "${name}" already exists (servers/${name})`);
  const taken = new Map<number, string>([[LOCAL_ISSUER_PORT, 'the dev token issuer']]);
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

  const files = serverFiles(name, port, description, planned);
  const written: string[] = [];
  for (const [rel, content] of Object.entries(files)) {
    const abs = join(root, 'servers', name, rel);
    mkdirSync(dirname(abs), { recursive: true });
    writeFileSync(abs, content);
    written.push(relative(root, abs));
  }
  const docs = join(root, 'docs', `${name}.md`);
  if (!existsSync(docs)) {
    mkdirSync(dirname(docs), { recursive: true });
    writeFileSync(docs, docsPage(name, port, description));
    written.push(relative(root, docs));
  }
  if (planned && plannedDoc) {
    // The manifest is now the one place this server's name and port are written.
    plannedDoc.servers = plannedDoc.servers.filter((p) => p !== planned);
    writeFileSync(plannedFile, `${JSON.stringify(plannedDoc, null, 2)}\n`);
    written.push(relative(root, plannedFile));
  }
  const policyFile = join(root, 'deploy', 'policies', 'example.yaml');
  if (addPolicyStanza(policyFile, name)) {
    formatLikeRepo(root, policyFile);
    written.push('deploy/policies/example.yaml');
  }
  if (addUmbrellaSection(join(root, 'helm', 'mcp-fleet', 'values.yaml'), name))
    written.push('helm/mcp-fleet/values.yaml');
  const charts = spawnSync(process.execPath, [join(root, 'scripts', 'helm-charts.mjs')], {
    cwd: root,
    encoding: 'utf8',
  });
  if (charts.status !== 0)
    throw new Error(`scripts/helm-charts.mjs failed: ${charts.stderr || charts.stdout}`);
  log(charts.stdout.trim());
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
 * Adds `<name>.categories` to every grant that covers all tools of all servers: read-only grants get
 * the example's narrow value (`public` only), others `"*"` (explicitly unconstrained). Every other
 * grant leaves the dimension unset, so the new tool stays closed to it.
 */
function addPolicyStanza(file: string, name: string): boolean {
  if (!existsSync(file)) return false;
  const doc = parseDocument(readFileSync(file, 'utf8'));
  const roles = doc.get('roles', true);
  if (!isMap(roles)) return false;
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
      const value = grant.access === 'read' ? doc.createNode({ categories: ['public'] }) : '*';
      if (typeof value !== 'string') value.flow = true;
      g.setIn(['constraints', `${name}.categories`], value);
      changed = true;
    }
  }
  if (changed) writeFileSync(file, doc.toString({ lineWidth: 0, flowCollectionPadding: false }));
  return changed;
}

/** Formats a file the way the repository's formatter (biome) does, when biome is installed. */
function formatLikeRepo(root: string, file: string): void {
  const biome = join(root, 'node_modules', '@biomejs', 'biome', 'bin', 'biome');
  if (existsSync(biome)) spawnSync(process.execPath, [biome, 'format', '--write', file], { cwd: root });
}

/** The server's section of the umbrella chart's values (its `enabled` switch). */
function addUmbrellaSection(file: string, name: string): boolean {
  if (!existsSync(file)) return false;
  const text = readFileSync(file, 'utf8');
  if (new RegExp(`^${name}:`, 'm').test(text)) return false;
  writeFileSync(file, `${text.trimEnd()}\n\n${name}:\n  # -- Install the ${name} server.\n  enabled: true\n`);
  return true;
}

const pascal = (name: string) => name.replace(/(^|-)([a-z0-9])/g, (_, __, c: string) => c.toUpperCase());

function serverFiles(name: string, port: number, description: string, planned: Planned | undefined) {
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
    mcpFleet: {
      name,
      port,
      description,
      secretEnv: planned?.secretEnv ?? {},
      egress: planned?.egress ?? {},
    },
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
  const written = newServer({
    name,
    ...(values.port !== undefined ? { port: Number(values.port) } : {}),
    ...(values.description ? { description: values.description } : {}),
    ...(values.root ? { root: values.root } : {}),
    install: !values['no-install'],
    log: (line) => process.stdout.write(`${line}\n`),
  });
  process.stdout.write(`created server ${name}:\n  ${written.join('\n  ')}
next: pnpm typecheck && pnpm test servers/${name}; add tools in servers/${name}/src/tools/ (one file each, one line in index.ts)
`);
  return 0;
}
