// Turns measured rows into the printed tables and the target verdicts.

import type { LoadResult } from './load.js';
import type { Era } from './wire.js';

/** One measured (or unavailable) line of the table. */
export interface Row {
  id: string;
  section: string;
  label: string;
  era: Era | null;
  connections: number | null;
  /** Open-loop request rate (req/s), when the run had one. */
  rate?: number;
  result?: LoadResult;
  serverCpuPct?: number;
  serverPeakRssMB?: number;
  /** Why this row has no figures. */
  unavailable?: string;
}

/** A target of issue 7 and whether this run met it. */
export interface TargetVerdict {
  target: string;
  goal: string;
  measured: string;
  met: boolean | null;
}

const pad = (s: string, n: number) => (s.length >= n ? s : s + ' '.repeat(n - s.length));
const lpad = (s: string, n: number) => (s.length >= n ? s : ' '.repeat(n - s.length) + s);
export const fmt = (v: number | undefined, digits = 2) =>
  v === undefined || !Number.isFinite(v) ? '-' : v.toFixed(digits);

/**
 * Server CPU time per answered call, in ms: how much of a core one call costs. Unlike req/s it barely
 * moves when other work on the machine takes CPU away from the server, so it cross-checks the ratios.
 */
export function cpuMsPerCall(r: Row): number | undefined {
  if (r.serverCpuPct === undefined || !r.result || r.result.rps <= 0) return undefined;
  return (r.serverCpuPct / 100 / r.result.rps) * 1000;
}

/** Renders rows as a fixed-width table. */
export function renderTable(rows: Row[]): string {
  const head = [
    'section',
    'era',
    'conns',
    'req/s',
    'p50 ms',
    'p99 ms',
    'srv CPU%',
    'CPU ms/call',
    'gen CPU%',
    'peak RSS MB',
    'checked ok',
    'wrong',
  ];
  const widths = [50, 10, 8, 9, 8, 8, 8, 11, 8, 11, 10, 5];
  const lines = [head.map((h, i) => (i < 2 ? pad(h, widths[i]!) : lpad(h, widths[i]!))).join(' ')];
  lines.push(widths.map((w) => '-'.repeat(w)).join(' '));
  for (const r of rows) {
    const label = `${r.section} ${r.label}`;
    if (r.unavailable) {
      lines.push(`${pad(label, widths[0]!)} ${r.unavailable}`);
      continue;
    }
    const x = r.result!;
    const cells = [
      pad(label, widths[0]!),
      pad(r.era === 'modern' ? '2026-07-28' : r.era === 'legacy' ? '2025-11-25' : '-', widths[1]!),
      lpad(r.rate ? `${r.connections}@${r.rate}/s` : String(r.connections ?? '-'), widths[2]!),
      lpad(fmt(x.rps, 0), widths[3]!),
      lpad(fmt(x.latency.p50, 3), widths[4]!),
      lpad(fmt(x.latency.p99, 3), widths[5]!),
      lpad(fmt(r.serverCpuPct, 0), widths[6]!),
      lpad(fmt(cpuMsPerCall(r), 3), widths[7]!),
      lpad(fmt(x.generatorCpuPct, 0), widths[8]!),
      lpad(fmt(r.serverPeakRssMB, 0), widths[9]!),
      lpad(String(x.ok), widths[10]!),
      lpad(String(x.wrong + x.errors + x.timeouts), widths[11]!),
    ];
    lines.push(cells.join(' '));
  }
  return lines.join('\n');
}

/** Renders simple key/value columns. */
export function renderColumns(head: string[], body: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => pad(c, widths[i]!)).join('  ');
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}

/** Renders the verdicts. */
export function renderTargets(verdicts: TargetVerdict[]): string {
  return renderColumns(
    ['target', 'goal', 'measured', 'verdict'],
    verdicts.map((v) => [
      v.target,
      v.goal,
      v.measured,
      v.met === null ? 'NOT MEASURED' : v.met ? 'met' : 'MISSED',
    ]),
  );
}
