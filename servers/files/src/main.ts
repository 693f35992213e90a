// Entry point: serves the files server (`main.js migrate` applies fleet database migrations).
import { runServerMain } from '@mcp-fleet/core';
import definition from './definition.js';

await runServerMain(definition);
