// teams_post_message on hostile input (attack round 2), end to end with the Teams simulator: texts and
// every card text field at the largest allowed size are answered (F10; the test's timeout bounds them),
// oversize cards are refused before their texts are read, and labels dressing another host or IP in
// markdown are refused with nothing sent (F11).
import { clientAs, type TestClient } from '@mcp-fleet/testkit';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decorated, hostile, target } from './chat-hostile.js';
import { bootChat, type ChatFleet, call } from './slack-server.js';

/** The largest Teams message (bytes; the text argument takes as many characters). */
const MAX = 28_000;
let f: ChatFleet;
let teams: TestClient;

beforeAll(async () => {
  f = await bootChat();
  teams = await clientAs(f.s, 'modern', 'teams');
});
afterAll(async () => {
  await teams?.close();
  await f?.close();
});

async function delta<T>(fn: () => Promise<T>) {
  const r0 = f.teams.requests.length;
  const out = await fn();
  return { out, requests: f.teams.requests.length - r0 };
}
const card = (body: unknown[], extra: Record<string, unknown> = {}) => ({
  type: 'AdaptiveCard',
  version: '1.4',
  body,
  ...extra,
});
const answered = (out: { code: string | undefined; text: string }) =>
  expect(out.code === undefined || /^[a-z_]+$/.test(out.code), out.text).toBe(true);

describe('teams_post_message on hostile texts of the largest size (F10)', () => {
  it('answers every generated text', { timeout: 120_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(hostile(MAX), async (text) => {
        answered(await call(teams, 'teams_post_message', { channel: 'ops-alerts', text }));
      }),
      { numRuns: 12 },
    );
    answered(await call(teams, 'teams_post_message', { channel: 'ops-alerts', text: ']('.repeat(MAX / 2) }));
  });

  it('answers every card text field filled with hostile text', { timeout: 120_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(hostile(10_000), async (t) => {
        for (const c of [
          card([{ type: 'TextBlock', text: t }]),
          card([{ type: 'FactSet', facts: [{ title: t.slice(0, 200), value: t.slice(0, 2_000) }] }]),
          card([{ type: 'TextBlock', text: 'x' }], {
            actions: [{ type: 'Action.OpenUrl', title: t.slice(0, 100), url: 'https://x.example' }],
          }),
        ])
          answered(await call(teams, 'teams_post_message', { channel: 'ops-alerts', card: c }));
      }),
      { numRuns: 8 },
    );
  });

  it('refuses a card of 50 hostile 10,000-character TextBlocks as too long, sending nothing', {
    timeout: 60_000,
  }, async () => {
    const blocks = Array.from({ length: 50 }, () => ({ type: 'TextBlock', text: ']('.repeat(5_000) }));
    const { out, requests } = await delta(() =>
      call(teams, 'teams_post_message', { channel: 'ops-alerts', card: card(blocks) }),
    );
    expect(out.code, out.text).toBe('content_too_long');
    expect(requests).toBe(0);
  });
});

describe('teams_post_message labels in markdown or IP disguise (F11)', () => {
  it('refuses every decorated host or IP label naming another host, in text and card actions; nothing sent', {
    timeout: 60_000,
  }, async () => {
    await fc.assert(
      fc.asyncProperty(decorated, target, async (label, url) => {
        for (const args of [
          { channel: 'ops-alerts', text: `see [${label}](${url})` },
          {
            channel: 'ops-alerts',
            card: card([{ type: 'TextBlock', text: 'x' }], {
              actions: [{ type: 'Action.OpenUrl', title: label, url: url.replace(/^http:/, 'https:') }],
            }),
          },
        ]) {
          const { out, requests } = await delta(() => call(teams, 'teams_post_message', args));
          expect(out.code, `${label}: ${out.text}`).toBe('disguised_link');
          expect(requests).toBe(0);
        }
      }),
      { numRuns: 30 },
    );
  });

  it('still posts a label that is the target host, decorated', async () => {
    for (const text of [
      '[**status.example.com**](https://status.example.com/x)',
      '[`10.0.0.5`](https://10.0.0.5/x)',
    ]) {
      const { out, requests } = await delta(() =>
        call(teams, 'teams_post_message', { channel: 'ops-alerts', text }),
      );
      expect(out.isError, out.text).toBe(false);
      expect(requests).toBe(1);
    }
  });
});
