// slack_post_message on hostile input (attack round 2), end to end with the Slack simulator: texts of the
// largest allowed size built against backtracking matchers are answered (F10; the test's timeout bounds
// them), and labels dressing another host or IP in markdown are refused with nothing sent (F11).
import { clientAs, type TestClient } from '@mcp-fleet/testkit';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decorated, hostile, target } from './chat-hostile.js';
import { bootChat, type ChatFleet, call } from './slack-server.js';

/** The largest Slack text the server can be configured to take. */
const MAX = 40_000;
let f: ChatFleet;
let open: TestClient;

beforeAll(async () => {
  f = await bootChat({ COMMUNICATION_SLACK_MAX_CHARS: String(MAX) });
  open = await clientAs(f.s, 'modern', 'open');
});
afterAll(async () => {
  await open?.close();
  await f?.close();
});

const postRequests = () => f.slack.requests.filter((r) => r.operation === 'chat.postMessage').length;
async function delta<T>(fn: () => Promise<T>) {
  const r0 = postRequests();
  const out = await fn();
  return { out, requests: postRequests() - r0 };
}

describe('slack_post_message on hostile texts of the largest size (F10)', () => {
  it('answers every generated text, sent or refused', { timeout: 120_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(hostile(MAX), async (text) => {
        const out = await call(open, 'slack_post_message', { channel: '#general', text });
        expect(out.code === undefined || /^[a-z_]+$/.test(out.code), out.text).toBe(true);
      }),
      { numRuns: 12 },
    );
    for (const unit of ['a', 'a.', '1.', 'a:/', '*a.'])
      for (const text of [`<https://x.example|${unit.repeat((MAX - 30) / unit.length)}>`]) {
        const out = await call(open, 'slack_post_message', { channel: '#general', text });
        expect(out.code === undefined || /^[a-z_]+$/.test(out.code), out.text).toBe(true);
      }
  });
});

describe('slack_post_message labels in markdown or IP disguise (F11)', () => {
  it('refuses every decorated host or IP label naming another host; Slack receives nothing', {
    timeout: 60_000,
  }, async () => {
    await fc.assert(
      fc.asyncProperty(decorated, target, async (label, url) => {
        const { out, requests } = await delta(() =>
          call(open, 'slack_post_message', { channel: '#general', text: `see <${url}|${label}>` }),
        );
        expect(out.code, `${label}: ${out.text}`).toBe('disguised_link');
        expect(requests).toBe(0);
      }),
      { numRuns: 40 },
    );
  });

  it('still posts a label that is the target host, decorated', async () => {
    for (const text of [
      '<https://status.example.com/x|*status.example.com*>',
      '<https://10.0.0.5/x|`10.0.0.5`>',
    ]) {
      const { out, requests } = await delta(() =>
        call(open, 'slack_post_message', { channel: '#general', text }),
      );
      expect(out.isError, out.text).toBe(false);
      expect(requests).toBe(1);
    }
  });
});
