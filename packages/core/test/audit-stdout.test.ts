// Audit lines on a real process's stdout: the lines of one event-loop turn go out in one write, and a
// process that exits before the turn ends still writes every line it recorded. Written at once even
// to a pipe whose reader is slower than the writer: nothing waits in memory for a SIGKILL to lose.
import { spawn, spawnSync } from 'node:child_process';
import { expect, it } from 'vitest';

const script = `
import { AuditLog } from '@mcp-fleet/core/approvals';
import { createLogger, createMetrics } from '@mcp-fleet/core/internal';
const log = new AuditLog({
  pool: undefined, logger: createLogger({ level: 'silent' }), metrics: createMetrics('stdout-test'),
  stdout: true, flushMs: 1000, queueMax: 10,
});
const record = (requestId, tenant) => log.record({
  id: crypto.randomUUID(), ts: new Date().toISOString(), server: 's', requestId, method: 'tools/call',
  tool: 't', agentId: 'a', agentSession: null, userInvoker: null, tenant, roles: ['r'], arguments: { q: 1 },
  decision: 'allow', decisionReason: 'test', outcome: 'ok', resultSummary: null, durationMs: 1,
  policyVersion: null, protocolVersion: null, details: null,
});
import fs from 'node:fs';
const writes = [];
const writeSync = fs.writeSync;
fs.writeSync = (fd, chunk, ...rest) => { if (fd === 1) writes.push(String(chunk).split('\\n').length - 1); return writeSync(fd, chunk, ...rest); };
record('one', null); record('two', 'nul\\u0000'); record('three', null);
setImmediate(() => {
  record('four', null);
  process.on('exit', () => process.stderr.write(JSON.stringify(writes)));
  process.exit(0); // before the turn that would have written 'four'
});
`;

it('writes each turn in one write and loses no line when the process exits', () => {
  const run = spawnSync(
    process.execPath,
    ['--conditions=mcp-fleet-source', '--import', 'tsx', '--input-type=module', '-e', script],
    { encoding: 'utf8', cwd: import.meta.dirname, timeout: 30_000 },
  );
  expect(run.status, run.stderr).toBe(0);
  const lines = run.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  expect(lines.map((l) => l.requestId)).toEqual(['one', 'two', 'three', 'four']);
  expect(lines.every((l) => l.audit === true && l.outcome === 'ok')).toBe(true);
  expect(lines[1].tenant).toBe('nul\\u0000');
  // Three records of the first turn in one write; the fourth written on exit.
  expect(JSON.parse(run.stderr)).toEqual([3, 1]);
});

// 2,000 records of ~8 KB (16 MB) in one turn, flushed, then SIGKILL: a pipe holds 64 KB, so lines that
// were only queued in the process (an asynchronous pipe write) die with it.
const killScript = `
import { AuditLog } from '@mcp-fleet/core/approvals';
import { createLogger, createMetrics } from '@mcp-fleet/core/internal';
const log = new AuditLog({
  pool: undefined, logger: createLogger({ level: 'silent' }), metrics: createMetrics('stdout-kill-test'),
  stdout: true, flushMs: 1000, queueMax: 10,
});
const big = 'x'.repeat(8000);
for (let i = 0; i < 2000; i++) log.record({
  id: crypto.randomUUID(), ts: new Date().toISOString(), server: 's', requestId: 'r' + i, method: 'tools/call',
  tool: 't', agentId: 'a', agentSession: null, userInvoker: null, tenant: null, roles: ['r'], arguments: { big },
  decision: 'allow', decisionReason: 'test', outcome: 'ok', resultSummary: null, durationMs: 1,
  policyVersion: null, protocolVersion: null, details: null,
});
log.flushLines();
process.kill(process.pid, 'SIGKILL');
`;

it('has written every recorded line to a pipe by the time flushLines returns (a SIGKILL right after loses none)', async () => {
  const child = spawn(
    process.execPath,
    ['--conditions=mcp-fleet-source', '--import', 'tsx', '--input-type=module', '-e', killScript],
    { cwd: import.meta.dirname, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    out += d;
  });
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    err += d;
  });
  const signal = await new Promise((resolve) => child.on('close', (_code, sig) => resolve(sig)));
  expect(signal, err).toBe('SIGKILL');
  const lines = out.split('\n').filter(Boolean);
  expect(lines).toHaveLength(2000);
  expect(lines.map((l) => JSON.parse(l).requestId)).toEqual(Array.from({ length: 2000 }, (_, i) => `r${i}`));
}, 60_000);
