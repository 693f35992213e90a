// Entry point: `node main.js` serves the admin server; `node main.js migrate` migrates and exits.
import { runServerMain } from '@mcp-fleet/core';
import definition from './definition.js';

await runServerMain(definition);
