// Section 6: cold start to ready and idle RSS of one governed fleet server process.
import { freePort } from '@mcp-fleet/testkit';
import { rssBytes, startTarget } from './lib/processes.js';

/** One spawn of the server. */
export interface ColdStartTrial {
  /** Spawn to the first 200 from /readyz, in ms. */
  readyMs: number;
  /** VmRSS 2 s after ready, bytes. */
  idleRss: number;
  /** process_resident_memory_bytes from the server's own /metrics at the same moment. */
  metricsRss: number;
}

/** Cold-start figures over several spawns. */
export interface ColdStartResult {
  trials: ColdStartTrial[];
  medianReadyMs: number;
  maxIdleRss: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Spawns the governed server `runs` times, each time timing spawn → /readyz 200 and reading idle RSS. */
export async function runColdStart(
  runs: number,
  file: string,
  envFor: (baseUrl: string) => Record<string, string>,
  say: (s: string) => void,
): Promise<ColdStartResult> {
  const trials: ColdStartTrial[] = [];
  for (let i = 0; i < runs; i++) {
    const port = await freePort();
    const baseUrl = `http://127.0.0.1:${port}`;
    const t = await startTarget(
      'cold-start',
      file,
      port,
      { ...envFor(baseUrl), BENCH_FLEET_VARIANT: 'production' },
      '/readyz',
    );
    try {
      await sleep(2_000);
      const idleRss = rssBytes(t.pid);
      const metrics = await (await fetch(`${baseUrl}/metrics`)).text();
      const m = /^process_resident_memory_bytes(?:\{[^}]*\})? (\d+(?:\.\d+)?(?:e\+\d+)?)$/m.exec(metrics);
      trials.push({ readyMs: t.readyMs, idleRss, metricsRss: m ? Number(m[1]) : Number.NaN });
      say(
        `   trial ${i + 1}: ready in ${t.readyMs.toFixed(0)} ms, idle RSS ${(idleRss / 1e6).toFixed(1)} MB`,
      );
    } finally {
      await t.stop();
    }
  }
  const sorted = trials.map((t) => t.readyMs).sort((a, b) => a - b);
  return {
    trials,
    medianReadyMs: sorted[Math.floor(sorted.length / 2)] ?? Number.NaN,
    maxIdleRss: Math.max(...trials.map((t) => t.idleRss)),
  };
}
