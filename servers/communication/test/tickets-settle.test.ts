// Round-2 ways to get two ticket writes for one idempotency key, each asserted on what reached the
// Jira simulator: a create that lands late (held past the timeout), a ticket moved to another project
// before the retry, and a comment buried under more than one page of newer comments.
import { randomUUID } from 'node:crypto';
import { adf } from '@mcp-fleet/simulators';
import { clientAs, type TestClient } from '@mcp-fleet/testkit';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootTickets, call, type TicketFleet } from './tickets-fixture.js';

let f: TicketFleet;
let support: TestClient;
let admin: TestClient;

beforeAll(async () => {
  f = await bootTickets();
  support = await clientAs(f.s, 'modern', 'support');
  admin = await clientAs(f.s, 'legacy', 'admin');
});
afterAll(async () => {
  await Promise.all([support?.close(), admin?.close()]);
  await f?.close();
});

/** The issues whose summary is `summary`. */
const issuesNamed = (summary: string) => f.sim.issues.filter((i) => i.summary === summary);
/** Create requests that reached the simulator so far. */
const creates = () => f.sim.requests.filter((r) => r.operation === 'issue.create').length;

// The fixture's upstream timeout is 1.5 s, so the settle time of a request without an answer is 3 s.
describe('a create that reaches Jira late (F1)', () => {
  it('the early retry with the same key waits for the held create and returns it: one issue in all', async () => {
    const summary = 'held by a proxy past the timeout';
    const args = {
      project: 'SUP',
      issue_type: 'Task',
      summary,
      description: 'd',
      idempotency_key: 'st-held-1',
    };
    // Held 2.5 s before Jira sees it: the first call times out (1.5 s) and the request lands later.
    const landed = f.sim.holdNext('issue.create', 2_500);
    const first = await call(support, 'create_ticket', args);
    expect(first).toMatchObject({ isError: true, code: 'upstream_timeout' });
    expect(issuesNamed(summary)).toHaveLength(0);
    // The retry comes at once, before the held request has landed.
    const again = await call(support, 'create_ticket', args);
    await landed;
    expect(issuesNamed(summary)).toHaveLength(1);
    expect(again.isError, again.text).toBe(false);
    expect(again.data).toMatchObject({ key: issuesNamed(summary)[0]!.key, created: false });
    // The first answer said to wait the settle time (twice the upstream timeout) before retrying.
    expect(first.text).toContain('retry with the same idempotency_key after 3 s');
    expect(first.meta?.['io.mcp-fleet/retryAfterMs']).toBe(3_000);
  });
});

describe('a create moved to another project before the retry (F1 variant)', () => {
  const lostThenMoved = async (client: TestClient, summary: string, key: string, to: string) => {
    const args = { project: 'SUP', issue_type: 'Task', summary, description: 'd', idempotency_key: key };
    f.sim.failNext('issue.create', { dropAfterCommit: true });
    const first = await call(client, 'create_ticket', args);
    expect(first).toMatchObject({ isError: true, code: 'upstream_unavailable' });
    expect(issuesNamed(summary)).toHaveLength(1);
    const moved = f.sim.moveIssue(issuesNamed(summary)[0]!.key, to);
    return { args, moved };
  };

  it('moved to a project the caller may use: the retry returns it where it is now, nothing new', async () => {
    const summary = 'lost, then moved to OPS';
    const { args, moved } = await lostThenMoved(admin, summary, 'st-moved-ops', 'OPS');
    const n = creates();
    const again = await call(admin, 'create_ticket', args);
    expect(again.isError, again.text).toBe(false);
    expect(again.data).toMatchObject({ key: moved, project: 'OPS', created: false });
    expect(creates()).toBe(n);
    expect(issuesNamed(summary)).toHaveLength(1);
  });

  it('moved to a project the caller may not use: refused, neither revealed nor created again', async () => {
    const summary = 'lost, then moved to SEC';
    const { args, moved } = await lostThenMoved(support, summary, 'st-moved-sec', 'SEC');
    const n = creates();
    const again = await call(support, 'create_ticket', args);
    expect(again).toMatchObject({ isError: true, code: 'destination_denied' });
    expect(again.text).not.toContain(moved);
    expect(again.text).not.toContain('SEC');
    expect(creates()).toBe(n);
    expect(issuesNamed(summary)).toHaveLength(1);
  });
});

describe('a comment under more than one page of newer comments (F2)', () => {
  /** Adds `n` comments straight into the simulator, newer than everything on the ticket. */
  const pile = (key: string, n: number) => {
    const i = f.sim.issue(key)!;
    for (let k = 0; k < n; k++)
      i.comments.push({
        id: `9${i.id}${i.comments.length}`,
        body: adf(`newer ${k}`),
        created: new Date().toISOString().replace('Z', '+0000'),
        author: 'someone else',
      });
  };
  const freshTicket = async (summary: string) => {
    const out = await call(support, 'create_ticket', {
      project: 'SUP',
      issue_type: 'Task',
      summary,
      description: '',
    });
    return String(out.data?.key);
  };

  it('whatever the number of newer comments, the retry finds the first comment: one in all', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 450 }), async (newer) => {
        // A summary of its own per run: fast-check may draw the same `newer` twice, and a create with
        // the same arguments in the same session and no key is the same action (it finds the first
        // ticket), whose comment key would then replay the earlier run's answer.
        const key = await freshTicket(`paged comments ${newer} ${randomUUID()}`);
        const args = { issue_key: key, body: 'the lost comment', idempotency_key: `st-paged-${key}` };
        f.sim.failNext('comment.add', { dropAfterCommit: true });
        const first = await call(support, 'add_ticket_comment', args);
        expect(first).toMatchObject({ isError: true, code: 'upstream_unavailable' });
        const made = f.sim.issue(key)!.comments.at(-1)!.id;
        pile(key, newer);
        const again = await call(support, 'add_ticket_comment', args);
        expect(again.isError, again.text).toBe(false);
        expect(again.data).toMatchObject({ commentId: made, created: false });
        const mine = f.sim.issue(key)!.comments.filter((c) => c.properties?.has('io.mcp-fleet'));
        expect(mine).toHaveLength(1);
      }),
      { numRuns: 6, examples: [[101]] },
    );
  });

  it('beyond the pages it reads, a rerun refuses to add rather than risk a duplicate', async () => {
    const key = await freshTicket('more comments than the lookup reads');
    const args = { issue_key: key, body: 'buried comment', idempotency_key: 'st-buried' };
    f.sim.failNext('comment.add', { dropAfterCommit: true });
    await call(support, 'add_ticket_comment', args);
    pile(key, 5_000);
    const before = f.sim.issue(key)!.comments.length;
    const adds = f.sim.requests.filter((r) => r.operation === 'comment.add').length;
    const again = await call(support, 'add_ticket_comment', args);
    expect(again).toMatchObject({ isError: true, code: 'comment_unverifiable' });
    expect(again.text).toContain('5000');
    expect(f.sim.issue(key)!.comments.length).toBe(before);
    expect(f.sim.requests.filter((r) => r.operation === 'comment.add').length).toBe(adds);
  });
});
