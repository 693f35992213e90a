// The trivial tool every section of `pnpm bench` calls: one string and one integer in, the same out.
// Declared once through core's defineTool; the SDK and ceiling targets reuse its name, schemas and answer.
import { defineTool, type ServerDefinition } from '@mcp-fleet/core';
import { z } from 'zod';

/** Name of the echo tool on every target. */
export const ECHO_TOOL = 'echo_text';

const input = z.object({ text: z.string().max(200), n: z.number().int() });
const output = z.object({ text: z.string(), n: z.number().int() });

/** What the echo tool answers for its arguments (every target must produce exactly this). */
export function echoAnswer(args: { text: string; n: number }): { text: string; n: number } {
  return { text: args.text, n: args.n };
}

/** The echo tool as a fleet server declares it. */
export const echoTool = defineTool({
  name: ECHO_TOOL,
  title: 'Echo text',
  description:
    'Returns the text and number it is given. Used by the benchmark to measure the cost of a call.',
  input,
  output,
  governance: { readOnly: true },
  handler: async (args) => ({ data: echoAnswer(args) }),
});

/** Schemas the SDK baseline registers (the same zod objects the fleet tool uses). */
export const echoSchemas = { input, output };

/** The bench server's tools. */
export const benchTools = [echoTool];

/** A one-tool fleet server: the server under test in the fleet sections. */
export const benchServer: ServerDefinition<undefined> = {
  name: 'bench',
  version: '0.0.0',
  defaultPort: 7490,
  tools: benchTools,
};
