// `pnpm flow-eval`, the command a user runs, as a child process (issue 17): with the example policy,
// the flow rules and copy detection hold none of the generated normal sessions and catch every injected
// exfiltration session; the anomaly detector's figures are printed and agree with each other (its
// detections at the policy's threshold are the threshold table's row; rates only fall as the threshold
// rises) — computed from the JSON the command writes, not numbers written here. Same seed, same figures.
// The generator's own promises are checked in process: every generated call is one the fleet admits
// (real tool, real input schema, the role's grants), and a call the fleet would refuse is reported.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AnyTool } from '@mcp-fleet/core';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { discoverServers, EXAMPLE_POLICY, loadDefinition, ROOT } from '../../packages/cli/src/layout.js';
import type { Block, Figures } from './flow-eval.js';
import { CLASSES, generate } from './generator.js';
import { admission, fleetOf } from './runner.js';

interface EvalRun {
  code: number | null;
  out: string;
  figures: Figures;
}

function flowEval(args: string[]): Promise<EvalRun> {
  const json = join(mkdtempSync(join(tmpdir(), 'flow-eval-test-')), 'figures.json');
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [
        '--conditions=mcp-fleet-source',
        '--import',
        'tsx',
        'test/flow-eval/flow-eval.ts',
        ...args,
        '--json',
        json,
      ],
      { cwd: ROOT, maxBuffer: 64 * 1024 * 1024, timeout: 170_000 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : null) : 0;
        const out = `${stdout}${stderr}`;
        try {
          resolve({ code, out, figures: JSON.parse(readFileSync(json, 'utf8')) as Figures });
        } catch {
          reject(new Error(`flow-eval wrote no figures (exit ${code}):\n${out}`));
        }
      },
    );
  });
}

const pctOf = (r: { n: number; of: number; rate: number }) =>
  `${String(r.n).padStart(4)}/${String(r.of).padEnd(4)} ${(r.rate * 100).toFixed(1).padStart(5)}%`;

describe('pnpm flow-eval', () => {
  const first = flowEval(['--seed', '7', '--sessions', '300', '--training', '1500']);
  first.catch(() => {});
  // One after the other (two cores shared by several test files).
  const again = () =>
    first
      .catch(() => undefined)
      .then(() => flowEval(['--seed', '7', '--sessions', '300', '--training', '1500']));

  it('runs on the example policy and prints every detector, class and role', async () => {
    const { code, out, figures } = await first;
    expect(code, out).toBe(0);
    expect(figures.policy).toBe('deploy/policies/example.yaml');
    expect(figures.sessions).toBe(300);
    for (const heading of ['DETECTION', 'FALSE HOLDS', 'BORDERLINE', 'ANOMALY SCORES by threshold'])
      expect(out).toContain(heading);
    for (const cls of Object.keys(CLASSES)) {
      expect(figures.classes[cls]?.sessions, cls).toBeGreaterThan(0);
      expect(out).toContain(cls);
    }
    for (const role of ['support', 'analyst', 'admin'])
      expect(figures.normal[role]?.sessions).toBeGreaterThan(0);
  });

  it('flow rules and copy detection hold none of the normal sessions', async () => {
    const { out, figures } = await first;
    for (const [role, x] of Object.entries(figures.normal)) {
      expect(x.rule.n, `${role}: normal sessions held by a flow rule\n${out}`).toBe(0);
      expect(x.copy.n, `${role}: normal sessions held by copy detection\n${out}`).toBe(0);
    }
  });

  it('flow rules and copy detection catch every injected exfiltration session, each class by the detector it is built for', async () => {
    const { out, figures } = await first;
    const all = (b: Block | undefined, d: 'rule' | 'copy' | 'guard') => {
      expect(b, out).toBeDefined();
      expect(b?.[d].n, `${d}\n${out}`).toBe(b?.sessions);
    };
    for (const c of Object.values(figures.classes)) if (c.kind === 'exfiltration') all(c, 'guard');
    all(figures.kinds.exfiltration, 'guard');
    // Each class by the detector built for it. Rows or a paraphrase sent outside: the rules (copy
    // detection also finds pastes of minMatches values or more; one customer's name and email are
    // fewer than the example's 3). Rows pasted inside: copy detection (no rule names an internal
    // send). An injected ticket, then a destructive call: the rules. (Then a directory change —
    // disable_user, set_user_groups — is misuse no rule holds: mutating and audited, issue 15.)
    all(figures.classes['exfil-external-rows'], 'rule');
    all(figures.classes['exfil-internal-paste'], 'copy');
    all(figures.classes['exfil-external-summary'], 'rule');
    all(figures.classes['injection-destructive'], 'rule');
  });

  it("prints the anomaly detector's figures, consistent with one another", async () => {
    const { out, figures } = await first;
    const t = figures.thresholds;
    expect(t.length).toBeGreaterThan(3);
    // Rates only fall as the threshold rises.
    for (let i = 1; i < t.length; i++)
      for (const k of ['exfiltration', 'misuse', 'normalHeld'] as const)
        expect((t[i]?.[k].n ?? 0) <= (t[i - 1]?.[k].n ?? 0), `${k} at ${t[i]?.bits}`).toBe(true);
    const hold = figures.anomaly.holdAbove;
    const sum = (kind: string) =>
      Object.values(figures.classes)
        .filter((c) => c.kind === kind)
        .reduce((n, c) => n + c.anomaly.n, 0);
    if (hold === null) {
      // Scored only: the anomaly detector holds nothing.
      for (const c of Object.values(figures.classes)) expect(c.anomaly.n).toBe(0);
      expect(figures.normal.all?.anomaly.n).toBe(0);
      expect(out).toContain('the policy sets no flow.anomaly.holdAbove');
    } else {
      // What the guard held for its score (checkFlow's findings) is the table's row at the policy's threshold.
      const row = t.find((x) => x.policy);
      expect(row?.bits).toBe(hold);
      expect(sum('exfiltration')).toBe(row?.exfiltration.n);
      expect(sum('misuse')).toBe(row?.misuse.n);
      expect(figures.normal.all?.anomaly.n).toBe(row?.normalHeld.n);
      for (const [cls, r] of Object.entries(row?.classes ?? {}))
        expect(figures.classes[cls]?.anomaly.n).toBe(r.n);
      expect(out).toMatch(
        new RegExp(
          `\\* ${hold}\\s+${pctOf(row?.exfiltration ?? { n: 0, of: 0, rate: 0 }).replace(/[.%]/g, '\\$&')}`,
        ),
      );
    }
    // The table is printed as computed.
    for (const x of t) expect(out).toContain(pctOf(x.normalHeld));
    // The coverage line says how much the model could judge.
    expect(figures.coverage.normal?.calls).toBe(figures.normal.all?.calls);
    expect(out).toContain('What the model could judge');
  });

  it('is deterministic per seed', async () => {
    const a = await first;
    const b = await again();
    expect(b.code, b.out).toBe(0);
    // The printed text first: its diff says what moved.
    expect(b.out).toBe(a.out);
    expect(b.figures).toEqual(a.figures);
  });
});

describe('the generated sessions', () => {
  it('are the same for a seed and differ between seeds; no injected session is in the training set', () => {
    const a = generate(3, 120, 300);
    expect(generate(3, 120, 300)).toEqual(a);
    expect(JSON.stringify(generate(4, 120, 300).evaluation)).not.toBe(JSON.stringify(a.evaluation));
    expect(a.training.every((s) => s.kind === 'normal')).toBe(true);
    const trained = new Set(a.training.map((s) => JSON.stringify(s.calls)));
    expect(a.evaluation.filter((s) => s.kind !== 'normal' && trained.has(JSON.stringify(s.calls)))).toEqual(
      [],
    );
    for (const s of a.evaluation)
      if (s.kind === 'exfiltration' || s.kind === 'misuse') {
        expect(s.harmful, s.id).toBeGreaterThanOrEqual(0);
        expect(s.harmful, s.id).toBeLessThan(s.calls.length);
      }
  });

  it("call only the servers' real tools, with arguments their schemas accept, as the role's grants allow; anything else is reported", async () => {
    const servers: { name: string; tools: readonly AnyTool[] }[] = [];
    for (const pkg of discoverServers()) {
      const def = await loadDefinition(pkg);
      servers.push({ name: def.name, tools: def.tools as readonly AnyTool[] });
    }
    const fleet = fleetOf(parseYaml(readFileSync(EXAMPLE_POLICY, 'utf8')), servers);
    const { training, evaluation } = generate(11, 200, 200);
    const problems = [...training, ...evaluation].flatMap((s) =>
      s.calls.map((c) => admission(fleet, s.role, c).problem).filter((p) => p !== undefined),
    );
    expect(problems).toEqual([]);
    // The check can fail: a renamed tool, a bad argument, a tool the role has no grant for.
    expect(
      admission(fleet, 'support', { server: 'database', tool: 'run_query_v2', args: {} }).problem,
    ).toMatch(/has no tool "run_query_v2"/);
    expect(
      admission(fleet, 'support', {
        server: 'communication',
        tool: 'get_ticket',
        args: { issue_key: 'nope' },
      }).problem,
    ).toMatch(/input schema/);
    expect(
      admission(fleet, 'support', { server: 'admin', tool: 'disable_user', args: { user_name: 'dave' } })
        .problem,
    ).toMatch(/may not call it/);
    expect(
      admission(fleet, 'support', {
        server: 'database',
        tool: 'describe_table',
        args: { schema: 'billing', table: 'invoices' },
      }).problem,
    ).toMatch(/constraint/);
  });
});
