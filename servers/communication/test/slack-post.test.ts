// Slack posts end to end: a real MCP client, the server, the real WebClient and the Slack simulator on
// real sockets. Broadcasts never leave unescaped, every accepted post has link previews off, disguised links
// and over-long texts are refused, and upstream failures are answered without a second send.
import { eventually, type TestClient } from '@mcp-fleet/testkit';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditRows, bootChat, type ChatFleet, call, expectSafeParams, postDelta } from './slack-server.js';

let f: ChatFleet;
let support: TestClient;
let analyst: TestClient;
let herald: TestClient;
let terse: TestClient;

beforeAll(async () => {
  f = await bootChat();
  support = await f.clientFor('modern', 'support');
  analyst = await f.clientFor('legacy', 'analyst');
  herald = await f.clientFor('modern', 'herald');
  terse = await f.clientFor('modern', 'terse');
});
afterAll(() => f?.close());

const delta = <T>(fn: () => Promise<T>) => postDelta(f, fn);
const RAW_BROADCAST = /<!(channel|here|everyone|subteam|date)|(^|[^\u2060])@(channel|here|everyone)\b/i;

/** Texts with broadcasts in every encoding, between arbitrary text. */
const text = fc.string({ unit: 'grapheme', maxLength: 30 }).filter((s) => !s.includes('\u0000'));
const broadcastText = fc
  .tuple(
    text,
    fc.constantFrom(
      '<!channel>',
      '<!here>',
      '<!everyone>',
      '<!subteam^S0ONCALL01>',
      '<!subteam^S0ONCALL01|@oncall>',
      '@channel',
      '@HERE',
      '@everyone',
      '&lt;!channel&gt;',
      '<!here|everyone>',
    ),
    text,
  )
  .map(([a, b, c]) => `${a}${b}${c}`)
  .filter((s) => s.trim() !== '');

describe('slack_post_message content (THREATS C1–C3, C6, C7)', () => {
  it('never lets a broadcast reach Slack unescaped, and every post has previews off', async () => {
    await fc.assert(
      fc.asyncProperty(broadcastText, async (t) => {
        const { out } = await delta(() =>
          call(support, 'slack_post_message', { channel: 'C0SUPPORT1', text: t }),
        );
        if (out.isError) {
          // Only content refusals (a generated disguised link or unknown mention), never a raw send.
          expect(
            ['disguised_link', 'content_refused', 'outbound_secret'],
            `${out.code} ${out.text}`,
          ).toContain(out.code);
          return;
        }
        const p = f.slack.posts.at(-1);
        expect(p?.text).not.toMatch(RAW_BROADCAST);
        expectSafeParams(p?.params ?? {});
      }),
      { numRuns: 60 },
    );
  });

  it('lets a role granted broadcasts mention @here', async () => {
    const { out } = await delta(() =>
      call(herald, 'slack_post_message', { channel: '#general', text: '<!here> deploy at 5' }),
    );
    expect(out.isError, out.text).toBe(false);
    expect(f.slack.posts.at(-1)?.text).toBe('<!here> deploy at 5');
  });

  it('refuses disguised links and over-long texts with nothing sent', async () => {
    for (const [t, code, client] of [
      ['<https://evil.example/?d=1|https://intranet.example.com/login>', 'disguised_link', support],
      ['see <https://evil.example|www.example.com>', 'disguised_link', support],
      ['x'.repeat(41), 'content_too_long', terse],
      ['x'.repeat(4001), 'content_too_long', support],
    ] as const) {
      const { out, requests } = await delta(() =>
        call(client, 'slack_post_message', { channel: 'C0SUPPORT1', text: t }),
      );
      expect(out.code, out.text).toBe(code);
      expect(requests).toBe(0);
    }
  });

  it('posts bare URLs with previews off (C1–C3) and records destination and ts in the audit', async () => {
    const t = 'Done. https://attacker.example/c?d=1 attacker.example/?d=2 www.attacker.example';
    const { out, posts } = await delta(() =>
      call(analyst, 'slack_post_message', { channel: '#analytics', text: t }),
    );
    expect(out.isError, out.text).toBe(false);
    expect(posts).toBe(1);
    const p = f.slack.posts.at(-1);
    expect(p?.text).toBe(t);
    expectSafeParams(p?.params ?? {});
    // The audit record is written as the call ends; wait for it.
    let rows: Awaited<ReturnType<typeof auditRows>> = [];
    const mine = () => rows.find((r) => r.details.upstreamId === out.data?.ts);
    await eventually(async () => {
      rows = await auditRows(f.dbUrl, 'slack_post_message');
      return mine() !== undefined;
    });
    const row = mine();
    expect(row?.outcome).toBe('ok');
    expect(row?.details.destinations).toEqual(['slack:C0ANALYT01']);
  });
});

describe('slack_post_message upstream failures', () => {
  it('retries a 429 once when Retry-After fits, and sends once', async () => {
    f.slack.failNext('chat.postMessage', { rateLimit: 1 });
    const { out, requests, posts } = await delta(() =>
      call(support, 'slack_post_message', { channel: 'C0SUPPORT1', text: 'after 429' }),
    );
    expect(out.isError, out.text).toBe(false);
    expect(requests).toBe(2);
    expect(posts).toBe(1);
  });

  it('tells the caller when to retry when Retry-After does not fit', async () => {
    f.slack.failNext('chat.postMessage', { rateLimit: 120 });
    const { out, requests, posts } = await delta(() =>
      call(support, 'slack_post_message', { channel: 'C0SUPPORT1', text: 'later' }),
    );
    expect(out.code).toBe('upstream_rate_limited');
    expect(out.meta?.['io.mcp-fleet/retryAfterMs']).toBe(120_000);
    expect(requests).toBe(1);
    expect(posts).toBe(0);
  });

  it('never retries a 5xx send, and says what happened without internals', async () => {
    f.slack.failNext('chat.postMessage', { status: 503 });
    const { out, requests } = await delta(() =>
      call(support, 'slack_post_message', { channel: 'C0SUPPORT1', text: 'x' }),
    );
    expect(out.code).toBe('upstream_unavailable');
    expect(requests).toBe(1);
    expect(out.text).not.toMatch(/xoxb|http:\/\/127|<html/);
  });

  it('reports a hung post as upstream_timeout (it may have been posted) without retrying', async () => {
    f.slack.failNext('chat.postMessage', { hang: true });
    const { out, requests } = await delta(() =>
      call(support, 'slack_post_message', { channel: 'C0SUPPORT1', text: 'slow' }),
    );
    expect(out.code, out.text).toBe('upstream_timeout');
    expect(out.text).toMatch(/may or may not/);
    expect(requests).toBe(1);
  });

  it('a post whose answer is lost after it landed is audited unknown, says it may have posted, and its key sends nothing more', async () => {
    const args = { channel: 'C0SUPPORT1', text: 'landed, answer lost', idempotency_key: 'slack-lost-answer' };
    f.slack.failNext('chat.postMessage', { dropAfterCommit: true });
    const { out, requests, posts } = await delta(() => call(support, 'slack_post_message', args));
    expect(out.isError).toBe(true);
    expect(out.code, out.text).toBe('upstream_unavailable');
    expect(out.text).toMatch(/may or may not have been posted/);
    expect(out.text).not.toMatch(/try again later/);
    expect([requests, posts]).toEqual([1, 1]);
    await eventually(async () =>
      (await auditRows(f.dbUrl, 'slack_post_message')).some(
        (r) => r.outcome === 'unknown' && (r.arguments as { text?: string }).text === args.text,
      ),
    );
    // The same key: the fleet says the first call's outcome is unknown, and nothing reaches Slack.
    const again = await delta(() => call(support, 'slack_post_message', args));
    expect(again.out.code, again.out.text).toBe('idempotency_unknown');
    expect([again.requests, again.posts]).toEqual([0, 0]);
  });

  it('a hung post is audited unknown (it may have been posted)', async () => {
    const args = {
      channel: 'C0SUPPORT1',
      text: 'hung, audited unknown',
      idempotency_key: 'slack-hung-unknown',
    };
    f.slack.failNext('chat.postMessage', { hang: true });
    const { out } = await delta(() => call(support, 'slack_post_message', args));
    expect(out.code, out.text).toBe('upstream_timeout');
    await eventually(async () =>
      (await auditRows(f.dbUrl, 'slack_post_message')).some(
        (r) => r.outcome === 'unknown' && (r.arguments as { text?: string }).text === args.text,
      ),
    );
  });

  it('a 429 sent nothing: the same key posts once Slack accepts again, as "retry after N s" says', async () => {
    const args = {
      channel: 'C0SUPPORT1',
      text: 'refused by 429, then sent',
      idempotency_key: 'slack-429-key-back',
    };
    f.slack.failNext('chat.postMessage', { rateLimit: 120 });
    const first = await delta(() => call(support, 'slack_post_message', args));
    expect(first.out.code).toBe('upstream_rate_limited');
    expect(first.posts).toBe(0);
    const again = await delta(() => call(support, 'slack_post_message', args));
    expect(again.out.isError, again.out.text).toBe(false);
    expect([again.requests, again.posts]).toEqual([1, 1]);
  });

  it('reports a revoked token as upstream_auth', async () => {
    f.slack.failNext('chat.postMessage', { error: 'token_revoked' });
    const { out } = await delta(() =>
      call(support, 'slack_post_message', { channel: 'C0SUPPORT1', text: 'x' }),
    );
    expect(out.code).toBe('upstream_auth');
    expect(out.text).not.toContain(f.slack.token);
  });
});

describe('slack_post_message: encoded links and broadcasts (attack round 1)', () => {
  it('refuses links whose target hides its host or encodes letters, and Slack receives nothing', async () => {
    const target = fc.constantFrom(
      'https://%65vil.example/',
      'https://evil%2Eexample/',
      'https://x.example/?d=sk%5Flive%5Fabcdefghijklmnop',
      'https://x.example/%41KIAABCDEFGHIJKLMNOP',
      'HTTPS://іntranet.example.com/login',
      'https://xn--ntranet-qog.example.com/',
      'https:\\\\evil.example/',
      'https://ｅｖｉｌ.example/',
      'https://evil.example:443/',
    );
    const label = fc.constantFrom('', 'report', 'evil.example', 'intranet.example.com');
    await fc.assert(
      fc.asyncProperty(target, label, async (url, l) => {
        const t = `see <${url}${l ? `|${l}` : ''}> now`;
        const { out, requests } = await delta(() =>
          call(support, 'slack_post_message', { channel: '#support-escalations', text: t }),
        );
        expect(['disguised_link', 'content_refused'], `${t}: ${out.code} ${out.text}`).toContain(out.code);
        expect(requests).toBe(0);
      }),
      { numRuns: 40 },
    );
  });

  it('never lets an encoded or disguised broadcast or mention sequence reach Slack raw', async () => {
    const seq = fc.constantFrom(
      '<%21channel>',
      '<!\u200bchannel>',
      '<!here\u200b>',
      '<\u200b!everyone>',
      '&lt;!channel&gt;',
      '&#60;!here&#62;',
      '＜!channel＞',
      '<!subteam^S0ONCALL01\u200b>',
      '<@%55%30ALICE001>',
      '<@U0ALICE001\u200b>',
      '<!CHANNEL>',
      '<! channel>',
    );
    await fc.assert(
      fc.asyncProperty(text, seq, text, async (a, s, b) => {
        const { out } = await delta(() =>
          call(support, 'slack_post_message', { channel: '#support-escalations', text: `${a}${s}${b}` }),
        );
        if (out.isError) {
          expect(
            ['disguised_link', 'content_refused', 'outbound_secret'],
            `${out.code} ${out.text}`,
          ).toContain(out.code);
          return;
        }
        const sent = f.slack.posts.at(-1)?.text ?? '';
        expect(sent).not.toMatch(RAW_BROADCAST);
        expect(sent).not.toMatch(/<!|<@(?!U0ALICE001>)/);
      }),
      { numRuns: 60 },
    );
  });
});
