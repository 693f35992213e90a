// Declares a tool of this server: `ctx` (connectors, identity, constraints, signal) is typed in
// its handler and cacheKey, with no annotations.
import { toolsFor } from '@mcp-fleet/core';
import type { Connectors } from '../connectors.js';

export const tool = toolsFor<Connectors>();
