// fleet start's log file of a server process: what the process wrote on stdout and on stderr, to the
// end of both (issue 16, R2-4: both were piped into the file with end:true, so the first stream to
// end closed the file and cut off the other's tail: a server's last audit lines on stdout, written
// after its stderr closed, never reached its log).
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { logChildOutput } from '../src/commands/start-logs.js';

// The child: a line on each stream, then it closes stderr; once told (a line on stdin, sent after the
// parent saw stderr end) it writes a long tail on stdout and exits.
const child = `
const fs = require('node:fs');
process.stdout.write('first stdout line\\n');
process.stderr.write('last stderr line\\n', () => {
  fs.closeSync(2);
  process.stdin.once('data', () => {
    const tail = Array.from({ length: 2000 }, (_, i) => '{"audit":true,"n":' + i + '}').join('\\n') + '\\nTAIL END\\n';
    process.stdout.write(tail, () => process.exit(0));
  });
});
`;

it('keeps the tail of stdout written after stderr ended, and resolves once the file has it all', async () => {
  const logFile = join(mkdtempSync(join(tmpdir(), 'fleet-logs-')), 'server.log');
  const proc = spawn(process.execPath, ['-e', child], { stdio: ['pipe', 'pipe', 'pipe'] });
  const written = logChildOutput(proc, logFile);
  const exited = once(proc, 'exit');
  await once(proc.stderr!, 'end');
  proc.stdin!.end('go\n');
  await exited;
  await written;
  const text = readFileSync(logFile, 'utf8');
  expect(text).toContain('first stdout line\n');
  expect(text).toContain('last stderr line\n');
  expect(text.split('\n').filter((l) => l.startsWith('{"audit":true'))).toHaveLength(2000);
  expect(text.endsWith('TAIL END\n'), text.slice(-200)).toBe(true);
});
