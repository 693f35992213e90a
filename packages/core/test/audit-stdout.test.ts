// Audit lines on a real process's stdout: the lines of one event-loop turn go out in one write, and a
// process that exits before the turn ends still writes every line it recorded.
import { spawnSync } from 'node:child_process';
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
const writes = [];
const write = process.stdout.write.bind(process.stdout);
process.stdout.write = (chunk, ...rest) => { writes.push(String(chunk).split('\\n').length - 1); return write(chunk, ...rest); };
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
  expect(run.status).toBe(0);
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
