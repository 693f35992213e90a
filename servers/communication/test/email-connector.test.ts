// The SMTP connector against the SMTP simulator: readiness (SMTP verify), and every failure classified
// into an UpstreamFailure whose message is safe for a model (no URL, credentials or server text).
import { SmtpSimulator } from '@mcp-fleet/simulators';
import { freePort } from '@mcp-fleet/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EmailConnector } from '../src/email/index.js';
import { UpstreamBreaker } from '../src/upstream/breaker.js';
import { isUpstreamFailure, type UpstreamFailure } from '../src/upstream/failures.js';

let sim: SmtpSimulator;
beforeAll(async () => {
  sim = new SmtpSimulator({ requireAuth: true });
  await sim.start();
});
afterAll(() => sim.close());

const connector = (smtpUrl: string, timeoutMs = 3_000) =>
  new EmailConnector({
    smtpUrl,
    from: 'mcp-fleet <agents@example.com>',
    timeoutMs,
    breaker: new UpstreamBreaker('email', { threshold: 1_000 }),
  });

const mail = {
  to: ['alice@example.com'],
  cc: [],
  subject: 's',
  text: 't',
  messageId: '<0123456789abcdef.mcp-fleet@example.com>',
};

async function failure(p: Promise<unknown>): Promise<UpstreamFailure> {
  try {
    await p;
  } catch (err) {
    expect(isUpstreamFailure(err)).toBe(true);
    const f = err as UpstreamFailure;
    expect(f.message).not.toMatch(/smtp-sim-password|127\.0\.0\.1|simulated|smtp:\/\//);
    return f;
  }
  throw new Error('expected a failure');
}

describe('EmailConnector', () => {
  it('is ready against a server that accepts its login, and sends with the given Message-ID', async () => {
    const c = connector(sim.url);
    await c.readiness();
    const sent = await c.send(mail);
    expect(sent).toMatchObject({ messageId: mail.messageId, accepted: ['alice@example.com'], rejected: [] });
    expect(sim.messages.at(-1)?.parsed.messageId).toBe(mail.messageId);
    expect(sim.messages.at(-1)?.user).toBe('agents@example.com');
  });

  it('a refused login is upstream auth (readiness and send)', async () => {
    const c = connector(sim.url.replace('smtp-sim-password', 'wrong-password'));
    expect((await failure(c.readiness())).kind).toBe('auth');
    const before = sim.messages.length;
    expect((await failure(c.send(mail))).kind).toBe('auth');
    expect(sim.messages.length).toBe(before);
  });

  it('nobody listening is upstream unavailable', async () => {
    const c = connector(`smtp://127.0.0.1:${await freePort()}`);
    expect((await failure(c.readiness())).kind).toBe('unavailable');
    // Refused before any session: certainly not sent, and the message does not say otherwise.
    const f = await failure(c.send(mail));
    expect(f.kind).toBe('unavailable');
    expect(f.message).not.toMatch(/may or may not/);
  });

  it('a server that stops answering after DATA is a timeout that says the outcome is uncertain', async () => {
    sim.failNext('data', { hang: true });
    const f = await failure(connector(sim.url, 500).send(mail));
    expect(f.kind).toBe('timeout');
    expect(f.message).toMatch(/may or may not have been sent/);
  });

  it('refuses to be configured with more than one sender mailbox', () => {
    expect(
      () =>
        new EmailConnector({
          smtpUrl: sim.url,
          from: 'a@example.com, b@evil.example',
          timeoutMs: 1000,
          breaker: new UpstreamBreaker('email'),
        }),
    ).toThrow(/EMAIL_FROM/);
  });
});
