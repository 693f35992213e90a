// stdout/stderr of a server process whose reader may be gone. `fleet start` pipes both to its log
// files; when that parent is killed (kill -9), a write gets EPIPE, and an 'error' event nobody
// handles ends the process: an answered call's audit line and batch lost with it (issue 16, H-1).
// A broken stream is noted and not written to again; the server keeps serving and writing its
// audit to PostgreSQL. (pino's own stdout destination already stops logging on EPIPE.)
// And a server started by `fleet start` (FLEET_PARENT_PIPE=1: its stdin is a pipe from that parent)
// stops as on SIGTERM once that pipe closes: its parent is gone, killed with -9 or crashed, and an
// orphan nobody supervises or stops would go on serving without logs.

type StdioName = 'stdout' | 'stderr';

const broken = new Set<StdioName>();
let guarded = false;

/**
 * Handles write errors on process.stdout and process.stderr for the life of the process (once;
 * later calls do nothing). `onBroken` is told the first error of each stream. With
 * FLEET_PARENT_PIPE=1 in the environment, the end of stdin (the parent's end of the pipe closed)
 * sends this process SIGTERM: the server's own handler drains, flushes the audit and exits 0.
 */
export function guardStdio(onBroken?: (stream: StdioName, err: Error) => void): void {
  if (guarded) return;
  guarded = true;
  if (process.env.FLEET_PARENT_PIPE === '1') watchParentPipe();
  for (const name of ['stdout', 'stderr'] as const) {
    process[name].on('error', (err: Error) => {
      if (broken.has(name)) return;
      broken.add(name);
      try {
        onBroken?.(name, err);
      } catch {
        // Reporting a broken stream must not break anything else.
      }
    });
  }
}

/** False once a write to `name` failed (its reader is gone): do not write to it again. */
export function stdioWritable(name: StdioName): boolean {
  return !broken.has(name) && !process[name].destroyed;
}

function watchParentPipe(): void {
  let gone = false;
  const parentGone = () => {
    if (gone) return;
    gone = true;
    process.kill(process.pid, 'SIGTERM');
  };
  process.stdin.on('end', parentGone);
  process.stdin.on('close', parentGone);
  process.stdin.on('error', parentGone);
  // Nothing is ever sent on it: reading only notices its end.
  process.stdin.resume();
}
