// The outbound governance step on the whole server (real definition, simulators, PostgreSQL): secrets
// refused or held per policy with nothing at the simulator and masked in the stored audit record; sends
// counted per destination across agents; every send's audit record names destinations and upstreamId.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { secretFingerprint } from '../src/content/secrets.js';
import { WITHHELD } from '../src/governance/outbound-step.js';
import { call, outboundFleet, secretClasses } from './governance-fleet.js';

const f = outboundFleet('comm_gov');

/** A generated secret of a class the scan knows, and a neutral sentence to put it in. */
const secret = fc.oneof(
  ...secretClasses,
  fc.stringMatching(/^[A-Za-z0-9]{36}$/).map((s) => `ghp_${s}`),
);
const sentence = fc.constantFrom('here is the key:', 'use', 'deploy with', 'FYI');

describe('secrets in outbound content', () => {
  it('are refused for a role that refuses them: nothing reaches Slack, the audit record holds only the mask', async () => {
    const samples = fc.sample(fc.tuple(sentence, secret), 4);
    for (const [i, [words, s]] of samples.entries()) {
      const before = f.hub.slack.posts.length;
      const text = `${words} ${s} (case ${i})`;
      const r = await call(f.support, 'slack_post_message', { channel: '#support-escalations', text });
      expect(r.isError, r.text).toBe(true);
      expect(r.code).toBe('outbound_secret');
      expect(r.text).not.toContain(s);
      expect(f.hub.slack.posts.length).toBe(before);
      // The record withholds the whole text (a secret may be split over fields); the mask names it.
      const [row] = await f.audit(
        `tool = 'slack_post_message' AND details->'secretsFound'->0->>'fingerprint' = $1`,
        [secretFingerprint(s)],
        1,
      );
      expect(row?.outcome).toBe('denied');
      expect(JSON.stringify(row)).not.toContain(s);
      const kind = (row?.details?.secretsFound as { kind: string }[] | undefined)?.[0]?.kind;
      expect(row?.arguments?.text).toBe(`${WITHHELD} [secret:${kind}:${secretFingerprint(s)}]`);
      expect(row?.details?.secretsFound).toEqual([
        expect.objectContaining({ fingerprint: secretFingerprint(s) }),
      ]);
      expect(row?.details?.destinations).toEqual(['slack:C0SUPPORT1']);
    }
  });

  it('are held for a human where policy says approval: nothing reaches Slack until someone approves', async () => {
    const s = fc.sample(secret, 1)[0]!;
    const before = f.hub.slack.posts.length;
    const r = await call(f.held, 'slack_post_message', {
      channel: '#support-escalations',
      text: `rotate ${s} today`,
    });
    expect(r.isError, r.text).toBe(true);
    expect(r.text).toMatch(/needs a human approval/);
    expect(f.hub.slack.posts.length).toBe(before);
    const [row] = await f.audit(`agent_id = 'support_held-agent' AND tool = 'slack_post_message'`, [], 1);
    expect(row?.outcome).toBe('awaiting_approval');
    expect(JSON.stringify(row?.arguments)).not.toContain(s);
    expect(row?.details?.approvalReasons).toEqual([expect.stringMatching(/secret/)]);
  });
});

describe('per-destination rate limit', () => {
  it('refuses the 31st post into one channel within a minute from two agents; another channel still works', async () => {
    const before = f.hub.slack.posts.length;
    const results = [];
    for (let i = 0; i < 30; i++) {
      const client = i % 2 === 0 ? f.adminA : f.adminB;
      results.push(
        await call(client, 'slack_post_message', { channel: '#support-escalations', text: `status ${i}` }),
      );
    }
    expect(results.filter((r) => r.isError).map((r) => r.text)).toEqual([]);
    // The secrets refusals and the held call above never counted: nothing was sent.
    const over = await call(f.adminB, 'slack_post_message', {
      channel: '#support-escalations',
      text: 'one too many',
    });
    expect(over.isError).toBe(true);
    expect(over.code).toBe('rate_limited');
    expect(f.hub.slack.posts.length).toBe(before + 30);
    const other = await call(f.adminA, 'slack_post_message', {
      channel: '#analytics',
      text: 'still fine here',
    });
    expect(other.isError, other.text).toBe(false);
    expect(f.hub.slack.posts.length).toBe(before + 31);
  });
});

describe('audit of every send', () => {
  it('names the destinations and the upstream id of what was created, for Slack, email, Teams and Jira', async () => {
    const sends: [string, Record<string, unknown>][] = [
      ['send_email', { to: ['ops@example.com'], subject: 'weekly', text: 'all good' }],
      ['teams_post_message', { channel: 'ops-alerts', text: 'deploy done' }],
      [
        'create_ticket',
        { project: 'OPS', issue_type: 'Task', summary: 'rotate certs', description: 'before Friday' },
      ],
    ];
    for (const [tool, args] of sends) {
      const r = await call(f.adminA, tool, args);
      expect(r.isError, `${tool}: ${r.text}`).toBe(false);
    }
    for (const tool of ['slack_post_message', ...sends.map(([t]) => t)]) {
      const rows = await f.audit(`tool = $1 AND outcome = 'ok'`, [tool], 1);
      expect(rows.length, tool).toBeGreaterThan(0);
      for (const row of rows) {
        expect(row.details?.destinations, tool).toEqual(
          expect.arrayContaining([expect.stringMatching(/^[a-z]+:.+/)]),
        );
        expect(row.details?.contentSha256, tool).toMatch(/^[0-9a-f]{64}$/);
        expect(typeof row.details?.upstreamId === 'string' && row.details.upstreamId.length > 0, tool).toBe(
          true,
        );
      }
    }
  });
});

describe('readiness', () => {
  it('reports each configured upstream, and the state of each breaker on every metrics scrape', async () => {
    const ready = (await (await fetch(`${f.s.baseUrl}/readyz`)).json()) as {
      status: string;
      checks: Record<string, string>;
    };
    expect(ready.status).toBe('ready');
    for (const system of ['slack', 'email', 'teams', 'tickets']) {
      expect(ready.checks[`upstream_${system}`], system).toBe('ok');
      expect(ready.checks[`breaker_${system}`], system).toBe('ok');
    }
    const metrics = await (await fetch(`${f.s.baseUrl}/metrics`)).text();
    expect(metrics).toMatch(/mcp_readiness_check_ok\{[^}]*check="breaker_slack"[^}]*\} 1/);
  });
});
