// The chat content rules on hostile input (attack round 2): texts of the largest allowed size built to make
// a backtracking matcher run for minutes are answered (F10; the test's timeout bounds them, no duration is
// asserted), and link labels that dress another host in markdown or spell it as an IP are refused (F11).
import { ToolError } from '@mcp-fleet/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { prepareSlackText, prepareTeamsText } from '../src/content/chat-text.js';
import { prepareCard } from '../src/teams/card.js';
import { decorated, hostile, target } from './chat-hostile.js';

const codeOf = (fn: () => unknown) => {
  try {
    fn();
    return 'ok';
  } catch (e) {
    return e instanceof ToolError ? e.code : `thrown: ${String(e)}`;
  }
};
const slackRules = { broadcast: false, maxChars: 40_000, isUser: () => true };
/** Largest text each system accepts (Slack's configurable cap, Teams' byte cap). */
const SLACK_MAX = 40_000;
const TEAMS_MAX = 28_000;

describe('hostile texts of the largest allowed size are answered (F10)', () => {
  it('Slack text', { timeout: 30_000 }, () => {
    fc.assert(
      fc.property(hostile(SLACK_MAX), (t) => {
        expect(codeOf(() => prepareSlackText(t, slackRules))).toMatch(/^(ok|[a-z_]+)$/);
      }),
      { numRuns: 40 },
    );
  });

  it('Slack link labels of the largest size', { timeout: 30_000 }, () => {
    for (const unit of ['a', 'a.', 'a-', '1.', 'a:/', '*a.', '\\a.', '0x'])
      expect(
        codeOf(() =>
          prepareSlackText(`<https://x.example|${unit.repeat(39_000 / unit.length)}>`, slackRules),
        ),
      ).toMatch(/^(ok|[a-z_]+)$/);
  });

  it('Teams text', { timeout: 30_000 }, () => {
    fc.assert(
      fc.property(hostile(TEAMS_MAX), (t) => {
        expect(codeOf(() => prepareTeamsText(t, { maxChars: TEAMS_MAX }))).toMatch(/^(ok|[a-z_]+)$/);
      }),
      { numRuns: 40 },
    );
    for (const unit of ['](', '![', '](<', '[a](', 'a.', 'a'])
      expect(
        codeOf(() => prepareTeamsText(unit.repeat(TEAMS_MAX / unit.length), { maxChars: TEAMS_MAX })),
      ).toMatch(/^(ok|[a-z_]+)$/);
  });

  it('every card text field, and cards far above the byte cap are refused before their texts are read', {
    timeout: 30_000,
  }, () => {
    fc.assert(
      fc.property(hostile(10_000), (t) => {
        const cards = [
          { body: [{ type: 'TextBlock', text: t }] },
          { body: [{ type: 'FactSet', facts: [{ title: t.slice(0, 200), value: t.slice(0, 2_000) }] }] },
          {
            body: [{ type: 'TextBlock', text: 'x' }],
            actions: [{ type: 'Action.OpenUrl', title: t.slice(0, 100), url: 'https://x.example' }],
          },
        ];
        for (const c of cards)
          expect(
            codeOf(() => prepareCard({ type: 'AdaptiveCard', version: '1.4', ...c }, TEAMS_MAX)),
          ).toMatch(/^(ok|[a-z_]+)$/);
      }),
      { numRuns: 30 },
    );
    const blocks = Array.from({ length: 50 }, () => ({ type: 'TextBlock', text: ']('.repeat(5_000) }));
    expect(codeOf(() => prepareCard({ type: 'AdaptiveCard', version: '1.4', body: blocks }, TEAMS_MAX))).toBe(
      'content_too_long',
    );
  });
});

describe('labels disguised with markdown or spelled as IP addresses (F11)', () => {
  it('refuses the reported examples', () => {
    for (const t of [
      '<https://evil.example/login|intranet.*example*.com>',
      '<https://evil.example/login|intranet.`example`.com>',
      '<https://evil.example/login|10.0.0.5>',
    ])
      expect(
        codeOf(() => prepareSlackText(t, slackRules)),
        t,
      ).toBe('disguised_link');
    for (const t of [
      '[intranet\\.example\\.com](https://evil.example/login)',
      '[intranet.**example**.com](https://evil.example/login)',
      '[10.0.0.5](https://evil.example/login)',
    ])
      expect(
        codeOf(() => prepareTeamsText(t, { maxChars: 999 })),
        t,
      ).toBe('disguised_link');
  });

  it('refuses every decorated host or IP label that names another host, in Slack, Teams and card actions', () => {
    fc.assert(
      fc.property(decorated, target, (label, url) => {
        expect(
          codeOf(() => prepareSlackText(`see <${url}|${label}>`, slackRules)),
          label,
        ).toBe('disguised_link');
        expect(
          codeOf(() => prepareTeamsText(`see [${label}](${url})`, { maxChars: 999 })),
          label,
        ).toBe('disguised_link');
      }),
      { numRuns: 400 },
    );
  });

  it('still posts labels naming the target host itself, decorated as writers do, and plain words and numbers', () => {
    const wrap = fc.constantFrom('', '*', '**', '_', '`', '~~');
    fc.assert(
      fc.property(
        fc.constantFrom('status.example.com', '10.0.0.5'),
        fc.array(wrap, { minLength: 5, maxLength: 5 }),
        fc.boolean(),
        wrap,
        (host, wraps, escapeDots, whole) => {
          const parts = host.split('.').map((p, i) => `${wraps[i] ?? ''}${p}${wraps[i] ?? ''}`);
          const label = `${whole}${parts.join(escapeDots ? '\\.' : '.')}${whole}`;
          expect(
            codeOf(() => prepareSlackText(`<https://${host}/x|${label}>`, slackRules)),
            label,
          ).toBe('ok');
          expect(
            codeOf(() => prepareTeamsText(`[${label}](https://${host}/x)`, { maxChars: 999 })),
            label,
          ).toBe('ok');
        },
      ),
    );
    for (const label of [
      'release v1.2.3',
      'ticket 12345678',
      '*status* page',
      'e.g. the runbook',
      '10:30 UTC',
    ])
      expect(
        codeOf(() => prepareSlackText(`<https://status.example.com|${label}>`, slackRules)),
        label,
      ).toBe('ok');
  });
});

describe('broadcast words followed by letters that case-fold to ASCII', () => {
  it('are neutralised however they end (`@everyoneſ`, `@hereK`)', () => {
    for (const t of ['@everyone\u017f', '@here\u212a', '@channel\u017fx'])
      for (const out of [prepareSlackText(t, slackRules), prepareTeamsText(t, { maxChars: 99 })])
        expect(out, t).toMatch(/^@\u2060/);
  });
});
