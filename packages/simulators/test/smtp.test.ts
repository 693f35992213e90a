// The SMTP simulator through the real nodemailer transport: envelope and headers as received, AUTH, and
// each fault knob (4xx/5xx at RCPT and DATA, hang, dropped connection) as nodemailer reports it.
import nodemailer from 'nodemailer';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SmtpSimulator } from '../src/index.js';

let sim: SmtpSimulator;
const transport = (url = sim.url, timeout = 5_000) =>
  nodemailer.createTransport({
    url,
    connectionTimeout: timeout,
    greetingTimeout: timeout,
    socketTimeout: timeout,
  });

beforeAll(async () => {
  sim = new SmtpSimulator();
  await sim.start();
});
afterAll(() => sim.close());
afterEach(() => sim.clearFaults());

describe('SMTP simulator (nodemailer)', () => {
  it('keeps the exact envelope, raw bytes and parsed headers of a message', async () => {
    const info = await transport().sendMail({
      from: 'mcp-fleet <agents@example.com>',
      replyTo: 'ops@example.com',
      to: 'alice@example.com',
      cc: ['Audit <audit@partner.example>'],
      subject: 'Ticket SUP-4 opened',
      text: 'Hello Alice',
      html: '<p>Hello Alice</p>',
      messageId: '<fixed-id@mcp-fleet.local>',
    });
    expect(info.accepted).toEqual(['alice@example.com', 'audit@partner.example']);
    const m = sim.messages.at(-1)!;
    expect(m.envelope).toEqual({
      mailFrom: 'agents@example.com',
      rcptTo: ['alice@example.com', 'audit@partner.example'],
    });
    expect(m.user).toBe('agents@example.com');
    expect(m.parsed).toMatchObject({
      to: ['alice@example.com'],
      cc: ['audit@partner.example'],
      bcc: [],
      replyTo: ['ops@example.com'],
      subject: 'Ticket SUP-4 opened',
      messageId: '<fixed-id@mcp-fleet.local>',
      text: 'Hello Alice',
      attachments: 0,
    });
    expect(m.parsed.html).toContain('<p>Hello Alice</p>');
    expect(m.raw.toString()).toContain('Subject: Ticket SUP-4 opened');
    expect(sim.outbox.at(-1)).toMatchObject({ system: 'email', upstreamId: '<fixed-id@mcp-fleet.local>' });
    expect(JSON.stringify(sim.requests)).not.toContain(sim.password);
  });

  it('sees a bcc only in the envelope, and accepts clients without AUTH', async () => {
    await transport(sim.plainUrl).sendMail({
      from: 'agents@example.com',
      to: 'alice@example.com',
      bcc: 'hidden@elsewhere.example',
      subject: 's',
      text: 't',
    });
    const m = sim.messages.at(-1)!;
    expect(m.envelope.rcptTo).toEqual(['alice@example.com', 'hidden@elsewhere.example']);
    expect(m.parsed.bcc).toEqual([]);
    expect(m.user).toBeUndefined();
  });

  it('refuses wrong credentials with 535', async () => {
    const bad = `smtp://agents%40example.com:wrong@127.0.0.1:${sim.port}`;
    const e = await transport(bad)
      .sendMail({ from: 'a@example.com', to: 'b@example.com', text: 'x' })
      .catch((x) => x);
    expect(e).toMatchObject({ code: 'EAUTH', responseCode: 535 });
  });

  it('shows each fault knob to nodemailer', async () => {
    const mail = { from: 'agents@example.com', to: 'alice@example.com', subject: 's', text: 't' };
    const count = sim.messages.length;
    sim.failNext('rcpt', { status: 550, message: 'No such user' });
    expect(
      await transport()
        .sendMail(mail)
        .catch((e) => e),
    ).toMatchObject({ code: 'EENVELOPE', responseCode: 550 });
    sim.failNext('rcpt', { status: 450 });
    expect(
      await transport()
        .sendMail(mail)
        .catch((e) => e),
    ).toMatchObject({ responseCode: 450 });
    sim.failNext('data', { status: 554 });
    expect(
      await transport()
        .sendMail(mail)
        .catch((e) => e),
    ).toMatchObject({ code: 'EMESSAGE', responseCode: 554 });
    sim.failNext('data', { rateLimit: 60 });
    expect(
      await transport()
        .sendMail(mail)
        .catch((e) => e),
    ).toMatchObject({ responseCode: 421 });
    sim.failNext('data', { hang: true });
    expect(
      await transport(sim.url, 300)
        .sendMail(mail)
        .catch((e) => e),
    ).toMatchObject({ code: 'ETIMEDOUT' });
    sim.failNext('mail', { drop: true });
    expect(
      await transport()
        .sendMail(mail)
        .catch((e) => e),
    ).toMatchObject({ code: 'ECONNECTION' });
    expect(sim.messages.length).toBe(count);
    await transport().sendMail(mail);
    expect(sim.messages.length).toBe(count + 1);
  });

  it('accepts a message and then cuts the connection or answers late (after-commit faults at DATA)', async () => {
    const mail = { from: 'agents@example.com', to: 'alice@example.com', text: 't' };
    const count = sim.messages.length;
    sim.failNext('data', { dropAfterCommit: true });
    expect(
      await transport()
        .sendMail({ ...mail, subject: 'accepted, reply lost' })
        .catch((e) => e),
    ).toMatchObject({ code: 'ECONNECTION' });
    sim.failNext('data', { delayAfterCommit: 1_000 });
    expect(
      await transport(sim.url, 300)
        .sendMail({ ...mail, subject: 'accepted, reply late' })
        .catch((e) => e),
    ).toMatchObject({ code: 'ETIMEDOUT' });
    expect(sim.messages.slice(count).map((m) => m.parsed.subject)).toEqual([
      'accepted, reply lost',
      'accepted, reply late',
    ]);
    // At another stage an after-commit fault is answered normally.
    sim.failNext('rcpt', { dropAfterCommit: true });
    await transport().sendMail({ ...mail, subject: 'normal' });
    expect(sim.messages.length).toBe(count + 3);
  });
});
