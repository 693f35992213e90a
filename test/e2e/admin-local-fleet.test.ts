// The admin server in the local fleet, as `pnpm start` runs it (a child process, a private FLEET_DIR,
// alternate ports): it lists its tools to an admin, reads the SCIM simulator's demo people, holds a
// refund for a human (nothing reaches Stripe), and writes to THE Stripe simulator vendor-apis reads:
// a plan change approved by a person through the approvals API is what vendor-apis then shows.
import { callOutcome, connectClient, type TestClient } from '@mcp-fleet/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STRIPE_DEMO } from '../../packages/simulators/src/index.js';
import { type LocalFleet, startLocalFleet } from './local-fleet.js';

const ADMIN_TOOLS = [
  'change_subscription_plan',
  'delete_user',
  'disable_user',
  'get_user',
  'issue_refund',
  'set_user_groups',
];

let fleet: LocalFleet;
/** The admin agent acts for bob; alice (another person, an approver) decides. */
let admin: TestClient;
let stripeUrl: string;
let scimOrigin: string;

/** What reached a simulator (its control plane). */
async function requests(origin: string): Promise<{ method: string; path: string }[]> {
  const res = await fetch(`${origin}/_simulator/requests`);
  expect(res.status).toBe(200);
  return ((await res.json()) as { requests: { method: string; path: string }[] }).requests;
}
const posts = async (prefix: string) =>
  (await requests(stripeUrl)).filter((r) => r.method === 'POST' && r.path.startsWith(prefix));

const token = async (...args: string[]) => (await fleet.fleet('token', ...args)).trim();

beforeAll(async () => {
  fleet = await startLocalFleet({ args: ['--only', 'admin,vendor-apis'] });
  const out = fleet.output();
  stripeUrl = /SIMULATED Stripe: (http:\/\/127\.0\.0\.1:\d+)/.exec(out)?.[1] ?? '';
  scimOrigin = /SIMULATED SCIM directory: (http:\/\/127\.0\.0\.1:\d+)/.exec(out)?.[1] ?? '';
  expect(stripeUrl, out).not.toBe('');
  expect(scimOrigin, out).not.toBe('');
  admin = await connectClient(
    'modern',
    fleet.urls.admin!,
    await token('--agent', 'e2e-admin-agent', '--role', 'admin', '--server', 'admin', '--user', 'bob'),
  );
}, 300_000);
afterAll(async () => {
  await admin?.close();
  await fleet?.stop();
});

describe('the admin server in the local fleet', () => {
  it('starts its SCIM simulator and shares the vendor hub’s one Stripe simulator with vendor-apis', () => {
    const out = fleet.output();
    expect(out).toMatch(/admin\s+ready/);
    expect(out).toMatch(/vendor-apis\s+ready/);
    // One Stripe simulator: vendor-apis' set-up found the hub admin's started (same port in its line).
    const port = new URL(stripeUrl).port;
    expect(out).toMatch(new RegExp(`local vendor simulators on 127\\.0\\.0\\.1:${port}\\b`));
  });

  it('lists its six tools to an admin token and none to support', async () => {
    expect((await admin.listTools()).tools.map((t) => t.name).sort()).toEqual(ADMIN_TOOLS);
    const support = await connectClient(
      'modern',
      fleet.urls.admin!,
      await token('--agent', 'e2e-support-agent', '--role', 'support', '--server', 'admin'),
    );
    try {
      expect((await support.listTools()).tools).toEqual([]);
    } finally {
      await support.close();
    }
  });

  it('reads alice from the SCIM simulator', async () => {
    const before = (await requests(scimOrigin)).length;
    const r = await callOutcome(admin, 'get_user', { user_name: 'alice' });
    expect(r.isError, r.text).toBe(false);
    const shown = JSON.stringify(r.data);
    expect(shown).toContain('alice');
    expect(shown).toContain('fleet-approvers');
    expect((await requests(scimOrigin)).length).toBeGreaterThan(before);
  });

  it('holds issue_refund for a human: awaiting approval, nothing at the Stripe simulator', async () => {
    const before = (await posts('/v1/refunds')).length;
    const r = await callOutcome(admin, 'issue_refund', {
      payment_intent: STRIPE_DEMO.paymentIntents.usd,
      amount: 500,
      currency: 'usd',
      reason: 'requested_by_customer',
    });
    expect(r.code, r.text).toBe('awaiting_approval');
    expect(r.text).toContain('has NOT run');
    // `confirm` means nothing: still held (the strict schema refuses it outright).
    const confirmed = await callOutcome(admin, 'issue_refund', {
      payment_intent: STRIPE_DEMO.paymentIntents.usd,
      amount: 500,
      currency: 'usd',
      reason: 'requested_by_customer',
      confirm: true,
    });
    expect(confirmed.isError).toBe(true);
    expect((await posts('/v1/refunds')).length).toBe(before);
  });

  it('an approved plan change reaches the Stripe simulator once, and vendor-apis reads it back', async () => {
    const subscription = STRIPE_DEMO.subscriptions.active;
    const price = STRIPE_DEMO.prices.growthMonthlyUsd;
    const args = { subscription, price };
    const held = await callOutcome(admin, 'change_subscription_plan', args);
    expect(held.code, held.text).toBe('awaiting_approval');
    const governance = held.meta?.['io.mcp-fleet/governance'] as { approvalId?: string } | undefined;
    const approvalId = governance?.approvalId ?? '';
    expect(approvalId).not.toBe('');
    expect(await posts(`/v1/subscriptions/${subscription}`)).toHaveLength(0);

    // alice (an approver, not the person the agent acts for) approves through the approvals API.
    const approver = await token('--approver', 'alice', '--server', 'admin');
    const approvalsUrl = fleet.urls.admin!.replace(/\/mcp$/, '');
    await fleet.fleet('approvals', 'approve', approvalId, '--token', approver, '--url', approvalsUrl);

    const done = await callOutcome(admin, 'change_subscription_plan', { ...args, approval_id: approvalId });
    expect(done.isError, done.text).toBe(false);
    expect(await posts(`/v1/subscriptions/${subscription}`)).toHaveLength(1);

    // vendor-apis (acme's support agent, reading acme's Stripe account) sees the new price.
    const reader = await connectClient(
      'modern',
      fleet.urls['vendor-apis']!,
      await token('--agent', 'e2e-reader', '--role', 'support', '--server', 'vendor-apis'),
    );
    try {
      const sub = await callOutcome(reader, 'stripe_get_subscription', { subscription_id: subscription });
      expect(sub.isError, sub.text).toBe(false);
      const items = (sub.data as { subscriptions: { items: { priceId: string }[] }[] }).subscriptions[0]!
        .items;
      expect(items.map((i) => i.priceId)).toEqual([price]);
    } finally {
      await reader.close();
    }
  });
});
