// The load generators: autocannon in processes of their own (bench/load-worker.ts), driven over IPC.
import { type ChildProcess, fork } from 'node:child_process';
import { join } from 'node:path';
import type { LoadJob, LoadResult, WorkerCommand } from '../load-worker.js';
import { NODE_ARGS, ROOT } from './processes.js';

export type { LoadJob, LoadResult };

type Reply = { ok: boolean; result?: LoadResult | null; error?: string };

/** One generator process; commands run one at a time. */
export class LoadGenerator {
  readonly #child: ChildProcess;
  #pending: { resolve: (r: Reply) => void; reject: (e: Error) => void } | undefined;

  private constructor(file: string) {
    this.#child = fork(join(ROOT, file), [], {
      cwd: ROOT,
      execArgv: NODE_ARGS,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.#child.on('message', (m: Reply) => {
      const p = this.#pending;
      this.#pending = undefined;
      p?.resolve(m);
    });
    this.#child.once('exit', (code) => {
      const p = this.#pending;
      this.#pending = undefined;
      p?.reject(new Error(`load generator exited with ${code}`));
    });
  }

  /** Starts a generator process running `file` (default: the autocannon worker). */
  static start(file = 'bench/load-worker.ts'): LoadGenerator {
    return new LoadGenerator(file);
  }

  async #send(c: WorkerCommand | object): Promise<LoadResult | null> {
    if (this.#pending) throw new Error('load generator is busy');
    const reply = await new Promise<Reply>((resolve, reject) => {
      this.#pending = { resolve, reject };
      this.#child.send(c);
    });
    if (!reply.ok) throw new Error(`load generator failed: ${reply.error}`);
    return reply.result ?? null;
  }

  /** Warm-up: checked, counted for audit reconciliation, not measured. */
  async warmup(job: LoadJob): Promise<void> {
    await this.#send({ cmd: 'warmup', job });
  }

  /** One measured slice of `seconds`, added to the job's series. */
  async slice(job: LoadJob, seconds: number): Promise<void> {
    await this.#send({ cmd: 'slice', job, seconds });
  }

  /** The job's series merged over all its slices. */
  async summary(job: LoadJob): Promise<LoadResult> {
    return (await this.#send({ cmd: 'summary', job })) as LoadResult;
  }

  /** Warm-up then one measured run, in this generator. */
  async run(job: LoadJob): Promise<LoadResult> {
    return (await this.#send({ cmd: 'run', job })) as LoadResult;
  }

  /** Any one-shot worker command (`{ ok, result }` protocol). */
  async command<T extends object>(c: T): Promise<LoadResult> {
    return (await this.#send(c)) as LoadResult;
  }

  close(): void {
    if (this.#child.exitCode === null) this.#child.send({ cmd: 'exit' });
  }
}

/** Warm-up and one measured run in a fresh generator process. */
export async function runLoad(job: LoadJob): Promise<LoadResult> {
  const g = LoadGenerator.start();
  try {
    return await g.run(job);
  } finally {
    g.close();
  }
}

/** A one-shot run of another worker (same `{ ok, result }` protocol), e.g. the direct-pg baseline. */
export async function runWorker<J extends object>(file: string, job: J): Promise<LoadResult> {
  const g = LoadGenerator.start(file);
  try {
    return await g.command({ cmd: 'run', job });
  } finally {
    g.close();
  }
}
