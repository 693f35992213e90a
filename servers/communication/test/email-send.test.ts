// send_email end to end: a real MCP client, the server, nodemailer and the SMTP simulator on real
// sockets. Hostile recipients and headers are refused with nothing reaching SMTP; allowed sends reach
// exactly the recipients the result shows; one idempotency key is one message, even six at once.
import { domainToASCII } from 'node:url';
import { clientAs, eventually, type TestClient } from '@mcp-fleet/testkit';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allowedByOracle, hostileTo, mostlyAllowedTo } from './email-hostile.js';
import { auditRows, bootEmail, call, type EmailFleet } from './email-server.js';

let f: EmailFleet;
let admin: TestClient;
let small: TestClient;
let open: TestClient;

beforeAll(async () => {
  f = await bootEmail();
  admin = await clientAs(f.s, 'modern', 'admin');
  small = await clientAs(f.s, 'legacy', 'small');
  open = await clientAs(f.s, 'modern', 'open');
});
afterAll(async () => {
  await Promise.all([admin?.close(), small?.close(), open?.close()]);
  await f?.close();
});

/**
 * An address as it went over the wire: smtp-server (under the simulator) turns punycode domains
 * back into Unicode when it records RCPT TO, so the tests compare in ASCII form.
 */
const wire = (a: string) =>
  `${a.slice(0, a.lastIndexOf('@'))}@${domainToASCII(a.slice(a.lastIndexOf('@') + 1))}`;
const sorted = (xs: readonly string[]) => xs.map(wire).sort();
const body = { subject: 'Quarterly numbers', text: 'Hello,\nthe numbers are in.\n' };

/** Runs `fn` and returns how many SMTP requests and messages reached the simulator meanwhile. */
async function delta<T>(fn: () => Promise<T>): Promise<{ out: T; requests: number; messages: number }> {
  const r0 = f.sim.requests.length;
  const m0 = f.sim.messages.length;
  const out = await fn();
  return { out, requests: f.sim.requests.length - r0, messages: f.sim.messages.length - m0 };
}

describe('send_email recipients (THREATS C8, C11)', () => {
  it('delivers to exactly the recipients shown, headers and envelope alike, from the configured sender', async () => {
    const { out, messages } = await delta(() =>
      call(admin, { to: ['Alice@EXAMPLE.com', 'ops@bücher.example'], cc: 'audit@partner.example', ...body }),
    );
    expect(out.isError, out.text).toBe(false);
    expect(out.data).toMatchObject({
      to: ['Alice@example.com', 'ops@xn--bcher-kva.example'],
      cc: ['audit@partner.example'],
      rejected: [],
    });
    expect(messages).toBe(1);
    const m = f.sim.messages.at(-1)!;
    expect(sorted(m.envelope.rcptTo)).toEqual(
      sorted(['Alice@example.com', 'ops@xn--bcher-kva.example', 'audit@partner.example']),
    );
    expect(m.envelope.mailFrom).toBe('agents@example.com');
    expect(m.parsed.bcc).toEqual([]);
    expect(m.parsed.replyTo).toEqual(['support@example.com']);
    expect(m.parsed.from).toContain('agents@example.com');
    expect(m.parsed.messageId).toBe(out.data?.messageId);
    expect(String(out.data?.messageId)).toMatch(/^<[0-9a-f]{40}\.mcp-fleet@example\.com>$/);
    expect(m.parsed.attachments).toBe(0);
    // The call's final record is written after the answer: wait for it.
    let rec: Awaited<ReturnType<typeof auditRows>>[number] | undefined;
    await eventually(async () => {
      rec = (await auditRows(f.dbUrl)).find((r) => r.details?.upstreamId === out.data?.messageId);
      return rec !== undefined;
    });
    expect(rec?.outcome).toBe('ok');
    expect(rec?.details).toMatchObject({
      upstreamId: out.data?.messageId,
      destinations: [
        'email:Alice@example.com',
        'email:ops@xn--bcher-kva.example',
        'email:audit@partner.example',
      ],
    });
  });

  it('CLASS: generated hostile recipients are refused with nothing reaching SMTP, or reach exactly the allowed recipients shown', async () => {
    let delivered = 0;
    let refused = 0;
    const toArb = fc.oneof(hostileTo, mostlyAllowedTo);
    await fc.assert(
      fc.asyncProperty(toArb, fc.option(toArb, { nil: undefined }), async (to, cc) => {
        const args = { to, ...(cc !== undefined ? { cc } : {}), ...body };
        const { out, requests, messages } = await delta(() => call(admin, args));
        if (out.isError) {
          expect(requests, `${JSON.stringify(args)} -> ${out.text}`).toBe(0);
          expect(['constraint_denied', 'destination_denied', 'invalid_arguments']).toContain(out.code);
          refused++;
          return;
        }
        delivered++;
        expect(messages).toBe(1);
        const shown = [...((out.data?.to ?? []) as string[]), ...((out.data?.cc ?? []) as string[])];
        const m = f.sim.messages.at(-1)!;
        expect(sorted(m.envelope.rcptTo)).toEqual(sorted(shown));
        expect(sorted(m.parsed.to)).toEqual(sorted(out.data?.to as string[]));
        expect(sorted(m.parsed.cc)).toEqual(sorted(out.data?.cc as string[]));
        expect(m.parsed.bcc).toEqual([]);
        for (const a of shown) expect(allowedByOracle(a.slice(a.lastIndexOf('@') + 1)), a).toBe(true);
      }),
      { numRuns: 80 },
    );
    expect(delivered).toBeGreaterThan(0);
    expect(refused).toBeGreaterThan(0);
  });

  it('the THREATS C8 corpus is refused, and nothing reaches SMTP', async () => {
    const lookalikes = ['ceo@c\u043empany.com', 'ceo@ex\u0430mple.com'];
    const malformed = [
      '"ceo@example.com"@evil.example',
      'ceo@example.com,attacker@evil.example',
      'Ceo <attacker@evil.example>',
      'Ceo <alice@example.com>',
      'a@example.com\nBcc: x@evil.example',
    ];
    // Outside the allow-list: refused for admin; an unconstrained ("*") role may send there.
    for (const to of ['attacker@evil.example', 'ceo@example.com.evil.example', ...lookalikes, ...malformed]) {
      const { out, requests } = await delta(() => call(admin, { to, ...body }));
      expect(out.isError, `${to}: ${out.text}`).toBe(true);
      expect(requests).toBe(0);
    }
    // Malformed: refused even for "*", with destination_denied from the planner. (A look-alike IDN is
    // a real domain: "*" may send there, and the result shows it in punycode, never as it looks.)
    for (const to of malformed) {
      const { out, requests } = await delta(() => call(open, { to, ...body }));
      expect(out, to).toMatchObject({ isError: true, code: 'destination_denied' });
      expect(requests).toBe(0);
    }
  });

  it('an unconstrained ("*") role still gets only plain addresses, with destination_denied', async () => {
    const { out, requests } = await delta(() => call(open, { to: 'Ceo <alice@example.com>', ...body }));
    expect(out).toMatchObject({ isError: true, code: 'destination_denied' });
    expect(requests).toBe(0);
  });

  it('caps recipients (to and cc together) and body bytes at the granted values', async () => {
    for (const args of [
      { to: ['a@example.com', 'b@example.com'], cc: ['c@example.com'], ...body },
      { to: 'a@example.com', subject: 's', text: 'x'.repeat(401) },
      { to: 'a@example.com', subject: 's', text: 'x', html: `<p>${'&'.repeat(100)}</p>` },
    ]) {
      const { out, requests } = await delta(() => call(small, args));
      expect(out.isError, JSON.stringify(args)).toBe(true);
      expect(requests).toBe(0);
    }
    const many = Array.from({ length: 6 }, (_, i) => `u${i}@example.com`);
    const { out, requests } = await delta(() => call(admin, { to: many, ...body }));
    expect(out.isError).toBe(true);
    expect(requests).toBe(0);
  });
});

describe('send_email headers and arguments (THREATS C9, C10, C12)', () => {
  it('CLASS: a subject with any line break or control character is header_injection, nothing reaches SMTP', async () => {
    const breaker = fc.constantFrom(
      '\r\n',
      '\n',
      '\r',
      '\u000b',
      '\u000c',
      '\u0085',
      '\u2028',
      '\u2029',
      '\u001b',
      '\u007f',
    );
    const text = fc.string({ maxLength: 20 }).map((s) => s.replaceAll('\u0000', ''));
    await fc.assert(
      fc.asyncProperty(text, breaker, text, async (a, nl, b) => {
        const subject = `${a}${nl}Bcc: x@evil.example${b}`.slice(0, 250);
        const { out, requests } = await delta(() =>
          call(admin, { to: 'alice@example.com', subject, text: 'x' }),
        );
        expect(out).toMatchObject({ isError: true, code: 'header_injection' });
        expect(requests).toBe(0);
      }),
      { numRuns: 40 },
    );
  });

  it.each([
    ['bcc', { bcc: 'attacker@evil.example' }],
    ['from', { from: 'ceo@example.com' }],
    ['replyTo', { replyTo: 'attacker@evil.example' }],
    ['reply_to', { reply_to: 'attacker@evil.example' }],
    ['sender', { sender: 'security@bank.com' }],
    ['headers', { headers: { Bcc: 'attacker@evil.example' } }],
    ['envelope', { envelope: { to: ['attacker@evil.example'] } }],
    ['messageId', { messageId: '<x@evil.example>' }],
    ['attachments (path)', { attachments: [{ path: '/etc/passwd' }] }],
    ['attachments (url)', { attachments: [{ path: 'http://169.254.169.254/latest/meta-data/' }] }],
    ['attachments (file url)', { attachments: [{ href: 'file:///proc/self/environ' }] }],
  ])('%s is refused as invalid arguments, nothing reaches SMTP', async (_name, extra) => {
    const { out, requests } = await delta(() => call(admin, { to: 'alice@example.com', ...body, ...extra }));
    expect(out).toMatchObject({ isError: true, code: 'invalid_arguments' });
    expect(requests).toBe(0);
  });

  it('HTML goes out reduced to attribute-less formatting tags (no links, images, styles)', async () => {
    const html =
      '<p>Hi <b>all</b></p><img src="https://evil.example/t.png"><a href="https://evil.example">x</a>';
    const { out, messages } = await delta(() => call(admin, { to: 'alice@example.com', ...body, html }));
    expect(out.isError, out.text).toBe(false);
    expect(messages).toBe(1);
    const sent = String(f.sim.messages.at(-1)!.parsed.html);
    expect(sent).toContain('<p>Hi <b>all</b></p>');
    expect(sent).not.toMatch(/<img|<a /);
  });

  it('a secret in the body, even split by HTML tags, is refused before anything reaches SMTP (C13)', async () => {
    for (const extra of [
      { text: 'key: sk_live_4eC39HqLyjWDarjtT1zdp7dc' },
      { text: 'see html', html: '<p>sk_<b></b>live_4eC39HqLyjWDarjtT1zdp7dc</p>' },
    ]) {
      const { out, requests } = await delta(() =>
        call(admin, { to: 'alice@example.com', subject: 's', ...extra }),
      );
      expect(out).toMatchObject({ isError: true, code: 'outbound_secret' });
      expect(requests).toBe(0);
    }
  });
});

describe('send_email exactly once', () => {
  it('the same idempotency key twice is one message; the replay shows the same Message-ID', async () => {
    const args = { to: 'ops@example.com', ...body, idempotency_key: 'email-once-1' };
    const first = await delta(() => call(admin, args));
    const second = await delta(() => call(admin, args));
    expect(first.out.isError, first.out.text).toBe(false);
    expect(first.messages).toBe(1);
    expect(second.out.isError).toBe(false);
    expect(second.requests).toBe(0);
    expect(second.out.data?.messageId).toBe(first.out.data?.messageId);
    expect(second.out.meta?.['io.mcp-fleet/replayed']).toBeTruthy();
  });

  it('six concurrent identical sends with one key reach SMTP once', async () => {
    const args = { to: ['ops@example.com', 'alice@example.com'], ...body, idempotency_key: 'email-six-1' };
    const { out, messages } = await delta(() =>
      Promise.all(Array.from({ length: 6 }, () => call(admin, args))),
    );
    expect(messages).toBe(1);
    const ok = out.filter((o) => !o.isError);
    expect(ok.length).toBeGreaterThan(0);
    for (const o of ok) expect(o.data?.messageId).toBe(f.sim.messages.at(-1)!.parsed.messageId);
  });

  it('the Message-ID follows the key: the same key from another agent, or no key, is another message', async () => {
    const other = await clientAs(f.s, 'modern', 'admin', 'another-admin-agent');
    try {
      const args = { to: 'ops@example.com', ...body, idempotency_key: 'email-once-1' };
      const a = await call(other, args);
      const b = await call(admin, { to: 'ops@example.com', ...body });
      const c = await call(admin, { to: 'ops@example.com', ...body });
      const ids = [a, b, c].map((o) => o.data?.messageId);
      expect(new Set(ids).size).toBe(3);
    } finally {
      await other.close();
    }
  });
});

describe('send_email upstream failures', () => {
  it.each([
    ['a refused recipient', 'rcpt', { status: 550 }, 'upstream_rejected'],
    ['a busy server', 'connect', { status: 421 }, 'upstream_unavailable'],
    ['a rate limit', 'mail', { rateLimit: 30 }, 'upstream_rate_limited'],
    ['a refused body', 'data', { status: 554 }, 'upstream_rejected'],
  ] as const)('%s is a clear result with no SMTP dump', async (_n, stage, fault, code) => {
    f.sim.failNext(stage, fault);
    const out = await call(admin, { to: 'alice@example.com', ...body });
    expect(out).toMatchObject({ isError: true, code });
    expect(out.text).not.toMatch(/smtp-sim-password|127\.0\.0\.1|simulated/);
    f.sim.clearFaults();
  });

  it.each([
    ['deferred at DATA', 'data', { status: 451 }],
    ['rate-limited', 'mail', { rateLimit: 30 }],
    ['refused at DATA', 'data', { status: 554 }],
  ] as const)(
    'a message %s was not sent: the same key sends it once the server takes mail again',
    async (n, stage, fault) => {
      const args = {
        to: 'alice@example.com',
        ...body,
        subject: `not sent: ${n}`,
        idempotency_key: `email-not-sent-${stage}-${n.replace(/\W+/g, '-')}`,
      };
      f.sim.failNext(stage, fault);
      const first = await call(admin, args);
      expect(first.isError).toBe(true);
      expect(first.text).toMatch(/not sent/);
      expect(f.sim.messages.filter((m) => m.parsed.subject === args.subject)).toHaveLength(0);
      const again = await call(admin, args);
      expect(again.isError, again.text).toBe(false);
      expect(f.sim.messages.filter((m) => m.parsed.subject === args.subject)).toHaveLength(1);
    },
  );
});
