// send_email against the evasions of attack round 1: RFC 2047 encoded words in the subject (which a
// reader's client decodes into line breaks or secrets), relay-routing characters in local parts, a
// secret carried in a recipient address, and the advice an uncertain send gives.
import { clientAs, eventually, type TestClient } from '@mcp-fleet/testkit';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseRecipient, RecipientRefusal } from '../src/email/addresses.js';
import { hostileRecipient } from './email-hostile.js';
import { auditRows, bootEmail, call, type EmailFleet } from './email-server.js';

let f: EmailFleet;
let admin: TestClient;

beforeAll(async () => {
  f = await bootEmail();
  admin = await clientAs(f.s, 'modern', 'admin');
});
afterAll(async () => {
  await admin?.close();
  await f?.close();
});

/** Runs `fn` and returns how many SMTP requests reached the simulator meanwhile. */
async function delta<T>(fn: () => Promise<T>): Promise<{ out: T; requests: number }> {
  const r0 = f.sim.requests.length;
  const out = await fn();
  return { out, requests: f.sim.requests.length - r0 };
}

const plain = fc
  .string({ maxLength: 30 })
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are another test's class
  .map((s) => s.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, ''));
const word = fc.stringMatching(/^[a-z0-9]{1,10}$/);

/** An RFC 2047 encoded word of `text`: any charset name, q or b, either case. */
const encodedWord = fc
  .record({
    charset: fc.oneof(
      fc.constantFrom('utf-8', 'UTF-8', 'iso-8859-1', 'us-ascii', 'Windows-1252', 'utf-8*en'),
      fc.stringMatching(/^[A-Za-z0-9_-]{1,12}$/),
    ),
    enc: fc.constantFrom('q', 'Q', 'b', 'B'),
    text: fc.oneof(
      fc.constant('Hi\r\nBcc: x@evil.example'),
      fc.constant('sk_live_4eC39HqLyjWDarjtT1zdp7dc'),
      plain,
    ),
  })
  .map(({ charset, enc, text }) => {
    const bytes = Buffer.from(text, 'utf8');
    const payload =
      enc.toLowerCase() === 'b'
        ? bytes.toString('base64')
        : [...bytes]
            .map((b) =>
              b === 0x20
                ? '_'
                : /[A-Za-z0-9]/.test(String.fromCharCode(b))
                  ? String.fromCharCode(b)
                  : `=${b.toString(16).toUpperCase().padStart(2, '0')}`,
            )
            .join('');
    return `=?${charset}?${enc}?${payload}?=`;
  });

describe('send_email subject: RFC 2047 encoded words (round 1, F-mail 2)', () => {
  it('CLASS: a subject holding any encoded word is header_injection, nothing reaches SMTP', async () => {
    await fc.assert(
      fc.asyncProperty(plain, encodedWord, plain, async (a, w, b) => {
        const subject = `${a}${w}${b}`.slice(0, 250);
        fc.pre(subject.includes(w));
        const { out, requests } = await delta(() =>
          call(admin, { to: 'alice@example.com', subject, text: 'x' }),
        );
        expect(out).toMatchObject({ isError: true, code: 'header_injection' });
        expect(requests).toBe(0);
      }),
      { numRuns: 40 },
    );
  });

  it('plain subjects with = and ? (and non-ASCII, which nodemailer encodes itself) still go out', async () => {
    for (const subject of ['Is x=1? yes', 'a =? b', 'Grüße ?= aus Köln', '2+2=4?']) {
      const { out, requests } = await delta(() =>
        call(admin, { to: 'alice@example.com', subject, text: 'x' }),
      );
      expect(out.isError, `${subject}: ${out.text}`).toBe(false);
      expect(requests).toBeGreaterThan(0);
      expect(f.sim.messages.at(-1)!.parsed.subject).toBe(subject);
    }
  });
});

describe('send_email local parts: relay routing (round 1, F-mail 3)', () => {
  const ROUTING = ['%', '!', '/', '=', '|', '`', '$', '{', '}', '#', '&', '^', '~', '?', '*'];
  it('CLASS: a local part with a routing or shell-ish character is refused, nothing reaches SMTP', async () => {
    await fc.assert(
      fc.asyncProperty(word, fc.constantFrom(...ROUTING), word, async (a, ch, b) => {
        const to =
          ch === '%' || ch === '!'
            ? ch === '%'
              ? `${a}%evil.example@example.com`
              : `evil.example!${b}@example.com`
            : `${a}${ch}${b}@example.com`;
        const { out, requests } = await delta(() => call(admin, { to, subject: 's', text: 'x' }));
        // The policy check (constraint_denied) or the planner (destination_denied) refuses it first.
        expect(out.isError).toBe(true);
        expect(['constraint_denied', 'destination_denied']).toContain(out.code);
        expect(requests).toBe(0);
      }),
      { numRuns: 40 },
    );
  });

  it("CLASS: every accepted local part is letters, digits and . _ + - ' only", () => {
    fc.assert(
      fc.property(
        fc.oneof(
          hostileRecipient,
          fc
            .tuple(word, fc.constantFrom(...ROUTING, '.', '_', '+', '-', "'"), word)
            .map(([a, c, b]) => `${a}${c}${b}@example.com`),
        ),
        (v) => {
          let r: ReturnType<typeof parseRecipient>;
          try {
            r = parseRecipient(v, 'to');
          } catch (err) {
            expect(err).toBeInstanceOf(RecipientRefusal);
            return;
          }
          expect(r.address.slice(0, r.address.lastIndexOf('@'))).toMatch(/^[A-Za-z0-9._+'-]+$/);
        },
      ),
      { numRuns: 2000 },
    );
  });
});

describe('send_email recipients are scanned for secrets (round 1, F-mail 4)', () => {
  const key = fc.stringMatching(/^[A-Za-z0-9]{24}$/).map((k) => `sk_live_${k}`);
  it('CLASS: a secret in any To or Cc address (string or array) is outbound_secret, nothing reaches SMTP', async () => {
    await fc.assert(
      fc.asyncProperty(key, fc.constantFrom('to', 'to[]', 'cc', 'cc[]'), async (secret, where) => {
        const bad = `a+${secret}@example.com`;
        const args: Record<string, unknown> =
          where === 'to'
            ? { to: bad }
            : where === 'to[]'
              ? { to: ['ops@example.com', bad] }
              : { to: 'ops@example.com', cc: where === 'cc' ? bad : [bad] };
        const { out, requests } = await delta(() => call(admin, { ...args, subject: 's', text: 'x' }));
        expect(out).toMatchObject({ isError: true, code: 'outbound_secret' });
        expect(requests).toBe(0);
      }),
      { numRuns: 12 },
    );
  });
});

describe('send_email uncertain outcome (round 1, F-mail 1)', () => {
  it('a send whose server stops answering after DATA says concretely what to do, and the same key replays it without sending', async () => {
    f.sim.failNext('data', { hang: true });
    const args = {
      to: 'ops@example.com',
      subject: 'uncertain',
      text: 'x',
      idempotency_key: 'email-uncertain-1',
    };
    const first = await call(admin, args);
    expect(first).toMatchObject({ isError: true, code: 'upstream_timeout' });
    expect(first.text).toMatch(/may or may not have been sent/);
    expect(first.text).toMatch(/Message-ID <[^>]+>/);
    expect(first.text).toMatch(/new idempotency_key/);
    // Audited as what it is: an outcome nobody knows, not an error that sent nothing.
    await eventually(async () =>
      (await auditRows(f.dbUrl)).some(
        (r) => r.outcome === 'unknown' && (r.arguments as { subject?: string }).subject === 'uncertain',
      ),
    );
    const again = await delta(() => call(admin, args));
    expect(again.requests).toBe(0);
    expect(again.out).toMatchObject({ isError: true, code: 'idempotency_unknown' });
  });

  it('a message the server took before the connection dropped (after DATA) is audited unknown, and sent once', async () => {
    f.sim.failNext('data', { dropAfterCommit: true });
    const args = {
      to: 'ops@example.com',
      subject: 'taken, reply lost',
      text: 'x',
      idempotency_key: 'email-lost-reply',
    };
    const first = await delta(() => call(admin, args));
    expect(first.out).toMatchObject({ isError: true });
    expect(first.out.text).toMatch(/may or may not have been sent/);
    expect(f.sim.messages.filter((m) => m.parsed.subject === args.subject)).toHaveLength(1);
    await eventually(async () =>
      (await auditRows(f.dbUrl)).some(
        (r) => r.outcome === 'unknown' && (r.arguments as { subject?: string }).subject === args.subject,
      ),
    );
    const again = await delta(() => call(admin, args));
    expect(again.requests).toBe(0);
    expect(f.sim.messages.filter((m) => m.parsed.subject === args.subject)).toHaveLength(1);
  });
});
