// The secrets scan against attack round 2: invisible fillers, look-alike letters and upper case in
// prefixes, loose private-key headers and bare key bodies, AWS's own labels, nested and split encodings,
// spaced letters, cards in any grouping or digit script, and kinds the first scan did not know. Every
// class is generated; benign look-alikes of each new rule stay unflagged.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { findSecrets, luhn, maskSecrets } from '../src/content/secrets.js';

const chars = (alphabet: string, min: number, max: number) =>
  fc.array(fc.constantFrom(...alphabet), { minLength: min, maxLength: max }).map((a) => a.join(''));
const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const UPPER_NUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
const B64 = `${ALNUM}+/`;
const b64url = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
/** A body with at least one digit, one upper and one lower letter (a real key's body). */
const body = (min: number, max: number) =>
  chars(ALNUM, min, max).map((s) => `a${s.slice(3)}Z7`.padEnd(min, 'q'));

const prose = fc
  .array(fc.constantFrom('the', 'deploy', 'für', '日本語', 'ока', 'مرحبا', 'SUP-12', '12', ',', '.', '\n'), {
    maxLength: 10,
  })
  .map((w) => w.join(' '));

/** Asserts the scan finds something in `text` and masking leaves `secret` nowhere, idempotently. */
function caught(text: string, secret: string): void {
  const found = findSecrets(text);
  expect(found.length, JSON.stringify(text)).toBeGreaterThan(0);
  const masked = maskSecrets(text);
  expect(masked, JSON.stringify(text)).not.toContain(secret);
  expect(findSecrets(masked), masked).toEqual([]);
}

/** Generated token secrets: [prefix, body]. */
const token = fc.oneof(
  fc.tuple(fc.constant('sk_live_'), body(24, 36)),
  fc.tuple(fc.constant('xoxb-'), body(24, 30)),
  fc.tuple(fc.constant('AKIA'), chars(UPPER_NUM, 16, 16)),
  fc.tuple(fc.constant('ghp_'), body(36, 36)),
  fc.tuple(fc.constant('AIza'), body(35, 35)),
);

const FILLERS = [
  '\u3164',
  '\uffa0',
  '\u2800',
  '\u115f',
  '\u1160',
  '\u180e',
  '\u2064',
  '\ufe0f',
  '\u17b4',
  '\u034f',
];

/** Latin → Cyrillic/Greek look-alikes an attacker swaps into a prefix. */
const LOOKS: Record<string, string[]> = {
  a: ['\u0430', '\u03b1'],
  e: ['\u0435', '\u03b5'],
  o: ['\u043e', '\u03bf'],
  p: ['\u0440', '\u03c1'],
  c: ['\u0441'],
  x: ['\u0445', '\u03c7'],
  i: ['\u0456', '\u03b9'],
  k: ['\u043a', '\u03ba'],
  s: ['\u0455'],
  A: ['\u0410', '\u0391'],
  K: ['\u041a', '\u039a'],
  I: ['\u0406', '\u0399'],
  E: ['\u0415', '\u0395'],
};

describe('round 2: invisible fillers (F1)', () => {
  it('finds a token with Hangul/halfwidth fillers, Braille blank or any default-ignorable inside', () => {
    fc.assert(
      fc.property(prose, token, fc.constantFrom(...FILLERS), fc.nat(), (p, [pre, b], fill, at) => {
        const i = at % b.length;
        const secret = `${pre}${b.slice(0, i)}${fill}${b.slice(i)}`;
        caught(`${p} ${secret} ${p}`, secret);
      }),
      { numRuns: 300 },
    );
  });
});

describe('round 2: look-alike and upper-case prefixes (F3)', () => {
  const withLook = (pre: string, pick: number) => {
    const idx = [...pre].map((ch, i) => (LOOKS[ch] ? i : -1)).filter((i) => i >= 0);
    if (idx.length === 0) return pre;
    const i = idx[pick % idx.length]!;
    const alts = LOOKS[pre[i]!]!;
    return pre.slice(0, i) + alts[pick % alts.length] + pre.slice(i + 1);
  };
  it('finds tokens whose prefix has a Cyrillic/Greek look-alike letter or is written upper-case', () => {
    const jwt = fc
      .tuple(fc.string({ minLength: 1, maxLength: 10 }), chars(`${ALNUM}-_`, 20, 40))
      .map(([sub, sig]) => `${b64url({ alg: 'HS256', typ: 'JWT' })}.${b64url({ sub })}.${sig}`);
    const any = fc.oneof(
      token.map(([p, b]) => ({ pre: p, rest: b })),
      jwt.map((j) => ({ pre: j.slice(0, 3), rest: j.slice(3) })),
      body(10, 20).map((b) => ({ pre: 'password=', rest: b })),
    );
    fc.assert(
      fc.property(prose, any, fc.nat(), fc.boolean(), (p, { pre, rest }, pick, upper) => {
        const prefix = upper && pre !== 'eyJ' ? pre.toUpperCase() : withLook(pre, pick);
        const secret = prefix + rest;
        caught(`${p} ${secret} ${p}`, rest);
      }),
      { numRuns: 400 },
    );
  });
});

describe('round 2: private keys (F2)', () => {
  const kinds = fc.constantFrom('RSA ', 'EC ', 'OPENSSH ', 'DSA ', 'ENCRYPTED ', '');
  const lines = fc.array(chars(B64, 64, 64), { minLength: 4, maxLength: 8 });
  it('finds a header in any case, with 3-6 dashes, spaced dashes or a look-alike letter', () => {
    fc.assert(
      fc.property(
        kinds,
        lines,
        fc.integer({ min: 3, max: 6 }),
        fc.constantFrom('lower', 'mixed', 'upper', 'cyrillic'),
        fc.boolean(),
        (k, ls, n, style, spaced) => {
          let head = `BEGIN ${k}PRIVATE KEY`;
          if (style === 'lower') head = head.toLowerCase();
          if (style === 'mixed') head = [...head].map((c, i) => (i % 2 ? c.toLowerCase() : c)).join('');
          if (style === 'cyrillic') head = head.replace('KEY', 'K\u0415Y');
          const dashes = spaced ? Array(n).fill('-').join(' ') : '-'.repeat(n);
          const text = `key:\n${dashes}${head}${dashes}\n${ls.join('\n')}\n`;
          caught(text, ls[1]!);
        },
      ),
      { numRuns: 200 },
    );
  });
  it('finds a PEM/PKCS#8 body (MII…) or an OpenSSH body on its own, across lines', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('MIIEvQIBADANBgkqhkiG9w0BAQEFAASC', 'b3BlbnNzaC1rZXktdjEAAAAA'),
        lines,
        (start, ls) => {
          const all = start + ls.join('');
          const wrapped = all.replace(/(.{64})(?=.)/g, '$1\n');
          caught(`here:\n${wrapped}\nthanks`, ls[2]!);
        },
      ),
      { numRuns: 100 },
    );
  });
});

describe('round 2: AWS secret key labels (F6) and split label/value (F5 in one text)', () => {
  it('finds a 40-char secret after the label as AWS writes it, with any case and separators', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(
          'AWS Secret Access Key: ',
          'aws secret access key = ',
          '--aws-secret-access-key ',
          'AWS_SECRET_ACCESS_KEY=',
          'Secret Access Key\n',
          'aws-secret-key: ',
        ),
        chars(B64, 36, 36).map((s) => `wJ${s}aZ`),
        (label, key) => caught(`creds ${label}${key} done`, key),
      ),
      { numRuns: 150 },
    );
  });
});

describe('round 2: encodings (F7)', () => {
  it('finds base64 of base64, base64 split across lines, hex, and letters separated by single spaces', () => {
    const wrap = fc.constantFrom(
      (s: string) => Buffer.from(Buffer.from(`key ${s}`).toString('base64')).toString('base64'),
      (s: string) => {
        const b = Buffer.from(`the key is ${s} ok`).toString('base64');
        const i = Math.floor(b.length / 2);
        return `${b.slice(0, i)}\n${b.slice(i)}`;
      },
      (s: string) => Buffer.from(`key ${s}`).toString('hex'),
      (s: string) => [...s].join(' '),
    );
    fc.assert(
      fc.property(prose, token, wrap, (p, [pre, b], w) => {
        const encoded = w(pre + b);
        const found = findSecrets(`${p}\n${encoded}\n${p}`);
        expect(found.length, JSON.stringify(encoded)).toBeGreaterThan(0);
        const masked = maskSecrets(`${p}\n${encoded}\n${p}`);
        expect(masked).not.toContain(encoded);
      }),
      { numRuns: 300 },
    );
  });
});

/** A Visa/Mastercard-like number with a valid Luhn digit. */
const card = fc
  .tuple(
    fc.constantFrom('4', '51', '55'),
    fc.array(fc.integer({ min: 0, max: 9 }), { minLength: 14, maxLength: 14 }),
  )
  .map(([p, ds]) => {
    const s = (p + ds.join('')).slice(0, 15);
    for (let d = 0; d <= 9; d++) if (luhn(s + d)) return s + d;
    throw new Error('unreachable');
  });
const ZEROS = [0x660, 0x6f0, 0x966, 0x9e6, 0xe50, 0xff10, 0x1040];

describe('round 2: card numbers (F8)', () => {
  it('finds a card in any grouping of 2-4 digits, with _ , : | newline or x between, or in another digit script', () => {
    fc.assert(
      fc.property(
        card,
        fc.array(fc.integer({ min: 2, max: 4 }), { minLength: 8, maxLength: 8 }),
        fc.constantFrom(' ', '_', ',', ':', ' | ', '\n', 'x', '-', '  '),
        fc.option(fc.constantFrom(...ZEROS)),
        (n, sizes, sep, zero) => {
          const groups: string[] = [];
          let at = 0;
          for (const k of sizes) {
            if (at >= n.length) break;
            groups.push(n.slice(at, at + k));
            at += k;
          }
          if (at < n.length) groups.push(n.slice(at));
          let text = groups.join(sep);
          if (zero !== null) text = text.replace(/\d/g, (d) => String.fromCodePoint(zero + Number(d)));
          const found = findSecrets(`pay with ${text} now`);
          expect(
            found.map((f) => f.kind),
            JSON.stringify(text),
          ).toContain('card_number');
          expect(findSecrets(maskSecrets(`pay with ${text} now`))).toEqual([]);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('round 2: kinds the first scan missed (F9)', () => {
  const strong = fc
    .tuple(chars('abcdefghijklmnop', 5, 10), chars('0123456789', 2, 4), chars('ABCDEFGH!#', 1, 3))
    .map(([a, d, u]) => `${u}${a}${d}`);
  const cases = fc.oneof(
    strong.map((v) => [`export PGPASSWORD=${v}`, v]),
    strong.map((v) => [`MYSQL_PWD=${v}`, v]),
    strong.map((v) => [`__DB__PASSWORD=${v}`, v]),
    strong.map((v) => [`SECRET_KEY=${v}`, v]),
    strong.map((v) => [`DJANGO_SECRET_KEY="${v}"`, v]),
    strong.map((v) => [`GITHUB_TOKEN=${v}`, v]),
    strong.map((v) => [`APP_CLIENT_SECRET: ${v}`, v]),
    strong.map((v) => [`'password' => "${v}"`, v]),
    strong.map((v) => [`the password is ${v}`, v]),
    strong.map((v) => [`Password is: ${v}`, v]),
    body(30, 60).map((v) => [`Authorization: Bearer ${v}`, v]),
    body(40, 80).map((v) => [`token ya29.${v}`, `ya29.${v}`]),
    fc.tuple(fc.constantFrom('xoxc', 'xoxd', 'xoxe'), body(30, 40)).map(([p, v]) => [`${p}-${v}`, v]),
    fc
      .tuple(chars(UPPER_NUM, 9, 11), chars(UPPER_NUM, 9, 11), body(24, 24))
      .map(([t, b, s]) => [`https://hooks.slack.com/services/T${t}/B${b}/${s}`, s]),
    fc
      .tuple(fc.integer({ min: 1e17, max: 9e17 }), body(60, 68))
      .map(([id, s]) => [`https://discord.com/api/webhooks/${id}/${s}`, s]),
    fc
      .tuple(fc.uuid(), fc.uuid(), body(32, 32))
      .map(([a, b, s]) => [
        `https://acme.webhook.office.com/webhookb2/${a}@${b}/IncomingWebhook/${s}/${a}`,
        s,
      ]),
  );
  it('finds env-style passwords and secrets, PHP/prose passwords, bearer tokens, OAuth, Slack and webhook URLs', () => {
    fc.assert(
      fc.property(prose, cases, (p, [text, secret]) => caught(`${p} ${text} ${p}`, secret!)),
      { numRuns: 400 },
    );
  });
});

describe('round 2: benign look-alikes of every new rule', () => {
  it('does not flag prose in Cyrillic/Greek, weak "password is" words, placeholders, bare prefixes, numbers, dimensions, hex or base64 of prose', () => {
    const words = fc.constantFrom('the', 'deploy', 'customer', 'order', 'is', 'ready', 'SUP-12', 'acme');
    const prose2 = fc.array(words, { minLength: 1, maxLength: 8 }).map((w) => w.join(' '));
    const benign = fc.oneof(
      prose2,
      fc.constantFrom(
        'секрет пароль ключ токен',
        'κωδικός πρόσβασης',
        'the password is incorrect',
        'the password is wrong, reset it',
        'password is 12345678',
        'password => null',
        "'password' => $password",
        'SECRET_KEY=${SECRET_KEY}',
        'export PGPASSWORD=$PGPASSWORD',
        'Authorization: Bearer <token>',
        'a Bearer token is required',
        'Authorization: Bearer ${TOKEN}',
        'ya29 is the prefix of a Google token',
        'https://hooks.slack.com/services/',
        'https://discord.com/api/webhooks/',
        'begin the private key rotation tomorrow',
        'MIIT course',
        '--- BEGIN ---',
        'the aws secret access key is in the vault',
        'resolution 1920x1080 at 60 Hz',
        'call +1 415 555 0100 or 020 7946 0958',
        'meeting 12:30:45 on 2024-01-15',
        'a b c d e f g h',
        'x y z',
        'SK_ is a prefix, XOXB- too',
        'ids 12, 345, 6789, 10',
        'ids 3909, 9083, 5377, 946, 0',
        'ratio 4111:1111 at 11:11',
        '٠١٢٣ ٤٥٦ ७८९',
        'ㅤ ⠀',
      ),
      prose2.map((p) => Buffer.from(p).toString('hex')),
      prose2.map((p) => Buffer.from(Buffer.from(p).toString('base64')).toString('base64')),
      prose2.map((p) => [...p].join(' ')),
      chars('0123456789abcdef', 40, 40),
      chars('0123456789abcdef', 64, 64),
      fc.uuid(),
      fc
        .array(fc.integer({ min: 0, max: 9999 }).map(String), { minLength: 1, maxLength: 3 })
        .map((a) => a.join(', ')),
    );
    // Parts are kept apart by ' | ': joined by a bare space, two benign parts can together take a
    // secret's shape, and then flagging them is right (seen in CI, about once in 100,000 texts: a UUID
    // after "'password' => $password is" reads as an assignment, "MIIT" then 64 hex digits as a key
    // body, number groups running on into Arabic-Indic digits as a card).
    fc.assert(
      fc.property(fc.array(benign, { maxLength: 5 }), (parts) => {
        const text = parts.join(' | ');
        expect(findSecrets(text), JSON.stringify(text)).toEqual([]);
      }),
      { numRuns: 800 },
    );
  });
});
