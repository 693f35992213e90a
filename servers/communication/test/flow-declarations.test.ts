// The flow guard's declarations of the communication server (issue 17), from its registry: every tool
// is decided (a new tool without a decision fails). Reads of outsiders' text return untrusted results
// (core labels them `untrusted`); every send has an outbound planner, which the checks step runs to
// declare each destination (internal or external) and the content that leaves; a send without a
// planner would have to declare `sends` itself.
import { describe, expect, it } from 'vitest';
import { outboundPlans, tools } from '../src/tools/index.js';

/** Each tool's decision. */
const DECISIONS: Record<string, 'metadata' | 'untrusted' | 'planned-send'> = {
  // channel names, topics and whether each is shared outside: the workspace's own metadata
  slack_list_channels: 'metadata',
  // messages and tickets are written by people, customers included: untrusted data
  slack_read_channel: 'untrusted',
  get_ticket: 'untrusted',
  slack_post_message: 'planned-send',
  teams_post_message: 'planned-send',
  send_email: 'planned-send',
  create_ticket: 'planned-send',
  add_ticket_comment: 'planned-send',
};

describe('every communication tool has a flow decision', () => {
  it('is listed here', () => {
    expect(tools.map((t) => t.name).sort()).toEqual(Object.keys(DECISIONS).sort());
  });

  it('every tool that is not read-only is a planned send (or declares sends)', () => {
    for (const t of tools) {
      if (t.governance.readOnly) {
        expect(DECISIONS[t.name], t.name).not.toBe('planned-send');
        expect(t.governance.sends, t.name).toBeUndefined();
        continue;
      }
      expect(t.name in outboundPlans || t.governance.sends !== undefined, `${t.name} sends undeclared`).toBe(
        true,
      );
    }
    expect(Object.keys(outboundPlans).sort()).toEqual(
      Object.entries(DECISIONS)
        .flatMap(([n, d]) => (d === 'planned-send' ? [n] : []))
        .sort(),
    );
  });
});
