// Summarises a V8 .cpuprofile (from `BENCH_PROFILE=fleet-governed pnpm bench`): where the server's
// CPU time went, by function (self time) and by module, so hot-path work can be aimed.
// Usage: node --import tsx bench/profile-summary.ts <file.cpuprofile> [top=30] [--time] [--skip=<s>]
// --skip drops the first seconds of the profile (start-up: module loading, migrations).
// Each sample counts once by default: on a busy machine the sampler thread is descheduled and a
// time-weighted count credits the whole gap to whatever frame it finds next. --time weights by time.
import { readFileSync } from 'node:fs';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: Node[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

const args = process.argv.slice(2);
const byTime = args.includes('--time');
const skipUs = Number(args.find((a) => a.startsWith('--skip='))?.slice(7) ?? 0) * 1e6;
const [file, topArg] = args.filter((a) => !a.startsWith('--'));
if (!file) {
  process.stderr.write('usage: profile-summary <file.cpuprofile> [top]\n');
  process.exit(2);
}
const top = Number(topArg ?? 30);
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

const self = new Map<number, number>();
let elapsed = 0;
profile.samples.forEach((id, i) => {
  elapsed += profile.timeDeltas[i] ?? 0;
  if (elapsed < skipUs) return;
  self.set(id, (self.get(id) ?? 0) + (byTime ? (profile.timeDeltas[i] ?? 0) : 1));
});
const total = [...self.values()].reduce((a, b) => a + b, 0);

function moduleOf(url: string): string {
  if (!url) return '(native/vm)';
  const m = /node_modules\/(?:\.pnpm\/[^/]+\/node_modules\/)?((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (m) return m[1]!;
  if (url.startsWith('node:')) return url;
  const src = /\/(packages|servers|bench)\/(.+)$/.exec(url);
  return src ? `${src[1]}/${src[2]}` : url;
}
const label = (n: Node) =>
  `${n.callFrame.functionName || '(anonymous)'} ${moduleOf(n.callFrame.url)}:${n.callFrame.lineNumber + 1}`;

const fnSelf = new Map<string, number>();
const modSelf = new Map<string, number>();
const fnTotal = new Map<string, number>();
for (const [id, t] of self) {
  const n = byId.get(id)!;
  fnSelf.set(label(n), (fnSelf.get(label(n)) ?? 0) + t);
  modSelf.set(moduleOf(n.callFrame.url), (modSelf.get(moduleOf(n.callFrame.url)) ?? 0) + t);
  // inclusive time: credit every distinct frame on the stack once
  const seen = new Set<string>();
  for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
    const l = label(byId.get(cur)!);
    if (seen.has(l)) continue;
    seen.add(l);
    fnTotal.set(l, (fnTotal.get(l) ?? 0) + t);
  }
}

const pct = (t: number) => `${((t / total) * 100).toFixed(1).padStart(5)} %`;
const print = (title: string, m: Map<string, number>, n: number) => {
  process.stdout.write(`\n${title}\n`);
  for (const [k, t] of [...m].sort((a, b) => b[1] - a[1]).slice(0, n))
    process.stdout.write(`${pct(t)}  ${k}\n`);
};
process.stdout.write(`profile ${file}: ${byTime ? `${(total / 1e6).toFixed(2)} s` : `${total} samples`}\n`);
print('self time by module', modSelf, top);
print('self time by function', fnSelf, top);
print('inclusive time by function', fnTotal, top);
