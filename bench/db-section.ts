// Section 5: the database server's run_query tool (production main, full governance) against the same
// SELECT through a fastify+pg route (the HTTP floor) and through `pg` directly.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type DevIssuer, freePort } from '@mcp-fleet/testkit';
import pg from 'pg';
import { bundle } from './lib/bundle.js';
import { CUSTOMERS } from './lib/db-query.js';
import type { BenchDatabase } from './lib/fleet-db.js';
import { type LoadResult, runLoad, runWorker } from './lib/load.js';
import { ROOT, sampled, startTarget, type Target } from './lib/processes.js';
import { fmt, type Row, type TargetVerdict } from './lib/report.js';
import type { PgDirectJob } from './pg-direct-worker.js';

/** Inputs of the db section. */
export interface DatabaseSectionOptions {
  db: BenchDatabase;
  issuer: DevIssuer;
  /** Environment of a governed server at `baseUrl` (auth, policy, fleet DB). */
  governedEnv: (baseUrl: string) => Record<string, string>;
  /** The bundled fastify+pg route. */
  routeFile: string;
  /** Extra node arguments for a target id (CPU profiling). */
  nodeArgs: (id: string) => string[];
  /** A fresh id range for each load job. */
  nextFirstId: () => number;
  levels: number[];
  warmupS: number;
  durationS: number;
  say: (s: string) => void;
}

/** What the db section produced. */
export interface DatabaseSectionResult {
  rows: Row[];
  failures: string[];
  verdict: TargetVerdict;
  summary: Record<string, unknown>;
  note?: string;
}

const DEFINITION = 'servers/database/src/definition.ts';
const BUILDER = 'servers/database/src/demo/build-warehouse.ts';
// Pool size of all three targets. Not the server's default 5: one token drives every connection of a
// level, and the server lets one caller run at most poolMax - 1 warehouse calls at once, so at 10
// connections a pool of 5 refuses most calls by design. 11 lets 10 run, the same for all three.
const POOL_MAX = 11;
const TARGET = { target: 'db query tool vs direct pg (p50, c=1)', goal: '≤ 1.3×' };

interface Builder {
  buildDemoWarehouse(o: {
    adminUrl: string;
    database: string;
    readerRole: string;
    readerPassword: string;
    scale: number;
  }): Promise<{
    readerUrl: string;
    adminUrl: string;
    database: string;
    readerRole: string;
  }>;
}

function unavailable(why: string, failed: boolean): DatabaseSectionResult {
  return {
    rows: [
      {
        id: 'db',
        section: '5',
        label: 'db query tool vs direct pg',
        era: null,
        connections: null,
        unavailable: why,
      },
    ],
    failures: failed ? [`db section: ${why}`] : [],
    verdict: { ...TARGET, measured: why, met: null },
    summary: { available: false, reason: why },
    note: failed
      ? `section 5 failed: ${why}`
      : `section 5 ${why}; it runs automatically once the database server lands`,
  };
}

/**
 * The reader's URL for the plain-pg targets, with the warehouse's tenant setting at "all tenants":
 * the demo warehouse's row-level security shows a session without it no row (fail closed), and the
 * fleet server sets it per call from the token (a token with no tenant = all), so both read the same rows.
 */
function allTenants(url: string): string {
  const u = new URL(url);
  u.searchParams.set('options', '-c fleet.tenant=*');
  return u.toString();
}

export async function runDatabaseSection(o: DatabaseSectionOptions): Promise<DatabaseSectionResult> {
  o.say('\n5 database server run_query vs the same SELECT through pg');
  if (!existsSync(join(ROOT, DEFINITION)) || !existsSync(join(ROOT, BUILDER))) {
    const why = `not yet available: ${DEFINITION} does not exist in this checkout`;
    o.say(`   ${why}`);
    return unavailable(why, false);
  }
  const suffix = randomBytes(3).toString('hex');
  const database = `bench_warehouse_${suffix}`;
  const readerRole = `bench_reader_${suffix}`;
  const targets: Target[] = [];
  try {
    const { buildDemoWarehouse } = (await import(pathToFileURL(join(ROOT, BUILDER)).href)) as Builder;
    const wh = await buildDemoWarehouse({
      adminUrl: o.db.adminUrl,
      database,
      readerRole,
      readerPassword: randomBytes(12).toString('hex'),
      scale: 0.04, // 200 customers: a small warehouse
    });
    const admin = new pg.Client({ connectionString: wh.adminUrl });
    await admin.connect();
    const customers = (
      await admin.query({
        text: `SELECT id, name, country, segment FROM sales.customers ORDER BY id LIMIT ${CUSTOMERS}`,
        rowMode: 'array',
      })
    ).rows as unknown[][];
    await admin.end();
    if (customers.length < CUSTOMERS)
      throw new Error(`the bench warehouse has ${customers.length} customers, expected ${CUSTOMERS}`);

    const toolPort = await freePort();
    const toolBase = `http://127.0.0.1:${toolPort}`;
    // The database server runs compiled, like its image's `node dist/main.js`: one bundle written into
    // the server's own dist/, with libpg-query left outside so it loads its WASM from its package.
    const toolFile = await bundle('servers/database/src/main.ts', {
      outfile: 'servers/database/dist/bench-main.mjs',
      external: ['libpg-query'],
    });
    const tool = await startTarget('db-tool', {
      file: toolFile,
      runtime: 'js',
      port: toolPort,
      env: {
        ...o.governedEnv(toolBase),
        WAREHOUSE_URL: wh.readerUrl,
        WAREHOUSE_POOL_MAX: String(POOL_MAX),
        // One agent drives every connection of a level: its per-caller cap (2 by default) would refuse most calls.
        WAREHOUSE_MAX_CONCURRENT_PER_CALLER: String(POOL_MAX - 1),
      },
      readyPath: '/readyz',
      nodeArgs: o.nodeArgs('db-tool'),
    });
    targets.push(tool);
    const routePort = await freePort();
    const route = await startTarget('db-route', {
      file: o.routeFile,
      runtime: 'js',
      port: routePort,
      env: { WAREHOUSE_URL: allTenants(wh.readerUrl), WAREHOUSE_POOL_MAX: String(POOL_MAX) },
    });
    targets.push(route);
    const agent = 'bench-db-tool';
    const token = await o.issuer.mint({
      sub: agent,
      roles: ['support'],
      aud: `${toolBase}/mcp`,
      ttlSeconds: 3600,
    });

    const rows: Row[] = [];
    const failures: string[] = [];
    let answered = 0;
    const record = (
      id: string,
      label: string,
      c: number,
      result: LoadResult,
      cpuPct?: number,
      rss?: number,
    ) => {
      const row: Row = {
        id,
        section: '5',
        label,
        era: id === 'db-direct' ? null : 'modern',
        connections: c,
        result,
      };
      if (cpuPct !== undefined) row.serverCpuPct = cpuPct;
      if (rss !== undefined) row.serverPeakRssMB = rss / 1e6;
      rows.push(row);
      o.say(
        `   ${label.padEnd(44)} c=${String(c).padStart(3)} ${fmt(result.rps, 0).padStart(7)} req/s  p50 ${fmt(result.latency.p50, 3)} ms  p99 ${fmt(result.latency.p99, 3)} ms  ok ${result.ok}  wrong ${result.wrong}`,
      );
      const bad = result.wrong + result.errors + result.timeouts + result.non2xx;
      if (bad > 0) failures.push(`${id} c=${c}: ${bad} wrong or failed (first: ${result.firstWrong})`);
    };
    for (const c of o.levels) {
      const job = {
        connections: c,
        warmupS: o.warmupS,
        durationS: o.durationS,
        era: 'modern' as const,
        tool: 'run_query',
        args: { kind: 'sql' as const, customers },
      };
      const t = await sampled(tool.pid, () =>
        runLoad({ ...job, url: `${toolBase}/mcp`, token, tag: `db-${c}`, firstId: o.nextFirstId() }),
      );
      answered += t.value.answeredTotal;
      record('db-tool', 'db: run_query tool (fleet, governed)', c, t.value, t.cpuPct, t.peakRss);
      const r = await sampled(route.pid, () =>
        runLoad({
          ...job,
          url: `http://127.0.0.1:${routePort}/mcp`,
          tag: `route-${c}`,
          firstId: o.nextFirstId(),
        }),
      );
      record('db-route', 'db: fastify route + pg (HTTP floor)', c, r.value, r.cpuPct, r.peakRss);
      const direct = await runWorker<PgDirectJob>('bench/pg-direct-worker.ts', {
        url: allTenants(wh.readerUrl),
        connections: c,
        poolMax: POOL_MAX,
        warmupS: o.warmupS,
        durationS: o.durationS,
        customers,
        firstId: o.nextFirstId(),
      });
      record('db-direct', 'db: same SELECT via pg directly', c, direct);
    }
    await tool.stop();
    const counts = await o.db.auditCounts(agent);
    const slack = o.levels.reduce((s, c) => s + 2 * c, 0);
    if (counts.total < answered || counts.total > answered + slack || counts.ok < answered - slack) {
      failures.push(`db-tool: ${counts.total} audit rows (${counts.ok} ok) for ${answered} answered calls`);
    }
    o.say(
      `   audit rows in PostgreSQL for ${agent}: ${counts.total} ${JSON.stringify(counts.byOutcome)} for ${answered} answered calls`,
    );

    const p50 = (id: string, c: number) =>
      rows.find((r) => r.id === id && r.connections === c)?.result?.latency.p50;
    const c1 = o.levels[0]!;
    const ratio = (p50('db-tool', c1) ?? Number.NaN) / (p50('db-direct', c1) ?? Number.NaN);
    const byLevel = o.levels.map((c) => ({
      connections: c,
      toolOverDirect: (p50('db-tool', c) ?? Number.NaN) / (p50('db-direct', c) ?? Number.NaN),
      toolOverRoute: (p50('db-tool', c) ?? Number.NaN) / (p50('db-route', c) ?? Number.NaN),
      routeOverDirect: (p50('db-route', c) ?? Number.NaN) / (p50('db-direct', c) ?? Number.NaN),
    }));
    return {
      rows,
      failures,
      verdict: {
        ...TARGET,
        measured: byLevel
          .map(
            (b) =>
              `c=${b.connections}: ${fmt(b.toolOverDirect)}× direct pg (${fmt(b.toolOverRoute)}× the fastify+pg route)`,
          )
          .join('; '),
        met: Number.isFinite(ratio) ? ratio <= 1.3 : null,
      },
      summary: {
        available: true,
        warehouse: { customers: customers.length, scale: 0.04 },
        poolMax: POOL_MAX,
        ratios: byLevel,
        audit: { answered, ...counts },
      },
    };
  } catch (err) {
    const why = (err as Error).message.split('\n').slice(0, 6).join(' | ');
    o.say(`   failed: ${why}`);
    return unavailable(`failed: ${why}`, true);
  } finally {
    for (const t of targets) await t.stop();
    const admin = new pg.Client({ connectionString: o.db.adminUrl });
    await admin.connect().then(
      async () => {
        await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`).catch(() => {});
        await admin.query(`DROP ROLE IF EXISTS ${readerRole}`).catch(() => {});
        await admin.end();
      },
      () => {},
    );
  }
}
