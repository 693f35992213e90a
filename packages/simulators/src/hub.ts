// The hub the local fleet starts: Slack, Teams and Jira on one HTTP port (/slack, /teams, /jira), SMTP on a
// second (its control plane at /smtp/_simulator on the HTTP port), the outbox page at `/` (JSON at
// /outbox.json), optionally persisted to `<dataDir>/outbox.json`.
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { JiraSimulator } from './jira/simulator.js';
import { controlRoutes, createApp, originOf } from './shared/http.js';
import { OUTBOX_TITLE, renderOutbox } from './shared/outbox-page.js';
import type { OutboxEntry, Recorder } from './shared/records.js';
import { SlackSimulator } from './slack/simulator.js';
import { SmtpSimulator } from './smtp.js';
import { TeamsSimulator } from './teams.js';

/** Where the hub listens and keeps its outbox. */
export interface SimulatorHubOptions {
  /** HTTP port for Slack, Teams, Jira and the outbox page (0 = any free port, the default). */
  httpPort?: number;
  /** SMTP port (0 = any free port, the default). */
  smtpPort?: number;
  /** Interface to bind (default 127.0.0.1). */
  host?: string;
  /** Directory where `outbox.json` is kept across restarts (the local fleet passes `.fleet/outbox`). */
  dataDir?: string;
}

/** The environment the communication server needs to talk to the hub (the operator contract's names). */
export interface SimulatorEnv {
  SLACK_API_URL: string;
  SLACK_BOT_TOKEN: string;
  SMTP_URL: string;
  /** JSON object: channel name -> webhook URL. */
  TEAMS_CHANNELS: string;
  JIRA_URL: string;
  JIRA_EMAIL: string;
  JIRA_API_TOKEN: string;
}

/** A running hub. */
export interface SimulatorHub {
  env: SimulatorEnv;
  /** Same values as `env` (kept for readability at call sites). */
  urls: SimulatorEnv;
  slack: SlackSimulator;
  smtp: SmtpSimulator;
  teams: TeamsSimulator;
  jira: JiraSimulator;
  /** The outbox page (`/`); `/outbox.json` is the same as JSON. */
  outboxUrl: string;
  /** Everything sent, all systems, oldest first (including entries loaded from `dataDir`). */
  outbox(): OutboxEntry[];
  close(): Promise<void>;
}

/** File name of the persisted outbox inside `dataDir`. */
export const OUTBOX_FILE = 'outbox.json';

/** Reads a persisted outbox (oldest first); empty when there is none. For `pnpm fleet outbox`. */
export function readOutbox(dataDir: string): OutboxEntry[] {
  try {
    const data = JSON.parse(readFileSync(join(dataDir, OUTBOX_FILE), 'utf8')) as { entries?: OutboxEntry[] };
    return Array.isArray(data.entries) ? data.entries : [];
  } catch {
    return [];
  }
}

/** Starts every simulator: HTTP ones on one port, SMTP on another. */
export async function startSimulatorHub(opts: SimulatorHubOptions = {}): Promise<SimulatorHub> {
  const host = opts.host ?? '127.0.0.1';
  const slack = new SlackSimulator();
  const teams = new TeamsSimulator();
  const jira = new JiraSimulator();
  const smtp = new SmtpSimulator();
  const entries: OutboxEntry[] = opts.dataDir ? readOutbox(opts.dataDir) : [];
  const persist = () => {
    if (!opts.dataDir) return;
    mkdirSync(opts.dataDir, { recursive: true });
    const file = join(opts.dataDir, OUTBOX_FILE);
    writeFileSync(`${file}.tmp`, JSON.stringify({ title: OUTBOX_TITLE, entries }, null, 1));
    renameSync(`${file}.tmp`, file);
  };
  for (const r of [slack.recorder, teams.recorder, jira.recorder, smtp.recorder] as Recorder[]) {
    r.on('outbox', (e) => {
      entries.push(e);
      persist();
    });
  }

  const app = createApp();
  await slack.register(app, '/slack');
  await teams.register(app, '/teams');
  await jira.register(app, '/jira');
  // The SMTP simulator's control plane (it speaks SMTP, not HTTP): /smtp/_simulator/{requests,faults},
  // operations are its stages (connect, mail, rcpt, data).
  await app.register(async (scope) => controlRoutes(scope, 'SmtpSimulator', smtp, () => smtp.requests), {
    prefix: '/smtp',
  });
  let env: SimulatorEnv | undefined;
  const links = () => ({
    'Slack Web API': env?.SLACK_API_URL ?? '',
    SMTP: `smtp://${host}:${smtp.port}`,
    'Teams webhooks': Object.keys(teams.channels).join(', '),
    Jira: env?.JIRA_URL ?? '',
  });
  app.get('/', (_req, reply) => reply.type('text/html; charset=utf-8').send(renderOutbox(entries, links())));
  app.get('/outbox.json', () => ({ title: OUTBOX_TITLE, entries: [...entries].reverse() }));
  await app.listen({ port: opts.httpPort ?? 0, host });
  const origin = originOf(app, host);
  for (const s of [slack, teams, jira]) s.listening(origin);
  try {
    await smtp.start({ port: opts.smtpPort ?? 0, host });
  } catch (err) {
    await app.close();
    throw err;
  }
  env = {
    SLACK_API_URL: slack.apiUrl,
    SLACK_BOT_TOKEN: slack.token,
    SMTP_URL: smtp.url,
    TEAMS_CHANNELS: JSON.stringify(teams.channels),
    JIRA_URL: jira.url,
    JIRA_EMAIL: jira.email,
    JIRA_API_TOKEN: jira.apiToken,
  };
  return {
    env,
    urls: env,
    slack,
    smtp,
    teams,
    jira,
    outboxUrl: `${origin}/`,
    outbox: () => [...entries],
    close: async () => {
      await Promise.all([app.close(), smtp.close()]);
    },
  };
}
