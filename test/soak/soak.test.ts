// `pnpm soak`, the command a user runs, as a child process: a short soak passes with every call's
// audit record in the fleet database (records ÷ calls = 1), and the same command fails — exit 1, the
// reason printed — when audit records go missing or a server leaks, so its PASS means something.
// The two runs go side by side to keep this file's wall time near one fleet's.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../../packages/cli/src/layout.js';

interface SoakRun {
  code: number | null;
  out: string;
  figures: {
    calls: number;
    codes: Record<string, number>;
    processes: {
      server: string;
      ok: boolean;
      samples: number;
      rssSlopeMBPerMin: number;
      rssBoundMBPerMin: number;
      fdSlopePerMin: number;
      fdBoundPerMin: number;
    }[];
    audit: { calls: number; records: number; ratio: number; missing: number; tamperedDeleted: number };
    failures: string[];
    pass: boolean;
  };
}

function soak(args: string[]): Promise<SoakRun> {
  const json = join(mkdtempSync(join(tmpdir(), 'soak-test-')), 'figures.json');
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--conditions=mcp-fleet-source', '--import', 'tsx', 'test/soak/soak.ts', ...args, '--json', json],
      { cwd: ROOT, maxBuffer: 64 * 1024 * 1024, timeout: 170_000 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : null) : 0;
        const out = `${stdout}${stderr}`;
        let figures: SoakRun['figures'];
        try {
          figures = JSON.parse(readFileSync(json, 'utf8')) as SoakRun['figures'];
        } catch {
          reject(new Error(`the soak wrote no figures (exit ${code}):\n${out}`));
          return;
        }
        resolve({ code, out, figures });
      },
    );
  });
}

describe('pnpm soak', () => {
  // One after the other: two fleets starting at once on one machine can be handed the same free
  // port (a CI run failed with EADDRINUSE that way). The passing soak starts with the file.
  const passing = soak(['--seconds', '35', '--rate', '12', '--warmup-seconds', '12']);
  // Awaited by its test; a failure before then is that test's, not an unhandled rejection.
  passing.catch(() => {});
  const failing = () =>
    passing
      .catch(() => undefined)
      .then(() =>
        soak([
          ...['--seconds', '16', '--rate', '8', '--warmup-seconds', '4'],
          ...['--tamper-delete-audit', '3', '--tamper-leak'],
        ]),
      );

  it('passes a short soak: every call has exactly one audit record, no server grows', async () => {
    const run = await passing;
    expect(run.code, run.out).toBe(0);
    expect(run.out).toContain('verdict: PASS');
    const { audit, calls, processes, codes } = run.figures;
    expect(calls).toBeGreaterThan(250);
    expect(audit.calls).toBe(calls);
    expect(audit.records).toBe(audit.calls);
    expect(run.out).toContain(`records ÷ calls = ${calls} / ${calls} = 1.0000`);
    // Every server's processes were measured after the warm-up, and none grew past its bound.
    expect(new Set(processes.map((p) => p.server))).toEqual(
      new Set(['admin', 'communication', 'database', 'files', 'vendor-apis']),
    );
    for (const p of processes) expect(p.ok, p.server).toBe(true);
    // Most calls succeed; refusals are only of the kinds the traffic provokes (the soak checks which).
    expect(codes.ok ?? 0).toBeGreaterThan(calls / 2);
  }, 180_000);

  it('fails when audit records go missing or a server leaks, and says why', async () => {
    const run = await failing();
    expect(run.code, run.out).toBe(1);
    expect(run.out).toContain('verdict: FAIL');
    const { audit, processes, failures } = run.figures;
    expect(audit.tamperedDeleted).toBe(3);
    expect(audit.missing).toBe(3);
    expect(audit.records).toBe(audit.calls - 3);
    expect(failures.some((f) => f.startsWith('audit:'))).toBe(true);
    // Each leaking server is named: 600 descriptors and 1,440 MB a minute are past both bounds.
    expect(processes.length).toBeGreaterThanOrEqual(5);
    for (const p of processes) {
      expect(p.ok, p.server).toBe(false);
      expect(p.rssSlopeMBPerMin, p.server).toBeGreaterThan(p.rssBoundMBPerMin);
      expect(p.fdSlopePerMin, p.server).toBeGreaterThan(p.fdBoundPerMin);
    }
    expect(failures.filter((f) => f.includes(' grew: ')).length).toBe(processes.length);
  }, 180_000);
});
