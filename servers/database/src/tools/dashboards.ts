// Dashboards: list_dashboards, get_dashboard (runs each panel's saved query for the caller) and
// save_dashboard, the server's one write (granted to analysts), stored in the fleet database.
import { type AnyTool, type NestedCallResult, ToolError } from '@mcp-fleet/core';
import { z } from 'zod';
import type { DashboardStore } from '../dashboards/store.js';
import { inputSchemaOf, type SavedQuery } from '../saved-queries/saved-query.js';
import { savedQueryViolation } from '../saved-queries/tools.js';
import {
  type DatabaseConnectors,
  type DatabaseContext,
  type QueryResult,
  queryResultSchema,
  resultText,
  tool,
} from './query-result.js';
import { allowedSchemas, schemas } from './schema-access.js';

const dashboardName = z
  .string()
  .regex(
    /^[a-z0-9][a-z0-9_-]{0,62}$/,
    'lower-case letters, digits, "-" and "_", starting with a letter or digit (max 63)',
  );

function store(ctx: DatabaseContext): DashboardStore {
  const s = ctx.connectors.dashboards;
  if (!s)
    throw new ToolError(
      'Dashboards are unavailable: this server has no fleet database configured. Use the saved query tools directly.',
    );
  return s;
}

const tenantOf = (ctx: DatabaseContext) => ctx.identity.tenant ?? '';

const panelResult = z.object({
  title: z.string(),
  query: z.string(),
  result: queryResultSchema.nullable(),
  error: z.string().nullable(),
});

/** Builds the three dashboard tools over the server's saved queries. */
export function dashboardTools(saved: readonly SavedQuery[]): AnyTool<DatabaseConnectors>[] {
  const byName = new Map(saved.map((q) => [q.name, q]));
  const list = tool({
    name: 'list_dashboards',
    title: 'List dashboards',
    description:
      'Lists the saved dashboards of your organisation (name, title, number of panels). Call get_dashboard to see one with its data.',
    input: z.object({}),
    output: z.object({
      dashboards: z.array(
        z.object({
          name: z.string(),
          title: z.string(),
          description: z.string(),
          panelCount: z.number(),
          version: z.number(),
          updatedAt: z.string(),
        }),
      ),
    }),
    // Flow guard: metadata only (dashboard names, titles, panel names): no warehouse data, no source.
    governance: { readOnly: true, cacheTtlSeconds: 60, timeoutMs: 10_000 },
    handler: async (_args, ctx) => ({
      data: { dashboards: await store(ctx).list(tenantOf(ctx)) },
    }),
  });

  /** A panel's rows cut to the panel's own row cap (the saved query's cap applies first). */
  const capRows = (r: QueryResult, maxRows: number): QueryResult =>
    r.rows.length <= maxRows
      ? r
      : { ...r, rows: r.rows.slice(0, maxRows), rowCount: maxRows, truncated: true, truncatedBy: 'rows' };

  /** The panel error a refused or failed nested call becomes (its own words, for the model). */
  const panelError = (query: string, r: NestedCallResult): string => {
    if (r.outcome !== 'denied') return r.text;
    const why = r.text.replace(/^not allowed by policy:\s*/i, '');
    return `not allowed by policy: ${why === r.text ? `${query} is not granted to your role` : why}`;
  };

  const get = tool({
    name: 'get_dashboard',
    title: 'Get a dashboard with its data',
    description:
      'Returns one dashboard and runs each of its panels (saved queries) for you, as if you called each saved query ' +
      'yourself: a panel whose query your role may not call, or that your rate limits or budget refuse, or that fails, ' +
      'carries an error instead of rows. Each panel counts as a call of its saved query. Call list_dashboards for names.',
    input: z.object({ name: dashboardName }),
    output: z.object({
      name: z.string(),
      title: z.string(),
      description: z.string(),
      version: z.number(),
      panels: z.array(panelResult),
    }),
    // Not cached as a whole: each panel is a governed call of its saved query (decided, limited,
    // budgeted and audited every time), cached under that tool's own caller-scoped key. A cached
    // dashboard would serve panels without any of that, and go stale when grants change.
    governance: { readOnly: true },
    // A schema constraint on get_dashboard narrows further (it never widens what a panel's own grant allows).
    constraint: { dimension: schemas, check: () => null },
    toText: (d) =>
      [
        `Dashboard ${d.title} (${d.name}, v${d.version})`,
        d.description,
        ...d.panels.map((p) => `\n## ${p.title}\n${p.result ? resultText(p.result) : `error: ${p.error}`}`),
      ]
        .filter(Boolean)
        .join('\n'),
    handler: async (args, ctx) => {
      const d = await store(ctx).get(tenantOf(ctx), args.name);
      if (!d)
        throw new ToolError(
          `Dashboard "${args.name}" was not found. Call list_dashboards to see the dashboards you can open.`,
        );
      const allowed = allowedSchemas(ctx.constraints);
      const panels: z.output<typeof panelResult>[] = [];
      // One panel at a time: a dashboard never takes more than one warehouse connection.
      for (const p of d.panels) {
        if (ctx.signal.aborted) throw ctx.signal.reason;
        const q = byName.get(p.query);
        let error: string | null = null;
        let result: QueryResult | null = null;
        const narrowed = q && allowed !== null ? savedQueryViolation(q, allowed) : null;
        if (!q) error = `saved query ${p.query} no longer exists`;
        else if (narrowed !== null) error = `not allowed by policy: ${narrowed}`;
        else {
          // The caller's own governed call of the saved query: decision, except lists, constraints,
          // limits, budget, cache and an audit record naming this get_dashboard call.
          const r = await ctx.callTool(q.name, p.params);
          // Flow guard: the panel's rows are in this result too (the saved query's own call names
          // them for its record; the schemas it reads are named here for get_dashboard's). A panel
          // whose query ran and failed counts as well: its error text, returned here, can quote rows.
          if (r.ok || r.outcome === 'error')
            for (const schema of q.schemas ?? []) ctx.source('schema', schema);
          if (r.ok && r.data !== undefined) result = capRows(r.data as QueryResult, p.maxRows ?? 200);
          else error = r.ok ? `${q.name} returned no result` : panelError(q.name, r);
        }
        panels.push({ title: p.title, query: p.query, result, error });
      }
      // A failed panel may be transient: such a result is returned but marked partial.
      const partial = panels.some((p) => p.error !== null);
      return {
        data: { name: d.name, title: d.title, description: d.description, version: d.version, panels },
        partial,
      };
    },
  });

  const panelInput = z.object({
    title: z.string().min(1).max(200),
    query: z
      .string()
      .describe(`Name of a saved query tool: ${saved.map((q) => q.name).join(', ') || '(none configured)'}.`),
    params: z
      .record(z.string(), z.unknown())
      .default({})
      .describe("Arguments for the saved query (as its tool's input schema says)."),
    max_rows: z.number().int().min(1).max(1000).optional(),
  });
  type PanelInput = z.output<typeof panelInput>;

  const panelViolations = (panels: PanelInput[], allowedList: readonly string[]) =>
    panels
      .map((p) => byName.get(p.query))
      .flatMap((q) => (q ? [savedQueryViolation(q, allowedList)] : []))
      .find((v) => v !== null) ?? null;

  const save = tool({
    name: 'save_dashboard',
    title: 'Save a dashboard',
    description:
      'Creates or replaces a dashboard: a named list of panels, each a saved query with its arguments. Idempotent: saving ' +
      'the same content under the same name again changes nothing (status "unchanged"). Viewers see the data their own ' +
      'token allows.',
    input: z.object({
      name: dashboardName.describe('Stable key of the dashboard; saving under an existing name replaces it.'),
      title: z.string().min(1).max(200),
      description: z.string().max(2000).default(''),
      panels: z.array(panelInput).min(1).max(12),
    }),
    output: z.object({
      name: z.string(),
      status: z.enum(['created', 'updated', 'unchanged']),
      version: z.number(),
    }),
    // Flow guard: stores a dashboard definition the caller wrote; returns no warehouse data.
    governance: { readOnly: false, timeoutMs: 10_000 },
    // Panels reading schemas outside the role's are refused.
    constraint: { dimension: schemas, check: (args, v) => panelViolations(args.panels, v.schemas) },
    handler: async (args, ctx) => {
      const panels = args.panels.map((p, i) => {
        const q = byName.get(p.query);
        if (!q)
          throw new ToolError(
            `Panel ${i + 1}: "${p.query}" is not a saved query. Use one of: ${[...byName.keys()].join(', ')}.`,
          );
        const parsed = inputSchemaOf(q).safeParse(p.params);
        if (!parsed.success) {
          const why = parsed.error.issues
            .map((x) => `${x.path.join('.') || '(params)'}: ${x.message}`)
            .join('; ');
          throw new ToolError(
            `Panel ${i + 1} (${p.query}): invalid params: ${why}. Check the ${p.query} tool's input schema.`,
          );
        }
        return {
          title: p.title,
          query: p.query,
          params: parsed.data as Record<string, unknown>,
          maxRows: p.max_rows,
        };
      });
      // A per-tenant cap, so one caller cannot bury the others' dashboards (list_dashboards shows
      // the 500 newest). Replacing an existing dashboard is always allowed. Checked before the
      // insert, not atomically with it: saves racing each other may pass the cap by a few.
      const limit = ctx.connectors.config.dashboardsMaxPerTenant;
      if ((await store(ctx).get(tenantOf(ctx), args.name)) === null) {
        const count = (await store(ctx).list(tenantOf(ctx))).length;
        if (count >= limit) {
          throw new ToolError(
            `Your organisation already has ${count} dashboards, the most it may keep (${limit}). ` +
              'Replace one by saving under its name, or ask an admin to remove dashboards no longer used.',
            'dashboard_limit',
          );
        }
      }
      const outcome = await store(ctx).save(
        tenantOf(ctx),
        { name: args.name, title: args.title, description: args.description, panels },
        ctx.identity.agentId,
      );
      return { data: { name: args.name, ...outcome } };
    },
  });

  return [list, get, save];
}
