// The flow guard's view of the communication server's sends (issue 17): each destination classified
// internal or external (a property over generated domains, subdomains and look-alikes), and on the
// whole server (real definition, simulators, PostgreSQL, Redis): after a session read outsiders' text,
// a send to an external address or an externally shared Slack channel is refused with nothing at the
// simulators, while an internal one goes out and a fresh session's external send goes out.

import { type SimulatorHub, startSimulatorHub } from '@mcp-fleet/simulators';
import type { TestClient } from '@mcp-fleet/testkit';
import { connectAs, examplePolicy } from '@mcp-fleet/testkit';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_EMAIL_FROM } from '../src/local-setup.js';
import { classifyDestinations, isInternalEmail } from '../src/outbound/classify.js';
import { bootComm, type CommServer, outcomeOf } from './comm-server.js';

const label = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?$/);
const domain = fc.array(label, { minLength: 2, maxLength: 4 }).map((l) => l.join('.'));
const local = fc.stringMatching(/^[a-z0-9._+-]{1,20}$/);

describe('destination classification', () => {
  it('an address is internal iff its domain is an internal domain or a subdomain of one', () => {
    fc.assert(
      fc.property(fc.array(domain, { maxLength: 3 }), local, domain, (internal, user, d) => {
        const expected = internal.some((own) => d === own || d.endsWith(`.${own}`));
        expect(isInternalEmail(`${user}@${d}`, internal)).toBe(expected);
      }),
    );
  });

  it('every subdomain of an internal domain is internal, whatever its case', () => {
    fc.assert(
      fc.property(domain, fc.array(label, { maxLength: 3 }), local, (own, sub, user) => {
        const d = [...sub, own].join('.');
        expect(isInternalEmail(`${user}@${d}`, [own])).toBe(true);
        expect(isInternalEmail(`${user}@${d.toUpperCase()}`, [own])).toBe(true);
      }),
    );
  });

  it('look-alikes of an internal domain are external', () => {
    const own = 'example.com';
    const lookalikes = fc.oneof(
      // the internal domain as a prefix or a label of another domain
      domain.map((d) => `${own}.${d}`),
      label.map((l) => `${l}${own}`),
      label.map((l) => `${own.replace('.com', '')}-${l}.com`),
      // one character changed, added or removed
      fc
        .tuple(fc.nat({ max: own.length - 1 }), fc.constantFrom('3', '1', '0', 'x', '-', 'q'))
        .map(([i, c]) => own.slice(0, i) + c + own.slice(i + 1))
        .filter((d) => d !== own && !d.endsWith(`.${own}`)),
      fc.nat({ max: own.length - 1 }).map((i) => own.slice(0, i) + own.slice(i + 1)),
      // punycode and Unicode spellings, a trailing dot, an empty domain
      fc.constantFrom(
        'xn--exmple-cua.com',
        'xn--example-9ua.com',
        'exämple.com',
        'еxample.com', // Cyrillic е
        'example.com.',
        'example.co',
        'example.com.evil.io',
        'exampl3.com',
        'notexample.com',
        '',
      ),
    );
    fc.assert(
      fc.property(local, lookalikes, (user, d) => {
        expect(isInternalEmail(`${user}@${d}`, [own])).toBe(false);
      }),
    );
    expect(isInternalEmail('no-domain', [own])).toBe(false);
  });

  it('no internal domain: every address is external; Teams and Jira are internal; Slack follows the share', () => {
    fc.assert(
      fc.property(local, domain, (user, d) => {
        expect(isInternalEmail(`${user}@${d}`, [])).toBe(false);
      }),
    );
    expect(
      classifyDestinations(
        {
          destinations: [
            'slack:C0SUPPORT1',
            'slack:C0PARTNER1',
            'teams:ops-alerts',
            'jira:SUP',
            'email:a@example.com',
            'other:x',
          ],
          externallyShared: ['slack:C0PARTNER1'],
        },
        ['example.com'],
      ),
    ).toEqual([
      { id: 'slack:C0SUPPORT1', to: 'internal' },
      { id: 'slack:C0PARTNER1', to: 'external' },
      { id: 'teams:ops-alerts', to: 'internal' },
      { id: 'jira:SUP', to: 'internal' },
      { id: 'email:a@example.com', to: 'internal' },
      { id: 'other:x', to: 'external' },
    ]);
  });
});

/** The example policy, admin also reaching the externally shared #partners-shared, and a deny rule. */
function flowPolicy(): Record<string, unknown> {
  const p = examplePolicy() as {
    roles: { admin: { grants: { constraints?: Record<string, unknown> }[] } };
    flow: { rules: unknown[] };
  };
  const grant = p.roles.admin.grants[0]!;
  grant.constraints = {
    ...grant.constraints,
    'communication.slack': { channels: ['#support-escalations', '#analytics', '#partners-shared'] },
  };
  p.flow.rules.push({
    name: 'untrusted-external-test',
    after: ['untrusted'],
    to: 'external',
    action: 'deny',
  });
  return p;
}

describe('sends after reading outsiders’ text (whole server)', () => {
  let hub: SimulatorHub;
  let f: CommServer;
  const clients: TestClient[] = [];
  let n = 0;
  /** An admin client of a session of its own. */
  const session = async () => {
    const c = await connectAs(f.s, {
      sub: 'admin-flow',
      roles: ['admin'],
      sid: `flow-${process.pid}-${++n}`,
    });
    clients.push(c);
    return c;
  };
  const call = async (c: TestClient, tool: string, args: Record<string, unknown>) =>
    outcomeOf(await c.callTool(tool, args));

  beforeAll(async () => {
    hub = await startSimulatorHub();
    f = await bootComm({
      prefix: 'comm_flow',
      policy: flowPolicy(),
      upstreams: [hub],
      env: {
        ...hub.env,
        EMAIL_FROM: LOCAL_EMAIL_FROM,
        REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
      },
    });
  }, 60_000);
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await f?.close();
  });

  const posts = () => hub.slack.requests.filter((r) => r.operation === 'chat.postMessage').length;

  it('refuses an external email and a post to a shared channel, with nothing at SMTP or Slack', async () => {
    const c = await session();
    const ticket = await call(c, 'get_ticket', { issue_key: 'SUP-4' });
    expect(ticket.isError, ticket.text).toBe(false);
    expect(ticket.text).toContain('audit@partner.example');

    const smtp0 = hub.smtp.requests.length;
    const posts0 = posts();
    const mail = await call(c, 'send_email', {
      to: ['audit@partner.example'],
      subject: 'Customer records',
      text: 'As requested in SUP-4.',
    });
    expect(mail.isError, mail.text).toBe(true);
    expect(mail.code).toBe('flow_denied');
    expect(mail.text).toContain('get_ticket');
    const shared = await call(c, 'slack_post_message', {
      channel: '#partners-shared',
      text: 'As requested in SUP-4.',
    });
    expect(shared.isError, shared.text).toBe(true);
    expect(shared.code).toBe('flow_denied');
    expect(hub.smtp.requests.length).toBe(smtp0);
    expect(posts()).toBe(posts0);

    // Internal destinations of the same session still go out.
    const internal = await call(c, 'send_email', {
      to: ['alice@example.com'],
      subject: 'SUP-4',
      text: 'An odd request in SUP-4; please have a look.',
    });
    expect(internal.isError, internal.text).toBe(false);
    const channel = await call(c, 'slack_post_message', {
      channel: '#support-escalations',
      text: 'SUP-4 looks like phishing.',
    });
    expect(channel.isError, channel.text).toBe(false);
    expect(posts()).toBe(posts0 + 1);
  });

  it('sends the same email from a session that read nothing', async () => {
    const c = await session();
    const before = hub.smtp.messages.length;
    const mail = await call(c, 'send_email', {
      to: ['audit@partner.example'],
      subject: 'Hello',
      text: 'Nothing read before this.',
    });
    expect(mail.isError, mail.text).toBe(false);
    expect(hub.smtp.messages.length).toBe(before + 1);
  });
});
