// The Stripe tools, in the order tools/list shows them: one file per tool, one line here.
import type { AnyTool } from '@mcp-fleet/core';

export const stripeTools: AnyTool[] = [];
