// The boot fixture itself: the real server starts with no vendor configured, logs are captured, and
// an unconfigured server lists no vendor tool.
import { listedNames } from '@mcp-fleet/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootVendor, type VendorServer } from './vendor-server.js';

let f: VendorServer;
beforeAll(async () => {
  f = await bootVendor({ prefix: 'vendor_boot', env: {} });
});
afterAll(() => f?.close());

describe('vendor-apis with no vendor configured', () => {
  it('lists no tool and logs its start', async () => {
    const c = await f.clientFor({ role: 'admin', tenant: 'acme' });
    expect(await listedNames(c)).toEqual([]);
    expect(f.logs().length).toBeGreaterThan(0);
    expect((await f.readyz()).status).toMatch(/ready|degraded/);
  });
});
