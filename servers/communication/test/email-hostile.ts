// Generated hostile recipient strings for the email tests (THREATS.md C8/C9/C11): look-alike Unicode,
// quoted local parts, several addresses in one string, display names, suffix tricks, CR/LF, case, dots.
import fc from 'fast-check';

/** Domains the test policy allows: exact, a subdomain wildcard, and one exact punycode IDN. */
export const ALLOWED_DOMAINS = ['example.com', 'partner.example', '*.corp.example', 'xn--bcher-kva.example'];

/** Whether a canonical ASCII domain is allowed by ALLOWED_DOMAINS (the oracle the tests compare with). */
export function allowedByOracle(domain: string): boolean {
  if (domain === 'example.com' || domain === 'partner.example' || domain === 'xn--bcher-kva.example')
    return true;
  return domain.endsWith('.corp.example') && !domain.startsWith('xn--') && !domain.includes('.xn--');
}

const locals = fc.constantFrom('alice', 'ops', 'ceo', 'a.b', 'x+tag', 'Audit', "o'neil", 'ALICE');
const domains = fc.constantFrom(
  'example.com',
  'EXAMPLE.COM',
  'Example.Com',
  'partner.example',
  'sales.corp.example',
  'corp.example',
  'bücher.example',
  'xn--bcher-kva.example',
  'BÜCHER.example',
  'evil.example',
  'example.com.',
  'example.com..',
  'example.com.evil.example',
  'partner.example.evil.example',
  'notexample.com',
  'example.co',
  'evilcorp.example',
  'c\u043empany.com', // Cyrillic о
  'ex\u0430mple.com', // Cyrillic а
  '\uff45\uff58\uff41\uff4d\uff50\uff4c\uff45.com', // full-width "example"
  'exa\u200bmple.com', // zero-width space
  'exam%70le.com',
  'example\u3002com', // ideographic full stop
  'xn--exmple-cua.com',
  'sales.xn--bcher-kva.example',
  'xn--80ak6aa92e.corp.example',
  '[127.0.0.1]',
  '[IPv6:::1]',
  '127.0.0.1',
  'localhost',
  'example.com:25',
);

const plain = fc.tuple(locals, domains).map(([l, d]) => `${l}@${d}`);
const allowed = fc
  .tuple(locals, fc.constantFrom('example.com', 'partner.example', 'x.corp.example'))
  .map(([l, d]) => `${l}@${d}`);
const noise = fc.string({ unit: 'grapheme', maxLength: 6 }).map((s) => s.replaceAll('\u0000', ''));

/** One hostile (or occasionally innocent) recipient string. */
export const hostileRecipient: fc.Arbitrary<string> = fc.oneof(
  plain,
  allowed,
  fc.tuple(locals, domains).map(([l, d]) => `"${l}@example.com"@${d}`),
  fc.tuple(locals, domains).map(([l, d]) => `"${l}"@${d}`),
  fc.tuple(locals, domains).map(([l, d]) => `CEO <${l}@${d}>`),
  fc.tuple(locals, domains).map(([l, d]) => `"alice@example.com" <${l}@${d}>`),
  fc.tuple(locals, domains).map(([l, d]) => `<${l}@${d}>`),
  fc.tuple(allowed, plain).map(([a, b]) => `${a},${b}`),
  fc.tuple(allowed, plain).map(([a, b]) => `${a}; ${b}`),
  fc.tuple(allowed, plain).map(([a, b]) => `${a} ${b}`),
  fc.tuple(allowed, plain).map(([a, b]) => `team: ${a}, ${b};`),
  fc
    .tuple(allowed, plain, fc.constantFrom('\r\n', '\n', '\r', '\u2028', '\u0085', '\t'))
    .map(([a, b, nl]) => `${a}${nl}Bcc: ${b}`),
  fc.tuple(locals, domains).map(([l, d]) => `${l}(alice@example.com)@${d}`),
  fc.tuple(locals, domains).map(([l, d]) => `@example.com:${l}@${d}`),
  fc.tuple(locals, domains).map(([l, d]) => `${l}@example.com@${d}`),
  fc.tuple(locals, domains).map(([l, d]) => `${l}\\@example.com@${d}`),
  fc.tuple(locals, domains).map(([l, d]) => `${l}@${d}`.toUpperCase()),
  fc.tuple(plain, noise, fc.nat()).map(([s, n, at]) => {
    const i = at % (s.length + 1);
    return `${s.slice(0, i)}${n}${s.slice(i)}`;
  }),
  fc.tuple(locals, domains).map(([l, d]) => ` ${l}@${d} `),
  fc.tuple(fc.constantFrom('ali\u0441e', 'alicé', 'ａlice'), domains).map(([l, d]) => `${l}@${d}`),
);

/** `to` as the model may pass it: one string or a short array. */
export const hostileTo = fc.oneof(
  hostileRecipient,
  fc.array(hostileRecipient, { minLength: 1, maxLength: 3 }),
);

/** `to` lists mostly of allowed addresses with a hostile one now and then, so sends are also exercised. */
export const mostlyAllowedTo = fc.array(
  fc.oneof({ weight: 4, arbitrary: allowed }, { weight: 1, arbitrary: hostileRecipient }),
  { minLength: 1, maxLength: 3 },
);
