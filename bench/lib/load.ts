// Runs one load job in a fresh generator process (bench/load-worker.ts) and returns its result.
import { fork } from 'node:child_process';
import { join } from 'node:path';
import type { LoadJob, LoadResult } from '../load-worker.js';
import { NODE_ARGS, ROOT } from './processes.js';

export type { LoadJob, LoadResult };

/** Forks the generator, hands it the job, waits for its figures. */
export function runLoad(job: LoadJob): Promise<LoadResult> {
  return runWorker('bench/load-worker.ts', job);
}

/** Forks `file` (a worker answering one job over IPC with `{ ok, result | error }`). */
export function runWorker<J extends object>(file: string, job: J): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const child = fork(join(ROOT, file), [], {
      cwd: ROOT,
      execArgv: NODE_ARGS,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    let settled = false;
    child.once('message', (m: { ok: boolean; result?: LoadResult; error?: string }) => {
      settled = true;
      if (m.ok && m.result) resolve(m.result);
      else reject(new Error(`load generator failed: ${m.error}`));
    });
    child.once('exit', (code) => {
      if (!settled) reject(new Error(`load generator exited with ${code} before reporting`));
    });
    child.send(job);
  });
}
