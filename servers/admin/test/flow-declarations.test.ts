// The flow guard's declarations of the admin server (issue 17), from its registry: every tool is
// decided (a new tool without a decision fails). get_user returns a person's record: `pii` always
// (and untrusted: display and group names are written outside the fleet). Directory changes are
// mutating, refunds, plan changes and deletions destructive (the policy's untrusted-* rules use
// that); none sends company data anywhere: a refund moves money at the billing provider, it carries
// no data read in the session, so none declares `sends`.
import { describe, expect, it } from 'vitest';
import { tools } from '../src/tools/index.js';

/** Each tool's decision: its static labels, and whether it is destructive. */
const DECISIONS: Record<string, { labels?: string[]; kind: 'read' | 'mutating' | 'destructive' }> = {
  get_user: { labels: ['pii'], kind: 'read' },
  disable_user: { kind: 'mutating' },
  set_user_groups: { kind: 'mutating' },
  delete_user: { kind: 'destructive' },
  issue_refund: { kind: 'destructive' },
  change_subscription_plan: { kind: 'destructive' },
};

describe('every admin tool has a flow decision', () => {
  it('is listed here, with its labels and kind as declared; none sends', () => {
    expect(tools.map((t) => t.name).sort()).toEqual(Object.keys(DECISIONS).sort());
    for (const t of tools) {
      const d = DECISIONS[t.name]!;
      expect(t.governance.labels, t.name).toEqual(d.labels);
      expect(Boolean(t.governance.readOnly), t.name).toBe(d.kind === 'read');
      expect(Boolean(t.governance.destructive), t.name).toBe(d.kind === 'destructive');
      expect(t.governance.sends, t.name).toBeUndefined();
    }
  });
});
