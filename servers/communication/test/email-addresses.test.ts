// Recipient parsing and the domain allow-list on their own: the THREATS.md C8 corpus, then the class
// with generated hostile strings (every accepted address is one plain ASCII addr-spec of an allowed domain).
import fc from 'fast-check';
import addressparser from 'nodemailer/lib/addressparser';
import { describe, expect, it } from 'vitest';
import {
  domainAllowed,
  parseRecipient,
  parseRecipients,
  RecipientRefusal,
  ruleProblem,
} from '../src/email/addresses.js';
import { sanitizeHtml } from '../src/email/content.js';
import { ALLOWED_DOMAINS, allowedByOracle, hostileRecipient } from './email-hostile.js';

const rule = { domains: ALLOWED_DOMAINS, secrets: 'refuse' as const };

describe('parseRecipient', () => {
  it.each(['attacker@evil.example', 'ceo@company.com.evil.example', 'ceo@example.com.evil.example'])(
    '%s parses but its domain is not allowed',
    (v) => {
      const r = parseRecipient(v, 'to');
      expect(ruleProblem([r], rule, 20)).toMatch(/not allowed/);
    },
  );

  it.each([
    '"ceo@example.com"@evil.example',
    'ceo@c\u043empany.com',
    'ceo@ex\u0430mple.com',
    'ceo@example.com,attacker@evil.example',
    'ceo@example.com;attacker@evil.example',
    'Ceo <attacker@evil.example>',
    'Ceo <alice@example.com>',
    'a@example.com\r\nBcc: x@evil.example',
    'a@example.com\nBcc: x@evil.example',
    'team: a@example.com, b@evil.example;',
    'alice(x)@example.com',
    '@example.com:alice@evil.example',
    'alice@[127.0.0.1]',
    'alice@example.com.',
    'alicé@example.com',
    'alice@exa\u200bmple.com',
    'alice@exam%70le.com',
    'alice@\uff45\uff58\uff41\uff4d\uff50\uff4c\uff45.com',
    'alice@localhost',
    'alice@127.0.0.1',
  ])('%j is refused outright, or parses to a domain the allow-list refuses', (v) => {
    let r: ReturnType<typeof parseRecipient> | undefined;
    try {
      r = parseRecipient(v, 'to');
    } catch (err) {
      expect(err).toBeInstanceOf(RecipientRefusal);
      return;
    }
    expect(ruleProblem([r], rule, 20)).not.toBeNull();
  });

  it('canonicalises case of the domain only, and IDNs to the exact allow-listed punycode', () => {
    expect(parseRecipient('Alice@EXAMPLE.Com', 'to').address).toBe('Alice@example.com');
    const idn = parseRecipient('ops@bücher.example', 'cc');
    expect(idn).toMatchObject({ address: 'ops@xn--bcher-kva.example', idn: true, field: 'cc' });
    expect(ruleProblem([idn], rule, 20)).toBeNull();
    // A wildcard never covers a punycode label: look-alikes need an exact entry.
    expect(domainAllowed('*.corp.example', { domain: 'xn--80ak6aa92e.corp.example', idn: true })).toBe(false);
    expect(domainAllowed('*.corp.example', { domain: 'sales.corp.example', idn: false })).toBe(true);
    expect(domainAllowed('*.corp.example', { domain: 'corp.example', idn: false })).toBe(false);
    expect(domainAllowed('*.corp.example', { domain: 'evilcorp.example', idn: false })).toBe(false);
  });

  it('refuses duplicates, a cc-only message and more recipients than the cap', () => {
    expect(() => parseRecipients({ to: ['a@example.com', 'A@EXAMPLE.com'] })).toThrow(/twice/);
    expect(() => parseRecipients({ to: 'a@example.com', cc: 'a@example.com' })).toThrow(/twice/);
    expect(() => parseRecipients({ to: [], cc: ['a@example.com'] })).toThrow(/to/);
    const many = parseRecipients({ to: ['a@example.com', 'b@example.com'], cc: ['c@example.com'] });
    expect(ruleProblem(many, { ...rule, maxRecipients: 2 }, 20)).toMatch(/at most 2/);
    expect(ruleProblem(many, rule, 2)).toMatch(/at most 2/);
  });

  it('CLASS: any hostile string is refused, or becomes one plain ASCII address whose domain decision matches the oracle', () => {
    fc.assert(
      fc.property(hostileRecipient, (v) => {
        let r: ReturnType<typeof parseRecipient>;
        try {
          r = parseRecipient(v, 'to');
        } catch (err) {
          expect(err).toBeInstanceOf(RecipientRefusal);
          return;
        }
        expect(r.address).toMatch(/^[\x21-\x7e]+$/);
        expect(r.address).not.toMatch(/[",;<>()[\]\\:]/);
        expect(r.address.split('@')).toHaveLength(2);
        expect(r.domain).toBe(r.domain.toLowerCase());
        expect(r.address.endsWith(`@${r.domain}`)).toBe(true);
        // Both nodemailer's lenient parser and the RFC parser see exactly this one address.
        const seen = addressparser(r.address, { flatten: true }) as { address: string }[];
        expect(seen.map((a) => a.address)).toEqual([r.address]);
        expect(ruleProblem([r], rule, 20) === null).toBe(allowedByOracle(r.domain));
      }),
      { numRuns: 3000 },
    );
  });
});

describe('sanitizeHtml', () => {
  it('keeps attribute-less formatting tags and shows everything else as text', () => {
    const { html, visibleText } = sanitizeHtml(
      '<p>Hi <b>there</b></p><img src="https://evil.example/x.png"><a href="https://evil.example">x</a>' +
        '<script>alert(1)</script><style>@import url(https://evil.example)</style><form action=x></form>&#115;k&amp;',
    );
    expect(html).toBe(
      '<p>Hi <b>there</b></p>&lt;img src=&quot;https://evil.example/x.png&quot;&gt;&lt;a href=&quot;https://evil.example&quot;&gt;x&lt;/a&gt;' +
        '&lt;script&gt;alert(1)&lt;/script&gt;&lt;style&gt;@import url(https://evil.example)&lt;/style&gt;&lt;form action=x&gt;&lt;/form&gt;&amp;#115;k&amp;',
    );
    expect(visibleText).toContain('<script>alert(1)</script>');
  });

  it('CLASS: no generated input produces a tag with an attribute or outside the allow-list', () => {
    const piece = fc.oneof(
      fc.constantFrom(
        '<',
        '>',
        '"',
        "'",
        '=',
        '&',
        ';',
        '#',
        '/',
        ' ',
        'p',
        'a',
        'img',
        'src',
        'href',
        'b',
        'script',
      ),
      fc.string({ maxLength: 4 }),
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 40 }), (parts) => {
        const { html } = sanitizeHtml(parts.join(''));
        for (const m of html.matchAll(/<[^>]*>?/g)) {
          expect(m[0]).toMatch(
            /^<\/?(p|br|b|strong|i|em|u|s|ul|ol|li|h[1-4]|blockquote|pre|code|hr|table|thead|tbody|tr|th|td)>$/,
          );
        }
      }),
      { numRuns: 2000 },
    );
  });
});
