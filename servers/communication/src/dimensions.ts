// The communication server's constraint dimensions. Policy grants give values keyed "communication.<dimension>";
// a grant that covers a tool declaring a dimension but gives no value for it does not cover the tool.
import { defineConstraint } from '@mcp-fleet/core';
import { z } from 'zod';

/** `communication.categories`: which item categories a grant may read, e.g. { categories: [public] }. */
export const categories = defineConstraint({
  name: 'categories',
  description: 'Item categories the caller may read, e.g. { categories: [public] }.',
  schema: z.object({ categories: z.array(z.string().min(1)).min(1) }),
});
