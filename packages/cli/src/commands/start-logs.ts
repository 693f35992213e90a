// A server process's log file under <FLEET_DIR>/logs: its stdout and stderr, both, to their ends.
import type { ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';

/**
 * Appends everything `child` writes on stdout and stderr to `logFile`. Resolves once the log file has
 * everything (both streams ended and the file written), so `fleet start` exits only after it.
 */
export function logChildOutput(child: ChildProcess, logFile: string): Promise<void> {
  const log = createWriteStream(logFile, { flags: 'a' });
  const finished = new Promise<void>((resolve) => {
    log.once('finish', resolve);
    log.once('error', () => resolve());
  });
  // Neither stream ends the file (the first to end would cut off the other's tail): it ends once the
  // child's stdio has closed, both streams read to their ends.
  child.stdout?.pipe(log, { end: false });
  child.stderr?.pipe(log, { end: false });
  child.once('close', () => log.end());
  return finished;
}
