// `fleet agents list|suspend|resume`, run as a person would (the real CLI in a child process), against
// a server with the agents API the admin server serves (two replicas on one fleet database): a
// suspension through the CLI is refused by every replica, a resume lets the agent in again; missing
// or agent tokens, an unreachable server and bad usage end with clear messages and exit codes.
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { runAgents } from '../../packages/cli/src/commands/agents.js';
import { ROOT } from '../../packages/cli/src/layout.js';
import { callMsg, rpc } from '../../packages/core/test/helpers.js';
import { eventually, ran, SuspFleet } from '../../packages/core/test/suspension-harness.js';

const run = promisify(execFile);
// Each test runs the real CLI several times (a Node process with tsx each): slow on a loaded machine.
vi.setConfig({ testTimeout: 240_000 });

let fleet: SuspFleet;
beforeAll(async () => {
  fleet = await SuspFleet.start({ count: 2 });
});
afterAll(async () => {
  await fleet?.close();
});

async function agents(args: string[], env: Record<string, string> = {}) {
  const clean = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => k !== 'FLEET_APPROVER_TOKEN' && k !== 'FLEET_ADMIN_URL'),
  );
  try {
    const { stdout, stderr } = await run(
      process.execPath,
      [
        '--conditions=mcp-fleet-source',
        '--import',
        'tsx',
        join(ROOT, 'packages/cli/src/main.ts'),
        'agents',
        ...args,
      ],
      { cwd: ROOT, env: { ...clean, ...env } },
    );
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

const codeOf = async (i: number, token: string) => {
  const r = await rpc(fleet.servers[i]!.url, callMsg('read_note', { id: randomUUID() }), {
    authorization: `Bearer ${token}`,
  });
  return r.body.result?._meta?.['io.mcp-fleet/error']?.code as string | undefined;
};

describe('fleet agents', () => {
  it('suspends and resumes through the admin API; every replica follows; list shows both ends', async () => {
    const agent = `cli-${randomUUID().slice(0, 8)}`;
    const token = await fleet.agentToken(agent);
    const approver = await fleet.approverToken('alice');
    const url = fleet.servers[0]!.baseUrl;
    expect(await codeOf(1, token)).toBeUndefined();

    const s = await agents([
      'suspend',
      agent,
      '--reason',
      'looping on refunds',
      '--url',
      url,
      '--token',
      approver,
    ]);
    expect(s.code, s.stderr).toBe(0);
    expect(s.stdout).toContain(`${agent}  SUSPENDED  every tenant`);
    expect(s.stdout).toContain('looping on refunds');
    const before = ran.total;
    for (const i of [0, 1])
      await eventually(async () => expect(await codeOf(i, token)).toBe('agent_suspended'));
    expect(ran.total).toBe(before);

    // Token and URL from the environment.
    const env = { FLEET_APPROVER_TOKEN: approver, FLEET_ADMIN_URL: url };
    const list = await agents(['list'], env);
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toContain(`${agent}  SUSPENDED`);
    const json = await agents(['list', '--json'], env);
    expect(JSON.parse(json.stdout).suspended).toEqual(
      expect.arrayContaining([expect.objectContaining({ agentId: agent, reason: 'looping on refunds' })]),
    );

    const again = await agents(['suspend', agent], env);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/409 already_suspended/);

    const r = await agents(['resume', agent, '--reason', 'fixed'], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('accepted again');
    for (const i of [0, 1]) await eventually(async () => expect(await codeOf(i, token)).toBeUndefined());
    const after = await agents(['list'], env);
    expect(after.stdout).toContain('recently resumed');
    expect(after.stdout).toMatch(new RegExp(`${agent}\\s+resumed.*by alice.*\\(fixed\\)`));
    expect(
      fleet.records('agents/suspend').filter((a) => a.details?.agentId === agent && a.outcome === 'ok'),
    ).toHaveLength(1);
    expect(
      fleet.records('agents/resume').filter((a) => a.details?.agentId === agent && a.outcome === 'ok'),
    ).toHaveLength(1);
  });

  it('refuses without a token (2), with an agent token (1), and says when the admin server does not answer (1)', async () => {
    const url = fleet.servers[0]!.baseUrl;
    const none = await agents(['suspend', 'someone', '--url', url]);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/approver token is required/);

    const agentToken = await fleet.agentToken('rogue', { scope: 'mcp:approve' });
    const rogue = await agents(['suspend', 'someone', '--url', url, '--token', agentToken]);
    expect(rogue.code).toBe(1);
    expect(rogue.stderr).toMatch(/fleet agents suspend: 401/);
    const listed = await agents([
      'list',
      '--json',
      '--url',
      url,
      '--token',
      await fleet.approverToken('bob'),
    ]);
    expect(JSON.parse(listed.stdout).history.some((h: { agentId: string }) => h.agentId === 'someone')).toBe(
      false,
    );

    const down = await agents([
      'list',
      '--url',
      'http://127.0.0.1:1',
      '--token',
      await fleet.approverToken('bob'),
    ]);
    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(/did not answer.*is the admin server running/);

    const self = await agents(['resume', 'bob', '--url', url, '--token', await fleet.approverToken('bob')]);
    expect(self.code).toBe(1);
    expect(self.stderr).toMatch(/403 self_suspension/);
  });

  it('prints its usage for bad arguments (2) and for help (0)', async () => {
    const r = await agents(['suspend'], { FLEET_APPROVER_TOKEN: 'x' });
    expect(r.code).toBe(2);
    expect(r.stdout).toContain('fleet agents <list|suspend|resume>');
    expect((await agents([])).code).toBe(0);
    expect((await agents(['--bogus'])).code).toBe(2);
  });

  it('answers every malformed command line with its usage and exit code 2 (in process)', async () => {
    for (const args of [
      ['suspend'],
      ['resume'],
      ['frobnicate'],
      ['list', 'extra'],
      ['suspend', 'a', 'b'],
      ['--bogus'],
    ]) {
      let out = '';
      const code = await runAgents(args, {
        env: { FLEET_APPROVER_TOKEN: 'x' },
        stdout: (t) => {
          out += t;
        },
        stderr: (t) => {
          out += t;
        },
      });
      expect(code).toBe(2);
      expect(out).toContain('fleet agents <list|suspend|resume>');
    }
  });
});
