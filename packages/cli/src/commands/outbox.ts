// `fleet outbox`: what agents sent through the local fleet's simulators (Slack, email, Teams, Jira),
// read from the running hub's /outbox.json, or from .fleet/outbox/outbox.json when the fleet is stopped.
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { type OutboxEntry, readOutbox } from '@mcp-fleet/simulators';
import { FLEET_DIR } from '../layout.js';

const say = (line: string) => process.stdout.write(`${line}\n`);

/** The running hub's outbox (newest first), or undefined when nothing answers at `url`. */
async function fromHub(url: string): Promise<OutboxEntry[] | undefined> {
  try {
    const res = await fetch(new URL('/outbox.json', url), { signal: AbortSignal.timeout(2000) });
    if (!res.ok) return undefined;
    const body = (await res.json()) as { entries?: OutboxEntry[] };
    return Array.isArray(body.entries) ? body.entries : undefined;
  } catch {
    return undefined;
  }
}

/** One line of terminal text: control characters shown as spaces, so a sent text cannot move the cursor. */
const oneLine = (s: unknown, max: number): string => {
  const t = String(s ?? '')
    // biome-ignore lint/suspicious/noControlCharactersInRegex: removing them is the point
    .replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]+/g, ' ')
    .trim();
  return t.length > max ? `${t.slice(0, max - 1)}…` : t;
};

/** `fleet outbox [--limit n] [--system slack|email|teams|jira] [--json] [--url http://127.0.0.1:7410/]`. */
export async function outboxCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      limit: { type: 'string', default: '20' },
      system: { type: 'string' },
      json: { type: 'boolean', default: false },
      url: { type: 'string' },
    },
  });
  const limit = Number(values.limit);
  if (!Number.isInteger(limit) || limit < 1) {
    process.stderr.write('fleet outbox: --limit is a positive integer\n');
    return 2;
  }
  const url = values.url ?? `http://127.0.0.1:${process.env.FLEET_SIM_PORT ?? 7410}/`;
  const live = await fromHub(url);
  // The file is oldest first; the hub's JSON newest first: show newest first either way.
  let entries = live ?? readOutbox(join(FLEET_DIR, 'outbox')).reverse();
  if (values.system) entries = entries.filter((e) => e.system === values.system);
  entries = entries.slice(0, limit);
  if (values.json) {
    say(JSON.stringify(entries, null, 2));
    return 0;
  }
  const source = live
    ? `the running simulators (${url})`
    : `${join(FLEET_DIR, 'outbox')} (the fleet is not running)`;
  say(`What agents sent through the local SIMULATORS, newest first, from ${source}:`);
  if (entries.length === 0) {
    say('  nothing yet.');
    return 0;
  }
  for (const e of entries) {
    say(
      `\n${oneLine(e.at, 30)}  ${oneLine(e.system, 10)} ${oneLine(e.kind, 12)} -> ${oneLine(e.destination, 80)}  [${oneLine(e.upstreamId, 60)}]`,
    );
    if (e.title) say(`  ${oneLine(e.title, 120)}`);
    if (e.text && e.text !== e.title) say(`  ${oneLine(e.text, 400)}`);
  }
  if (live) say(`\nThe same as a page: ${url}`);
  return 0;
}
