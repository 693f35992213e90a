// The communication server's judged journey on `pnpm start`'s fleet: a support agent finds a customer
// with the database server, opens a Jira ticket for them and posts its key to #support-escalations,
// through real MCP clients of both protocol eras. What reached the simulators and the audit trail is
// checked, and so is what the same agent may not do.
import { connectClient, type TestClient } from '@mcp-fleet/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalFleet, startLocalFleet } from './local-fleet.js';

interface OutboxEntry {
  system: string;
  kind: string;
  destination: string;
  upstreamId: string;
  title: string;
  text: string;
  extra?: Record<string, unknown>;
}

let fleet: LocalFleet;
let db: TestClient;
let comm: TestClient;
const AGENT = 'e2e-support-journey';

beforeAll(async () => {
  fleet = await startLocalFleet();
  const token = async (server: string) =>
    (await fleet.fleet('token', '--agent', AGENT, '--role', 'support', '--server', server)).trim();
  db = await connectClient('modern', fleet.urls.database!, await token('database'));
  comm = await connectClient('legacy', fleet.urls.communication!, await token('communication'));
}, 300_000);

afterAll(async () => {
  await db?.close();
  await comm?.close();
  await fleet?.stop();
});

/** What agents sent, from the running hub (newest first), as `pnpm fleet outbox --json` prints it. */
async function outbox(): Promise<OutboxEntry[]> {
  return JSON.parse(
    await fleet.fleet(
      'outbox',
      '--json',
      '--limit',
      '100',
      '--url',
      `http://127.0.0.1:${fleet.env.FLEET_SIM_PORT}/`,
    ),
  );
}

describe('a support agent on the local fleet', () => {
  it('is told the upstreams are simulators, and where to see what agents sent', () => {
    expect(fleet.output()).toMatch(/communication\s+SIMULATED slack, email, teams, tickets/);
    expect(fleet.output()).toContain(`what agents sent: http://127.0.0.1:${fleet.env.FLEET_SIM_PORT}/`);
  });

  it('finds a customer, opens a ticket for them and posts its key to #support-escalations', async () => {
    const found = await db.callTool('run_query', {
      sql: 'SELECT id, name, email FROM sales.customers ORDER BY id LIMIT 1',
    });
    expect(found.isError, JSON.stringify(found.content)).toBeFalsy();
    const [id, name] = (found.structuredContent!.rows as [number, string, string][])[0]!;
    expect(name).toBeTruthy();

    const key = 'e2e-journey-ticket';
    const ticket = await comm.callTool('create_ticket', {
      project: 'SUP',
      issue_type: 'Task',
      summary: `Follow up with ${name} (customer ${id})`,
      description: `Customer ${name} (id ${id}) asked for a call back.`,
      idempotency_key: key,
    });
    expect(ticket.isError, JSON.stringify(ticket.content)).toBeFalsy();
    const issueKey = ticket.structuredContent!.key as string;
    expect(issueKey).toMatch(/^SUP-\d+$/);

    const post = await comm.callTool('slack_post_message', {
      channel: '#support-escalations',
      text: `Opened ${issueKey} for ${name}: https://support.example.com/tickets/${issueKey}`,
      idempotency_key: 'e2e-journey-post',
    });
    expect(post.isError, JSON.stringify(post.content)).toBeFalsy();

    // At the simulators: one issue, one post holding its key, with link previews off.
    const sent = await outbox();
    const issues = sent.filter((e) => e.system === 'jira' && e.kind === 'issue' && e.upstreamId === issueKey);
    expect(issues).toHaveLength(1);
    expect(issues[0]!.title).toContain(name);
    const posts = sent.filter((e) => e.system === 'slack' && e.text.includes(issueKey));
    expect(posts).toHaveLength(1);
    expect(posts[0]!.destination).toContain('C0SUPPORT1');
    // WebClient sends form-encoded parameters: the simulator saw them as the strings Slack parses.
    const extra = posts[0]!.extra ?? {};
    expect([String(extra.unfurl_links), String(extra.unfurl_media)]).toEqual(['false', 'false']);

    // In the audit trail (`fleet audit`, then `fleet audit show` for the details): each send names
    // its destination and the upstream's id.
    type Row = { id: string; tool: string; outcome: string };
    let rows: Row[] = [];
    for (let i = 0; i < 40; i++) {
      const all: Row[] = JSON.parse(await fleet.fleet('audit', '--agent', AGENT, '--limit', '100', '--json'));
      rows = all.filter((r) => r.tool === 'create_ticket' || r.tool === 'slack_post_message');
      if (rows.length >= 2 && rows.every((r) => r.outcome !== 'started')) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    const details = async (tool: string) => {
      const row = rows.find((r) => r.tool === tool);
      expect(row?.outcome, tool).toBe('ok');
      return JSON.parse(await fleet.fleet('audit', 'show', row!.id, '--json')).details as Record<
        string,
        unknown
      >;
    };
    expect(await details('create_ticket')).toMatchObject({
      destinations: ['jira:SUP'],
      upstreamId: issueKey,
    });
    const postDetails = await details('slack_post_message');
    expect(postDetails).toMatchObject({ destinations: ['slack:C0SUPPORT1'] });
    expect(postDetails.upstreamId).toMatch(/^\d+\.\d+$/);
  }, 120_000);

  it('may not post to #exec-private, open a ticket in SEC or send email, and nothing of it reaches the simulators', async () => {
    const before = (await outbox()).length;
    const exec = await comm.callTool('slack_post_message', { channel: '#exec-private', text: 'hello' });
    expect(exec.isError).toBe(true);
    const sec = await comm.callTool('create_ticket', { project: 'SEC', issue_type: 'Task', summary: 'x' });
    expect(sec.isError).toBe(true);
    const names = (await comm.listTools()).tools.map((t) => t.name).sort();
    expect(names).toEqual([
      'add_ticket_comment',
      'create_ticket',
      'get_ticket',
      'slack_list_channels',
      'slack_post_message',
      'slack_read_channel',
    ]);
    expect((await outbox()).length).toBe(before);
  }, 120_000);
});
