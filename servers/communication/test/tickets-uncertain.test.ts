// A ticket write whose answer is lost after Jira made the change (dropped connection, answer past the
// timeout): the error says to retry with the same idempotency_key, and that retry finds what the first
// attempt made (the io.mcp-fleet property) instead of replaying the uncertainty or writing twice.
import { clientAs, type TestClient } from '@mcp-fleet/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootTickets, call, type TicketFleet } from './tickets-fixture.js';

let f: TicketFleet;
let support: TestClient;

beforeAll(async () => {
  f = await bootTickets();
  support = await clientAs(f.s, 'modern', 'support');
});
afterAll(async () => {
  await support?.close();
  await f?.close();
});

// The fixture's upstream timeout is 1.5 s: a 5 s late answer is a timeout after the change landed.
const LOST = [
  ['dropped after the change', { dropAfterCommit: true as const }, 'upstream_unavailable'],
  ['answered after the timeout', { delayAfterCommit: 5_000 }, 'upstream_timeout'],
] as const;

describe('an uncertain ticket write is settled by a retry with the same key', () => {
  it.each(LOST)(
    'create_ticket %s: the retry returns the first ticket, one issue in all',
    async (name, fault, code) => {
      const args = {
        project: 'SUP',
        issue_type: 'Task',
        summary: `lost answer: ${name}`,
        description: 'd',
        idempotency_key: `tk-lost-${code}`,
      };
      const before = f.sim.issues.length;
      f.sim.failNext('issue.create', fault);
      const first = await call(support, 'create_ticket', args);
      expect(first).toMatchObject({ isError: true, code });
      expect(first.text).toContain('retry with the same idempotency_key');
      expect(f.sim.issues.length - before).toBe(1);
      const made = f.sim.issues.at(-1)!.key;
      const again = await call(support, 'create_ticket', args);
      expect(again.isError, again.text).toBe(false);
      expect(again.data).toMatchObject({ key: made, created: false });
      expect(f.sim.issues.length - before).toBe(1);
      // Settled: the key now holds the success.
      const third = await call(support, 'create_ticket', args);
      expect(third.data).toMatchObject({ key: made });
      expect(f.sim.issues.length - before).toBe(1);
    },
  );

  it.each(LOST)(
    'add_ticket_comment %s: the retry returns the first comment, one comment in all',
    async (name, fault, code) => {
      const args = { issue_key: 'SUP-2', body: `lost comment: ${name}`, idempotency_key: `tk-lostc-${code}` };
      const comments = () => f.sim.issue('SUP-2')!.comments;
      const before = comments().length;
      f.sim.failNext('comment.add', fault);
      const first = await call(support, 'add_ticket_comment', args);
      expect(first).toMatchObject({ isError: true, code });
      expect(first.text).toContain('retry with the same idempotency_key');
      expect(comments().length - before).toBe(1);
      const made = comments().at(-1)!.id;
      const again = await call(support, 'add_ticket_comment', args);
      expect(again.isError, again.text).toBe(false);
      expect(again.data).toMatchObject({ key: 'SUP-2', commentId: made, created: false });
      expect(comments().length - before).toBe(1);
    },
  );

  it('a refusal Jira answered for sure (400) is not called uncertain', async () => {
    f.sim.failNext('issue.create', { status: 400 });
    const out = await call(support, 'create_ticket', {
      project: 'SUP',
      issue_type: 'Task',
      summary: 'refused',
      description: '',
      idempotency_key: 'tk-refused-400',
    });
    expect(out).toMatchObject({ isError: true, code: 'upstream_rejected' });
    expect(out.text).not.toContain('may or may not');
  });
});
