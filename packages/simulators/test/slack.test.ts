// The Slack simulator through the real @slack/web-api WebClient: reads, pagination, posting, auth
// failures and every fault knob as the client observes it.
import { ErrorCode, WebClient } from '@slack/web-api';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { INJECTION_TEXT, SLACK_IDS, SlackSimulator } from '../src/index.js';

let sim: SlackSimulator;
const client = (token: string = SLACK_IDS.token, timeout = 5_000) =>
  new WebClient(token, {
    slackApiUrl: sim.apiUrl,
    retryConfig: { retries: 0 },
    rejectRateLimitedCalls: true,
    timeout,
  });

beforeAll(async () => {
  sim = new SlackSimulator();
  await sim.start();
});
afterAll(() => sim.close());
afterEach(() => {
  sim.clearFaults();
  sim.revokeToken(false);
});

describe('Slack simulator (WebClient)', () => {
  it('answers auth.test for the bot', async () => {
    const r = await client().auth.test();
    expect(r).toMatchObject({ ok: true, user_id: SLACK_IDS.botUserId, team_id: SLACK_IDS.teamId });
  });

  it('lists channels with cursor pagination, types and exclude_archived', async () => {
    const web = client();
    const ids: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const r = await web.conversations.list({ limit: 2, cursor, types: 'public_channel,private_channel' });
      ids.push(...(r.channels ?? []).map((c) => c.id!));
      cursor = r.response_metadata?.next_cursor || undefined;
      pages += 1;
    } while (cursor);
    expect(pages).toBe(3);
    expect(ids).toEqual(['C0SUPPORT1', 'C0ANALYT01', 'C0EXECPRV1', 'C0GENERAL1', 'C0PARTNER1']);
    const pub = await web.conversations.list({});
    expect(pub.channels?.map((c) => c.id)).not.toContain('C0EXECPRV1');
    const ims = await web.conversations.list({ types: 'im' });
    expect(ims.channels?.map((c) => c.id)).toEqual(['D0ALICE001']);
    sim.workspace.channels.find((c) => c.id === 'C0ANALYT01')!.isArchived = true;
    try {
      const live = await web.conversations.list({ exclude_archived: true });
      expect(live.channels?.map((c) => c.id)).not.toContain('C0ANALYT01');
    } finally {
      sim.workspace.channels.find((c) => c.id === 'C0ANALYT01')!.isArchived = false;
    }
    const shared = await web.conversations.info({ channel: 'C0PARTNER1' });
    expect(shared.channel).toMatchObject({ is_ext_shared: true, name: 'partners-shared' });
  });

  it('reads history (paged, newest first) and a thread, including the injection text', async () => {
    const web = client();
    const first = await web.conversations.history({ channel: 'C0SUPPORT1', limit: 2 });
    expect(first.has_more).toBe(true);
    const second = await web.conversations.history({
      channel: 'C0SUPPORT1',
      limit: 2,
      cursor: first.response_metadata!.next_cursor!,
    });
    const texts = [...first.messages!, ...second.messages!].map((m) => m.text);
    expect(texts).toContain(INJECTION_TEXT);
    const parent = second.messages!.find((m) => m.reply_count === 2)!;
    const thread = await web.conversations.replies({ channel: 'C0SUPPORT1', ts: parent.ts! });
    expect(thread.messages).toHaveLength(3);
    await expect(web.conversations.replies({ channel: 'C0SUPPORT1', ts: '1.0' })).rejects.toMatchObject({
      data: { error: 'thread_not_found' },
    });
  });

  it('resolves users, emails, DMs and user groups', async () => {
    const web = client();
    expect((await web.users.lookupByEmail({ email: 'alice@example.com' })).user?.id).toBe('U0ALICE001');
    expect((await web.users.info({ user: 'U0CEO00001' })).user?.name).toBe('ceo');
    expect((await web.conversations.open({ users: 'U0ALICE001' })).channel?.id).toBe('D0ALICE001');
    expect((await web.usergroups.list({})).usergroups?.[0]).toMatchObject({
      id: 'S0ONCALL01',
      handle: 'oncall',
    });
    const members = (await web.users.list({})).members!.map((u) => u.name);
    expect(members).toEqual(expect.arrayContaining(['alice', 'bob', 'ceo']));
    await expect(web.users.lookupByEmail({ email: 'nobody@example.com' })).rejects.toMatchObject({
      data: { error: 'users_not_found' },
    });
  });

  it('posts, reads back, replies in a thread, updates and reacts; records parameters as sent', async () => {
    const web = client();
    const before = sim.posts.length;
    const r = await web.chat.postMessage({
      channel: '#support-escalations',
      text: 'SUP-9 opened for acme',
      unfurl_links: false,
      unfurl_media: false,
    });
    expect(r.ts).toMatch(/^\d{10}\.\d{6}$/);
    expect(r.channel).toBe('C0SUPPORT1');
    const hist = await web.conversations.history({ channel: 'C0SUPPORT1', limit: 1 });
    expect(hist.messages?.[0]).toMatchObject({
      ts: r.ts,
      text: 'SUP-9 opened for acme',
      bot_id: SLACK_IDS.botId,
    });
    const reply = await web.chat.postMessage({ channel: 'C0SUPPORT1', text: 'in thread', thread_ts: r.ts! });
    const thread = await web.conversations.replies({ channel: 'C0SUPPORT1', ts: r.ts! });
    expect(thread.messages?.map((m) => m.ts)).toEqual([r.ts, reply.ts]);
    await web.chat.update({ channel: 'C0SUPPORT1', ts: r.ts!, text: 'edited' });
    await web.reactions.add({ channel: 'C0SUPPORT1', timestamp: r.ts!, name: 'eyes' });
    expect(sim.posts.slice(before).map((p) => p.kind)).toEqual(['post', 'post', 'update', 'reaction']);
    expect(sim.posts[before]!.params).toMatchObject({ unfurl_links: 'false', unfurl_media: 'false' });
    expect(sim.requests.at(-1)!.headers.authorization).toBeUndefined();
    expect(JSON.stringify(sim.requests)).not.toContain(SLACK_IDS.token);
  });

  it('refuses what Slack refuses', async () => {
    const web = client();
    const err = (p: Promise<unknown>) =>
      p.then(
        () => 'ok',
        (e: { data?: { error?: string } }) => e.data?.error,
      );
    expect(await err(web.chat.postMessage({ channel: 'C0NOPE0001', text: 'x' }))).toBe('channel_not_found');
    expect(await err(web.chat.postMessage({ channel: 'C0GENERAL1', text: 'x'.repeat(40_001) }))).toBe(
      'msg_too_long',
    );
    sim.workspace.channels.find((c) => c.id === 'C0GENERAL1')!.isMember = false;
    try {
      expect(await err(web.chat.postMessage({ channel: 'C0GENERAL1', text: 'x' }))).toBe('not_in_channel');
    } finally {
      sim.workspace.channels.find((c) => c.id === 'C0GENERAL1')!.isMember = true;
    }
    expect(await err(client('xoxb-wrong').auth.test())).toBe('invalid_auth');
    sim.revokeToken();
    expect(await err(web.auth.test())).toBe('token_revoked');
  });

  it('shows each fault knob to the client as Slack would', async () => {
    const web = client();
    sim.failNext('chat.postMessage', { rateLimit: 7 });
    const limited = await web.chat.postMessage({ channel: 'C0GENERAL1', text: 'x' }).catch((e) => e);
    expect(limited).toMatchObject({ code: ErrorCode.RateLimitedError, retryAfter: 7 });
    sim.failNext('chat.postMessage', { status: 503 });
    const down = await web.chat.postMessage({ channel: 'C0GENERAL1', text: 'x' }).catch((e) => e);
    expect(down).toMatchObject({ code: ErrorCode.HTTPError, statusCode: 503 });
    sim.failNext('*', { error: 'token_revoked' });
    const revoked = await web.conversations.list({}).catch((e) => e);
    expect(revoked).toMatchObject({ code: ErrorCode.PlatformError, data: { error: 'token_revoked' } });
    sim.failNext('auth.test', { hang: true });
    const hung = await client(SLACK_IDS.token, 300)
      .auth.test()
      .catch((e) => e);
    expect(hung).toMatchObject({ code: ErrorCode.RequestError });
    sim.failNext('auth.test', { drop: true });
    const dropped = await web.auth.test().catch((e) => e);
    expect(dropped).toMatchObject({ code: ErrorCode.RequestError });
    sim.setFault('chat.postMessage', { status: 500 });
    for (let i = 0; i < 2; i++) {
      expect(
        await web.chat.postMessage({ channel: 'C0GENERAL1', text: 'x' }).catch((e) => e.statusCode),
      ).toBe(500);
    }
    sim.setFault('chat.postMessage', null);
    expect((await web.chat.postMessage({ channel: 'C0GENERAL1', text: 'back' })).ok).toBe(true);
  });

  it('posts and then loses or delays the answer (after-commit faults): the message is in the channel', async () => {
    const web = client();
    const before = sim.posts.length;
    sim.failNext('chat.postMessage', { dropAfterCommit: true });
    const dropped = await web.chat
      .postMessage({ channel: 'C0GENERAL1', text: 'landed, answer lost' })
      .catch((e) => e);
    expect(dropped).toMatchObject({ code: ErrorCode.RequestError });
    expect(sim.posts.slice(before).map((p) => p.text)).toEqual(['landed, answer lost']);
    sim.failNext('chat.postMessage', { delayAfterCommit: 1_000 });
    const late = await client(SLACK_IDS.token, 300)
      .chat.postMessage({ channel: 'C0GENERAL1', text: 'landed, answer late' })
      .catch((e) => e);
    expect(late).toMatchObject({ code: ErrorCode.RequestError });
    expect(sim.posts.slice(before).map((p) => p.text)).toEqual([
      'landed, answer lost',
      'landed, answer late',
    ]);
    const hist = await web.conversations.history({ channel: 'C0GENERAL1', limit: 2 });
    expect(hist.messages?.map((m) => m.text)).toEqual(['landed, answer late', 'landed, answer lost']);
    // A refused method never commits, whatever fault is queued: the fault waits for the next success.
    sim.failNext('chat.postMessage', { dropAfterCommit: true });
    const refused = await web.chat.postMessage({ channel: 'C0NOPE0001', text: 'x' }).catch((e) => e);
    expect(refused).toMatchObject({ code: ErrorCode.PlatformError, data: { error: 'channel_not_found' } });
    sim.clearFaults();
    expect(sim.posts.length).toBe(before + 2);
  });
});
