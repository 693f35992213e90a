// Section 6: cold start to ready and idle RSS of one governed fleet server process, started as the
// production image starts it (compiled JavaScript, plain node) and as `pnpm start` does (TypeScript via tsx).
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

/** Cold-start figures of one way of starting the server. */
export interface ColdStartMode {
  label: string;
  runtime: 'js' | 'ts';
  trials: ColdStartTrial[];
  medianReadyMs: number;
  maxIdleRss: number;
}

/** Cold-start figures over several spawns per mode. */
export interface ColdStartResult {
  modes: ColdStartMode[];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Spawns the governed server `runs` times per mode, timing spawn → /readyz 200 and reading idle RSS. */
export async function runColdStart(
  runs: number,
  modes: { label: string; runtime: 'js' | 'ts'; file: string }[],
  envFor: (baseUrl: string) => Record<string, string>,
  say: (s: string) => void,
): Promise<ColdStartResult> {
  const out: ColdStartMode[] = [];
  for (const mode of modes) {
    const trials: ColdStartTrial[] = [];
    for (let i = 0; i < runs; i++) {
      const port = await freePort();
      const baseUrl = `http://127.0.0.1:${port}`;
      const t = await startTarget('cold-start', {
        file: mode.file,
        runtime: mode.runtime,
        port,
        env: { ...envFor(baseUrl), BENCH_FLEET_VARIANT: 'production' },
        readyPath: '/readyz',
      });
      try {
        await sleep(2_000);
        const idleRss = rssBytes(t.pid);
        const metrics = await (await fetch(`${baseUrl}/metrics`)).text();
        const m = /^process_resident_memory_bytes(?:\{[^}]*\})? (\d+(?:\.\d+)?(?:e\+\d+)?)$/m.exec(metrics);
        trials.push({ readyMs: t.readyMs, idleRss, metricsRss: m ? Number(m[1]) : Number.NaN });
        say(
          `   ${mode.label}, trial ${i + 1}: ready in ${t.readyMs.toFixed(0)} ms, idle RSS ${(idleRss / 1e6).toFixed(1)} MB`,
        );
      } finally {
        await t.stop();
      }
    }
    const sorted = trials.map((t) => t.readyMs).sort((a, b) => a - b);
    out.push({
      label: mode.label,
      runtime: mode.runtime,
      trials,
      medianReadyMs: sorted[Math.floor(sorted.length / 2)] ?? Number.NaN,
      maxIdleRss: Math.max(...trials.map((t) => t.idleRss)),
    });
  }
  return { modes: out };
}
