// list_items: the example read tool — constrained by the categories dimension and cached.
import { z } from 'zod';
import { categories } from '../dimensions.js';
import { tool } from './tool.js';

const item = z.object({ id: z.string(), title: z.string(), category: z.string() });

export const listItems = tool({
  name: 'list_items',
  title: 'List items',
  description: 'Lists the items (id, title) of one category, e.g. "public".',
  input: z.object({ category: z.string().min(1).describe('The category to list, e.g. "public".') }),
  output: z.object({ items: z.array(item) }),
  governance: { readOnly: true, cacheTtlSeconds: 30 },
  constraint: {
    dimension: categories,
    check: (args, value) =>
      value.categories.includes(args.category)
        ? null
        : `category "${args.category}" is not one you may read; yours: ${value.categories.join(', ')}`,
  },
  handler: async (args, ctx) => {
    const { catalog, config } = ctx.connectors;
    return { data: { items: await catalog.list(args.category, config.maxItems, ctx.signal) } };
  },
});
