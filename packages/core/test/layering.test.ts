// Core's layering, kept by a test: every `import`/`export … from` in packages/core/src (type-only ones
// included: a type cycle is a design cycle) forms a graph that must have no cycle, and no module may
// import from a layer above its own. Order, lowest first (a layer imports only from itself and below):
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const LAYERS: readonly { name: string; paths: readonly string[] }[] = [
  // Shared call types, the error catalogue, canonical hashing, cancellation: imports nothing of ours.
  { name: 'kernel', paths: ['kernel/', 'errors.ts'] },
  { name: 'infra', paths: ['config.ts', 'observability/', 'redis/', 'db/'] },
  // What a server's connectors share about their upstreams: failures, breakers, readiness checks.
  { name: 'upstream', paths: ['upstream/'] },
  { name: 'identity', paths: ['identity/'] },
  { name: 'tools', paths: ['tools/'] },
  {
    name: 'policy',
    paths: [
      'policy/',
      'governance/resolve.ts',
      'governance/explain.ts',
      // The flow guard's pure parts: the policy section, labels, the decision, fingerprints.
      'flow/flow-policy.ts',
      'flow/labels.ts',
      'flow/engine.ts',
      'flow/fingerprints.ts',
    ],
  },
  // Stores know their own rows and keys, never a call or the pipeline.
  {
    name: 'stores',
    paths: [
      'approvals/',
      'audit/',
      'cache/',
      'idempotency/',
      'rate-limit/',
      'cancellation/',
      'suspensions/',
      'governance/stores.ts',
      // The flow guard's session taint store, anomaly baseline and metrics.
      'flow/taint-store.ts',
      'flow/anomaly.ts',
      'flow/anomaly-learner.ts',
      'flow/flow-metrics.ts',
      'flow/flow-stores.ts',
    ],
  },
  { name: 'pipeline', paths: ['pipeline/', 'flow/flow-step.ts'] },
  { name: 'transport', paths: ['protocol/', 'http/'] },
  { name: 'assembly', paths: ['server.ts', 'manifest.ts', 'index.ts', 'entry/'] },
];

/** Module specifiers imported or re-exported by a source text (static and dynamic). */
export function importsOf(source: string): string[] {
  const code = source
    .split('\n')
    .filter((l) => !/^\s*(\/\/|\*|\/\*)/.test(l))
    .join('\n');
  const specs: string[] = [];
  for (const re of [
    /\b(?:import|export)\s[^'";]*?\bfrom\s*['"]([^'"]+)['"]/g,
    /\bimport\s*['"]([^'"]+)['"]/g,
    /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g,
  ])
    for (const m of code.matchAll(re)) specs.push(m[1]!);
  return specs;
}

/** Strongly connected components with more than one module (or a self-import): Tarjan. */
export function cycles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string): void => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1 || (graph.get(v) ?? []).includes(v)) out.push(scc.sort());
    }
  };
  for (const v of graph.keys()) if (!idx.has(v)) visit(v);
  return out;
}

/** The layer index of a module path (relative to src), or -1 when no layer declares it. */
export function layerOf(file: string, layers = LAYERS): number {
  let best = -1;
  let bestLength = -1;
  layers.forEach((layer, i) => {
    for (const p of layer.paths) {
      const hit = p.endsWith('/') ? file.startsWith(p) : file === p;
      if (hit && p.length > bestLength) {
        best = i;
        bestLength = p.length;
      }
    }
  });
  return best;
}

/** Imports that go from a lower layer to a higher one, as "from -> to (layer -> layer)". */
export function upwardImports(graph: ReadonlyMap<string, readonly string[]>, layers = LAYERS): string[] {
  const out: string[] = [];
  for (const [from, tos] of graph) {
    const a = layerOf(from, layers);
    for (const to of tos) {
      const b = layerOf(to, layers);
      if (b > a) out.push(`${from} -> ${to} (${layers[a]?.name} imports ${layers[b]?.name})`);
    }
  }
  return out;
}

const SRC = join(dirname(fileURLToPath(import.meta.url)), '../src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sourceFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

/** packages/core/src as a graph: module (relative path) -> the modules of ours it imports. */
function coreGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of sourceFiles(SRC)) {
    const from = relative(SRC, file).split('\\').join('/');
    const deps = importsOf(readFileSync(file, 'utf8'))
      .filter((s) => s.startsWith('.'))
      .map((s) =>
        normalize(join(dirname(from), s))
          .split('\\')
          .join('/')
          .replace(/\.js$/, '.ts'),
      );
    graph.set(from, [...new Set(deps)]);
  }
  return graph;
}

describe('core layering', () => {
  const graph = coreGraph();

  it('reads the imports of core (a sanity floor: the parser finds the graph)', () => {
    expect(graph.size).toBeGreaterThan(40);
    expect(graph.get('pipeline/call-tool.ts')).toContain('kernel/call.ts');
  });

  it('declares a layer for every module of packages/core/src', () => {
    expect([...graph.keys()].filter((f) => layerOf(f) < 0)).toEqual([]);
  });

  it('has no import cycle, type-only imports included', () => {
    expect(cycles(graph)).toEqual([]);
  });

  it('has no import from a higher layer', () => {
    expect(upwardImports(graph)).toEqual([]);
  });
});

describe('the layering checks can fail', () => {
  it('finds every kind of import statement, type-only and re-exports too', () => {
    const src = [
      "import type { A } from './a.js';",
      "import {\n  B,\n  type C,\n} from '../b.js';",
      "export { D } from './d.js';",
      "export * from './e.js';",
      "import './f.js';",
      "const g = await import('./g.js');",
      "// import { no } from './comment.js';",
    ].join('\n');
    expect(importsOf(src)).toEqual(['./a.js', '../b.js', './d.js', './e.js', './f.js', './g.js']);
  });

  it('reports a cycle added to an acyclic graph, however long', () => {
    const g = new Map<string, string[]>([
      ['kernel/call.ts', []],
      ['stores/a.ts', ['kernel/call.ts']],
      ['pipeline/b.ts', ['stores/a.ts']],
      ['transport/c.ts', ['pipeline/b.ts']],
    ]);
    expect(cycles(g)).toEqual([]);
    g.set('kernel/call.ts', ['transport/c.ts']);
    expect(cycles(g)).toEqual([['kernel/call.ts', 'pipeline/b.ts', 'stores/a.ts', 'transport/c.ts']]);
    expect(cycles(new Map([['x.ts', ['x.ts']]]))).toEqual([['x.ts']]);
  });

  it('reports the import of the real graph that would close a cycle or go up a layer', () => {
    const g = coreGraph();
    g.set('kernel/call.ts', [...(g.get('kernel/call.ts') ?? []), 'pipeline/call-tool.ts']);
    expect(cycles(g).some((scc) => scc.includes('kernel/call.ts'))).toBe(true);
    expect(upwardImports(g)).toContain('kernel/call.ts -> pipeline/call-tool.ts (kernel imports pipeline)');
  });
});
