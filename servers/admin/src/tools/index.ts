// The admin server's tools, in the order tools/list shows them: the directory's (SCIM), then
// billing's (Stripe). Each part declares its tools against the connectors it needs; the admin
// server's Connectors carry both.
import type { AnyTool } from '@mcp-fleet/core';
import { billingTools } from '../billing/index.js';
import type { Connectors } from '../connectors.js';
import { scimTools } from '../scim/index.js';

export const tools: readonly AnyTool<Connectors>[] = [
  ...(scimTools as readonly AnyTool<Connectors>[]),
  ...(billingTools as readonly AnyTool<Connectors>[]),
];
