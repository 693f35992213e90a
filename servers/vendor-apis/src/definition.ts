// The vendor-apis server, declared. (Being built: see /tmp/i14/contract.md.)
import { defineServer } from '@mcp-fleet/core';
import { loadConfig } from './config.js';
import type { Connectors } from './connectors.js';
import { tools } from './tools/index.js';

export default defineServer(import.meta.url, {
  instructions: 'Stripe, HubSpot and Salesforce tools of the company.',
  config: loadConfig,
  tools,
  connect: ({ config }): Connectors => ({ config }),
});
