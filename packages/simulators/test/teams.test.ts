// The Teams webhook simulator through fetch: Adaptive Cards and MessageCards accepted with "1", malformed
// and oversized payloads refused as Teams does, and the fault knobs.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { TEAMS_MAX_BYTES, TeamsSimulator } from '../src/index.js';

let sim: TeamsSimulator;
const post = (url: string, body: unknown, signal?: AbortSignal) =>
  fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
    signal,
  });
const card = (text: string) => ({
  type: 'message',
  attachments: [
    {
      contentType: 'application/vnd.microsoft.card.adaptive',
      content: { type: 'AdaptiveCard', version: '1.4', body: [{ type: 'TextBlock', text, wrap: true }] },
    },
  ],
});

beforeAll(async () => {
  sim = new TeamsSimulator();
  await sim.start();
});
afterAll(() => sim.close());
afterEach(() => sim.clearFaults());

describe('Teams simulator (fetch)', () => {
  it('has webhooks for the demo channels and accepts an Adaptive Card and a MessageCard', async () => {
    expect(Object.keys(sim.channels)).toEqual(['ops-alerts', 'general']);
    const r = await post(sim.channels['ops-alerts']!, card('Disk 91% on db-1'));
    expect([r.status, await r.text()]).toEqual([200, '1']);
    const r2 = await post(sim.channels.general!, {
      '@type': 'MessageCard',
      summary: 's',
      text: 'Deploy done',
    });
    expect([r2.status, await r2.text()]).toEqual([200, '1']);
    expect(sim.posts.map((p) => [p.channel, p.kind, p.text])).toEqual([
      ['ops-alerts', 'adaptiveCard', 'Disk 91% on db-1'],
      ['general', 'messageCard', 's\nDeploy done'],
    ]);
  });

  it('refuses malformed, empty, oversized payloads and unknown webhooks', async () => {
    const url = sim.channels['ops-alerts']!;
    const n = sim.posts.length;
    const bad = await post(url, '{not json');
    expect([bad.status, await bad.text()]).toEqual([
      400,
      'Bad payload received by generic incoming webhook.',
    ]);
    const wrongType = await post(url, {
      type: 'message',
      attachments: [{ contentType: 'text/plain', content: {} }],
    });
    expect(wrongType.status).toBe(400);
    const empty = await post(url, {});
    expect([empty.status, await empty.text()]).toEqual([400, 'Summary or Text is required.']);
    const big = await post(url, card('x'.repeat(TEAMS_MAX_BYTES)));
    expect(big.status).toBe(413);
    const unknown = await post(url.replace(/webhook\/.*/, 'webhook/nope'), card('x'));
    expect(unknown.status).toBe(404);
    expect(sim.posts.length).toBe(n);
  });

  it('shows each fault knob (by channel name or webhook id)', async () => {
    const url = sim.channels['ops-alerts']!;
    const seen = () => sim.requests.filter((r) => r.operation === sim.webhookId('ops-alerts')).length;
    const before = seen();
    sim.failNext('ops-alerts', { rateLimit: 3 });
    const limited = await post(url, card('x'));
    expect([limited.status, limited.headers.get('retry-after')]).toEqual([429, '3']);
    sim.failNext(sim.webhookId('ops-alerts')!, { status: 503 });
    expect((await post(url, card('x'))).status).toBe(503);
    sim.failNext('*', { hang: true });
    await expect(post(url, card('x'), AbortSignal.timeout(200))).rejects.toThrow();
    sim.failNext('ops-alerts', { drop: true });
    await expect(post(url, card('x'))).rejects.toThrow();
    expect((await post(sim.channels.general!, card('fine'))).status).toBe(200);
    expect(seen() - before).toBe(4);
  });
});
