// The communication server, declared: configuration, connectors and tools. Core does authentication,
// policy, validation, rate limits, caching, timeouts, audit and metrics. Name, port and description
// are in package.json#mcpFleet.
import { defineServer } from '@mcp-fleet/core';
import { loadConfig } from './config.js';
import { type Connectors, ExampleCatalog } from './connectors.js';
import { tools } from './tools/index.js';

export default defineServer(import.meta.url, {
  instructions: 'Example tools of the communication server. Call list_items with a category to see its items.',
  config: loadConfig,
  tools,
  connect: ({ config }): Connectors => ({ catalog: new ExampleCatalog(), config }),
});
