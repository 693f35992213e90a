// The hub as the local fleet starts it: every SDK pointed at the env it returns reaches the right
// simulator, and the outbox page (HTML, escaped, newest first) and JSON show what was sent, persisted.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebClient } from '@slack/web-api';
import { createCloudClient } from 'jira.js';
import nodemailer from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adf, OUTBOX_TITLE, readOutbox, type SimulatorHub, startSimulatorHub } from '../src/index.js';

let hub: SimulatorHub;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sim-hub-'));
  hub = await startSimulatorHub({ dataDir: dir });
});
afterAll(async () => {
  await hub.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('SimulatorHub', () => {
  it('serves all four systems from the env it returns and lists the sends on the outbox page', async () => {
    const env = hub.env;
    const slack = new WebClient(env.SLACK_BOT_TOKEN, {
      slackApiUrl: env.SLACK_API_URL,
      retryConfig: { retries: 0 },
    });
    await slack.chat.postMessage({ channel: 'C0SUPPORT1', text: '<script>alert(1)</script> SUP-4' });
    await nodemailer.createTransport(env.SMTP_URL).sendMail({
      from: 'mcp-fleet <agents@example.com>',
      to: 'ops@example.com',
      subject: 'hello ops',
      text: 'body',
    });
    const teams = JSON.parse(env.TEAMS_CHANNELS) as Record<string, string>;
    expect(Object.keys(teams)).toEqual(['ops-alerts', 'general']);
    const t = await fetch(teams['ops-alerts']!, {
      method: 'POST',
      body: JSON.stringify({ text: 'teams hi' }),
    });
    expect(await t.text()).toBe('1');
    const jira = createCloudClient({
      host: env.JIRA_URL,
      auth: { type: 'basic', email: env.JIRA_EMAIL, apiToken: env.JIRA_API_TOKEN },
    });
    const issue = await jira.issues.createIssue({
      fields: {
        project: { key: 'SUP' },
        issuetype: { name: 'Task' },
        summary: 'hub issue',
        description: adf('d'),
      },
    });

    const html = await (await fetch(hub.outboxUrl)).text();
    expect(html).toContain(OUTBOX_TITLE);
    expect(html).not.toContain('<script>alert(1)</script>');
    expect(html).toContain('&#60;script&#62;');
    for (const s of ['ops@example.com', 'ops-alerts', issue.key, 'hello ops']) expect(html).toContain(s);
    expect(html.indexOf(issue.key)).toBeLessThan(html.indexOf('hello ops'));

    const json = (await (await fetch(`${hub.outboxUrl}outbox.json`)).json()) as {
      entries: { system: string }[];
    };
    expect(json.entries.map((e) => e.system)).toEqual(['jira', 'teams', 'email', 'slack']);
    expect(readOutbox(dir).map((e) => e.system)).toEqual(['slack', 'email', 'teams', 'jira']);
    expect(JSON.stringify(readOutbox(dir))).not.toContain(env.JIRA_API_TOKEN);
  });

  it('keeps the persisted outbox across a restart', async () => {
    const again = await startSimulatorHub({ dataDir: dir });
    try {
      expect(again.outbox().length).toBe(4);
    } finally {
      await again.close();
    }
  });

  it('drives the SMTP simulator over HTTP: its requests and faults at /smtp/_simulator', async () => {
    const control = (path: string, init?: RequestInit) =>
      fetch(`${hub.outboxUrl}smtp/_simulator/${path}`, init);
    const fault = (body: unknown) =>
      control('faults', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const transport = nodemailer.createTransport({ url: hub.env.SMTP_URL, socketTimeout: 5_000 });
    const mail = {
      from: 'agents@example.com',
      to: 'ops@example.com',
      subject: 'via control plane',
      text: 't',
    };
    const dataBefore = hub.smtp.requests.filter((r) => r.operation === 'smtp.data').length;
    expect((await fault({ operation: 'rcpt', fault: { status: 550 } })).status).toBe(200);
    expect(await transport.sendMail(mail).catch((e) => e.responseCode)).toBe(550);
    expect((await fault({ operation: 'data', fault: { status: 451 }, once: false })).status).toBe(200);
    for (let i = 0; i < 2; i++) expect(await transport.sendMail(mail).catch((e) => e.responseCode)).toBe(451);
    expect((await control('faults', { method: 'DELETE' })).status).toBe(200);
    await transport.sendMail(mail);
    expect((await fault({ fault: { status: 451 } })).status).toBe(400);
    const out = (await (await control('requests')).json()) as {
      simulator: string;
      requests: { operation: string }[];
    };
    expect(out.simulator).toBe('SmtpSimulator');
    // Three DATA stages of this test: two refused, one accepted (after the earlier test's one).
    expect(out.requests.filter((r) => r.operation === 'smtp.data').length).toBe(dataBefore + 3);
    expect(hub.smtp.messages.filter((m) => m.parsed.subject === 'via control plane')).toHaveLength(1);
  });
});
