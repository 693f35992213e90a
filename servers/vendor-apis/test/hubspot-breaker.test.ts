// HubSpot down: its breaker opens after the configured failures, its tools then fail fast without
// reaching HubSpot, /readyz names it; once HubSpot answers again a trial request closes the breaker.
import type { TestClient } from '@mcp-fleet/testkit';
import { eventually } from '@mcp-fleet/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootHubSpot, type HubSpotFixture } from './hubspot-fixture.js';
import { callTool } from './vendor-server.js';

let fx: HubSpotFixture;
let analyst: TestClient;

beforeAll(async () => {
  fx = await bootHubSpot('vendor_hubspot_breaker', { VENDOR_APIS_BREAKER_THRESHOLD: '2' });
  analyst = await fx.f.clientFor({ role: 'analyst', tenant: 'acme' });
});
afterAll(() => fx?.f.close());

describe('HubSpot breaker', () => {
  it('opens on a failing HubSpot, fails fast, shows in /readyz, and closes when HubSpot is back', async () => {
    expect((await fx.f.readyz()).status).toBe('ready');
    fx.sim.simulator.setFault('*', { status: 503 });
    const first = await callTool(analyst, 'hubspot_get_contact', { contact_id: '51000000001' });
    expect(first).toMatchObject({ isError: true, code: 'upstream_unavailable' });
    const before = fx.sim.simulator.requests.length;
    const fast = await callTool(analyst, 'hubspot_get_company', { company_id: '18000000001' });
    expect(fast).toMatchObject({ isError: true, code: 'upstream_unavailable' });
    expect(fx.sim.simulator.requests.length).toBe(before);
    const ready = await fx.f.readyz();
    expect(ready.status).not.toBe('ready');
    expect(JSON.stringify(ready.checks)).toMatch(/hubspot/i);
    fx.sim.simulator.setFault('*', null);
    await eventually(async () => {
      const r = await callTool(analyst, 'hubspot_list_deals', { stage: 'closedwon', limit: 1 });
      return !r.isError;
    });
  });
});
