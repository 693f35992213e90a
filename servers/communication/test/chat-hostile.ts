// Generators of hostile chat texts (attack round 2): pieces that made the former regexes backtrack, at
// any size, and link labels that dress a host or IP in markdown, for the chat-text, Slack and Teams tests.
import fc from 'fast-check';

/** One hostile piece. */
export const piece = fc.constantFrom(
  '](',
  '](<',
  ']( ',
  '[',
  '![',
  '<',
  '|',
  '*',
  '_',
  '\\',
  '`',
  '~',
  '[[',
  ']]',
  'a',
  'a.',
  'a-',
  '1.',
  ':',
  '::',
  '0x',
  'a://',
  '<http:a|',
  '<https://x.example|',
  '[a](',
  ' ',
);
/** A text of exactly `size` characters repeating a short mix of hostile pieces, with an optional prefix. */
export const hostile = (size: number) =>
  fc
    .tuple(
      fc.array(piece, { minLength: 1, maxLength: 3 }),
      fc.constantFrom('', '[', '<https://x.example|', '!['),
    )
    .map(([ps, prefix]) => {
      const unit = ps.join('');
      return (prefix + unit.repeat(Math.ceil(size / unit.length))).slice(0, size);
    });

/** Hosts and IP literals a disguise imitates. */
export const imitated = fc.constantFrom(
  'intranet.example.com',
  'login.example.com',
  'github.com',
  '10.0.0.5',
  '192.168.1.20',
  '0x0a.0.0.5',
  '0xa000005',
  '010.0.0.5',
  '[fe80::1]',
  '2001:db8::5',
);
/** Where disguised links really go. */
export const target = fc.constantFrom(
  'https://evil.example/login',
  'https://attacker.example',
  'http://e.example/?d=1',
);
/** Markdown a renderer hides: escapes before dots, emphasis and code around labels. */
export const marker = fc.constantFrom('\\', '*', '**', '_', '__', '~', '~~', '`');

/** An imitated host with markdown markers inserted at random places. */
export const decorated = fc
  .tuple(imitated, fc.array(fc.tuple(fc.nat(), marker), { minLength: 1, maxLength: 4 }))
  .map(([host, inserts]) => {
    let h = host;
    for (const [at, m] of inserts) {
      const i = at % (h.length + 1);
      h = h.slice(0, i) + m + h.slice(i);
    }
    return h;
  });
