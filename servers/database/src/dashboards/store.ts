// Dashboards live in the fleet's own database (never the warehouse): one row per tenant + name,
// saved idempotently — the same content saved twice is one version, not two.
import { createHash } from 'node:crypto';
import type { Migration } from '@mcp-fleet/core';
import type pg from 'pg';

/** The fleet-database table of this server. */
export const DASHBOARD_MIGRATIONS: Migration[] = [
  {
    id: '0100_dashboards',
    // Recorded under this id before server migrations were namespaced (stored now as database/0100_dashboards).
    previousId: '0100_database_dashboards',
    sql: `
      CREATE TABLE IF NOT EXISTS database_dashboards (
        tenant text NOT NULL,
        name text NOT NULL,
        title text NOT NULL,
        description text NOT NULL DEFAULT '',
        panels jsonb NOT NULL,
        content_hash text NOT NULL,
        version integer NOT NULL DEFAULT 1,
        created_by text NOT NULL,
        updated_by text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (tenant, name)
      );
    `,
  },
];

/** One panel: a saved query and the arguments it runs with. */
export interface DashboardPanel {
  title: string;
  query: string;
  params: Record<string, unknown>;
  maxRows?: number | undefined;
}

/** A stored dashboard. */
export interface Dashboard {
  name: string;
  title: string;
  description: string;
  panels: DashboardPanel[];
  version: number;
  updatedBy: string;
  updatedAt: string;
}

/** A listing entry. */
export interface DashboardSummary {
  name: string;
  title: string;
  description: string;
  panelCount: number;
  version: number;
  updatedAt: string;
}

/** The outcome of a save. */
export interface SaveOutcome {
  status: 'created' | 'updated' | 'unchanged';
  version: number;
}

// Key order must not change the hash: canonical JSON with sorted keys.
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    return `{${entries
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

/** Reads and writes dashboards in the fleet database. */
export class DashboardStore {
  readonly #pool: pg.Pool;

  constructor(pool: pg.Pool) {
    this.#pool = pool;
  }

  /** Dashboards of one tenant ('' = no tenant), newest first. */
  async list(tenant: string): Promise<DashboardSummary[]> {
    const r = await this.#pool.query<DashboardSummary>(
      `SELECT name, title, description, jsonb_array_length(panels) AS "panelCount", version, updated_at::text AS "updatedAt"
       FROM database_dashboards WHERE tenant = $1 ORDER BY updated_at DESC, name LIMIT 500`,
      [tenant],
    );
    return r.rows;
  }

  /** One dashboard, or null. */
  async get(tenant: string, name: string): Promise<Dashboard | null> {
    const r = await this.#pool.query<Dashboard>(
      `SELECT name, title, description, panels, version, updated_by AS "updatedBy", updated_at::text AS "updatedAt"
       FROM database_dashboards WHERE tenant = $1 AND name = $2`,
      [tenant, name],
    );
    return r.rows[0] ?? null;
  }

  /** Creates or replaces a dashboard; saving identical content again changes nothing. */
  async save(
    tenant: string,
    d: { name: string; title: string; description: string; panels: DashboardPanel[] },
    actor: string,
  ): Promise<SaveOutcome> {
    const hash = createHash('sha256')
      .update(canonical({ title: d.title, description: d.description, panels: d.panels }))
      .digest('hex');
    const r = await this.#pool.query<{ version: number; inserted: boolean }>(
      `INSERT INTO database_dashboards AS d (tenant, name, title, description, panels, content_hash, created_by, updated_by)
       VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7, $7)
       ON CONFLICT (tenant, name) DO UPDATE
         SET title = EXCLUDED.title, description = EXCLUDED.description, panels = EXCLUDED.panels,
             content_hash = EXCLUDED.content_hash, updated_by = EXCLUDED.updated_by, updated_at = now(), version = d.version + 1
         WHERE d.content_hash IS DISTINCT FROM EXCLUDED.content_hash
       RETURNING version, (xmax = 0) AS inserted`,
      [tenant, d.name, d.title, d.description, JSON.stringify(d.panels), hash, actor],
    );
    const row = r.rows[0];
    if (row) return { status: row.inserted ? 'created' : 'updated', version: row.version };
    const current = await this.#pool.query<{ version: number }>(
      'SELECT version FROM database_dashboards WHERE tenant = $1 AND name = $2',
      [tenant, d.name],
    );
    return { status: 'unchanged', version: current.rows[0]?.version ?? 1 };
  }
}
