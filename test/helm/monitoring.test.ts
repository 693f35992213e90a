// The charts' dashboard and alerts against what the servers really export and what the docs say:
// - every metric name the Grafana dashboard or a rendered PrometheusRule expression queries is one a
//   real server exports (its /metrics scraped after ordinary calls provoked every series);
// - every rendered alert has a runbook row in docs/operating.md and a runbook_url pointing at it;
// - the dashboard ships as a ConfigMap with the sidecar label, the audit retention setting reaches
//   every server as AUDIT_RETENTION_DAYS, and the new thresholds come from values.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { testRedisUrl } from '@mcp-fleet/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOpsServer } from '../../packages/core/test/ops-metrics-harness.ts';
import {
  type ChartWorkspace,
  envOf,
  fixture,
  type K8sObject,
  ofKind,
  prepareCharts,
  render,
  repoRoot,
  SERVERS,
  template,
  validateK8s,
} from './helpers.ts';

// biome-ignore lint/suspicious/noExplicitAny: the dashboard JSON and rendered rules are read loosely
type Loose = any;

let ws: ChartWorkspace;
let exported: Set<string>;
beforeAll(async () => {
  ws = prepareCharts();
  const ops = await startOpsServer({ redisUrl: testRedisUrl() });
  try {
    await ops.provokeAll();
    // The retention job's first run (at start) has finished once its counter shows.
    let text = '';
    for (let i = 0; i < 200 && !/^mcp_audit_retention_runs_total\{/m.test(text); i++) {
      if (i) await new Promise((r) => setTimeout(r, 25));
      text = await ops.scrape();
    }
    // Names with at least one sample (not only a # TYPE line): series that really appeared.
    exported = new Set(
      text
        .split('\n')
        .filter((l) => l && !l.startsWith('#'))
        .map((l) => /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(l)![0]),
    );
  } finally {
    await ops.close();
  }
});
afterAll(() => ws?.cleanup());

/** Series Prometheus makes itself for every scrape target, not the servers. */
const SCRAPE_SERIES = new Set(['up']);

const PROMQL_WORDS = new Set([
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'bool',
  'and',
  'or',
  'unless',
  'offset',
  'inf',
  'nan',
]);

/**
 * The metric names a PromQL expression reads: identifiers that are not functions (followed by "("),
 * keywords, label names (inside {...} or by/without (...)), strings, durations or Grafana variables.
 */
export function metricNames(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""') // strings
    .replace(/\$\{?\w+\}?/g, '1') // Grafana variables ($__rate_interval, ${datasource})
    .replace(/\{[^}]*\}/g, '') // label matchers
    .replace(/\[[^\]]*\]/g, '') // ranges
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ''); // label lists
  const names: string[] = [];
  for (const m of stripped.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
    const after = stripped.slice(m.index! + m[0].length).trimStart();
    if (after.startsWith('(')) continue; // a function
    if (PROMQL_WORDS.has(m[0].toLowerCase())) continue;
    names.push(m[0]);
  }
  return names;
}

const dashboard = JSON.parse(
  readFileSync(join(repoRoot, 'helm/mcp-fleet/dashboards/mcp-fleet.json'), 'utf8'),
);
const dashboardExprs = (): { where: string; expr: string }[] => [
  ...dashboard.panels.flatMap((p: Loose) =>
    p.targets.map((t: Loose) => ({ where: `panel "${p.title}" ${t.refId}`, expr: t.expr as string })),
  ),
  ...dashboard.templating.list
    .filter((v: Loose) => v.type === 'query')
    .map((v: Loose) => ({
      where: `variable ${v.name}`,
      expr: /label_values\((.*),\s*\w+\)$/.exec(v.query.query)![1]!,
    })),
];

const ALL_ON = {
  global: {
    monitoring: { serviceMonitor: true, prometheusRule: true, grafanaDashboard: true },
    audit: { retentionDays: 90, retentionIntervalMinutes: 30 },
    redis: { existingSecret: 'mcp-fleet-redis' },
  },
};

const rulesOf = (objects: K8sObject[]): Loose[] =>
  ofKind(objects, 'PrometheusRule').flatMap((r) => r.spec.groups.flatMap((g: Loose) => g.rules));

describe('metric names the dashboard and the alerts query', () => {
  it('the parser finds names and only names (fixed examples)', () => {
    expect(
      metricNames(
        'histogram_quantile(0.95, sum by (le, tool) (rate(mcp_tool_call_duration_seconds_bucket{namespace=~"$namespace", server=~"a|b"}[$__rate_interval])))',
      ),
    ).toEqual(['mcp_tool_call_duration_seconds_bucket']);
    expect(metricNames('time() - max(x_seconds{namespace="n"}) > 3600 or absent(up{a="b"})')).toEqual([
      'x_seconds',
      'up',
    ]);
    expect(metricNames('sum(rate(a_total[5m])) / sum(rate(b_total[5m])) > 0.05')).toEqual([
      'a_total',
      'b_total',
    ]);
  });

  it('every metric the Grafana dashboard queries is exported by a real server', () => {
    const missing: string[] = [];
    const exprs = dashboardExprs();
    expect(exprs.length).toBeGreaterThan(8);
    for (const { where, expr } of exprs) {
      const names = metricNames(expr);
      expect(names.length, `${where}: ${expr}`).toBeGreaterThan(0);
      for (const n of names) if (!exported.has(n)) missing.push(`${where}: ${n}`);
    }
    expect(missing).toEqual([]);
  });

  it('every metric a rendered PrometheusRule expression queries is exported by a real server', () => {
    const { objects } = render(ws, 'mcp-fleet', [fixture('umbrella-minimal.yaml'), ALL_ON]);
    const missing: string[] = [];
    const rules = rulesOf(objects);
    expect(rules.length).toBeGreaterThan(0);
    for (const r of rules)
      for (const n of metricNames(r.expr))
        if (!exported.has(n) && !SCRAPE_SERIES.has(n)) missing.push(`${r.alert}: ${n}`);
    expect(missing).toEqual([]);
  });
});

describe('alerts and their runbooks', () => {
  const docs = readFileSync(join(repoRoot, 'docs/operating.md'), 'utf8');

  it('every rendered alert has a runbook row in docs/operating.md and a runbook_url to it', () => {
    const { objects } = render(ws, 'mcp-fleet', [
      fixture('umbrella-minimal.yaml'),
      ALL_ON,
      {
        database: {
          prometheusRule: { runbookBaseUrl: 'https://git.example.com/ops/blob/main/docs/operating.md' },
        },
      },
    ]);
    const rules = rulesOf(objects);
    const alerts = new Set(rules.map((r) => r.alert as string));
    // The new signals are alerted on (with retention and Redis configured).
    for (const a of [
      'McpBreakerOpen',
      'McpApprovalQueueStale',
      'McpBudgetStoppedSpike',
      'McpRedisDown',
      'McpAuditRetentionFailing',
      'McpAuditRetentionNotRunning',
    ])
      expect(alerts).toContain(a);
    for (const r of rules) {
      const anchor = (r.alert as string).toLowerCase();
      const row = docs
        .split('\n')
        .find((l) => l.startsWith('| ') && l.includes(`<a id="${anchor}"></a>\`${r.alert}\``));
      expect(row, `docs/operating.md has no runbook row for ${r.alert}`).toBeDefined();
      // The row says what it means and what to do (the table's last two columns are not empty).
      const cells = row!.split('|').map((c) => c.trim());
      expect(cells.at(-2)!.length, `${r.alert}: what to do`).toBeGreaterThan(20);
      expect(cells.at(-3)!.length, `${r.alert}: what it means`).toBeGreaterThan(20);
      expect(r.annotations.runbook_url).toMatch(new RegExp(`operating\\.md#${anchor}$`));
    }
    const db = ofKind(objects, 'PrometheusRule').find((o) => o.metadata.name.endsWith('-database'))!;
    for (const r of db.spec.groups[0].rules)
      expect(r.annotations.runbook_url).toBe(
        `https://git.example.com/ops/blob/main/docs/operating.md#${r.alert.toLowerCase()}`,
      );
  });

  it('thresholds come from values; Redis and retention alerts only where they are configured', () => {
    const { objects } = render(ws, 'mcp-fleet', [
      fixture('umbrella-minimal.yaml'),
      ALL_ON,
      {
        files: {
          prometheusRule: {
            thresholds: {
              breakerOpenMinutes: 12,
              approvalOldestPendingSeconds: 900,
              auditRetentionStaleHours: 5,
            },
          },
        },
      },
    ]);
    const files = ofKind(objects, 'PrometheusRule').find((o) => o.metadata.name.endsWith('-files'))!;
    const rule = (name: string) =>
      files.spec.groups[0].rules.find((r: { alert: string }) => r.alert === name);
    expect(rule('McpBreakerOpen').for).toBe('12m');
    expect(rule('McpApprovalQueueStale').expr).toMatch(/> 900$/);
    expect(rule('McpAuditRetentionNotRunning').expr).toMatch(/> 18000$/);
    expect(rule('McpAuditRetentionFailing').expr).toMatch(/\[60m\]/); // two intervals of 30 minutes
    const bare = render(ws, 'mcp-fleet', [
      fixture('umbrella-minimal.yaml'),
      { global: { monitoring: { prometheusRule: true } } },
    ]);
    const names = new Set(rulesOf(bare.objects).map((r) => r.alert));
    for (const a of ['McpRedisDown', 'McpAuditRetentionFailing', 'McpAuditRetentionNotRunning'])
      expect(names).not.toContain(a);
    expect(names).toContain('McpBreakerOpen');
  });
});

describe('the dashboard ConfigMap and the retention setting', () => {
  it('ships the dashboard with the sidecar label when enabled, and valid objects', () => {
    const off = render(ws, 'mcp-fleet', [fixture('umbrella-minimal.yaml')]);
    expect(
      ofKind(off.objects, 'ConfigMap').filter((c) => c.metadata.name.endsWith('grafana-dashboard')),
    ).toEqual([]);
    const { objects } = render(ws, 'mcp-fleet', [
      fixture('umbrella-minimal.yaml'),
      ALL_ON,
      {
        global: {
          monitoring: {
            grafanaDashboardLabels: { team_dashboards: 'platform' },
            grafanaDashboardAnnotations: { grafana_folder: 'MCP' },
          },
        },
      },
    ]);
    for (const o of objects) validateK8s(o);
    const cm = ofKind(objects, 'ConfigMap').find((c) => c.metadata.name === 'rel-grafana-dashboard')!;
    expect(cm.metadata.labels).toMatchObject({ team_dashboards: 'platform' });
    expect(cm.metadata.annotations).toEqual({ grafana_folder: 'MCP' });
    const d = JSON.parse(cm.data['mcp-fleet.json']);
    expect(d).toEqual(dashboard);
    expect(d.panels.map((p: { title: string }) => p.title)).toEqual([
      'Calls',
      'Refusals by reason',
      'Latency per tool (p50, p95, p99)',
      'Cache hit ratio',
      'Rate-limited and budget-stopped calls',
      'Audit backlog and write failures',
      'Breaker states',
      'Approval queue age and size',
    ]);
    expect(d.templating.list.map((v: { name: string }) => v.name)).toEqual([
      'datasource',
      'namespace',
      'server',
    ]);
    const def = render(ws, 'mcp-fleet', [
      fixture('umbrella-minimal.yaml'),
      { global: { monitoring: { grafanaDashboard: true } } },
    ]);
    const cmDefault = ofKind(def.objects, 'ConfigMap').find(
      (c) => c.metadata.name === 'rel-grafana-dashboard',
    )!;
    expect(cmDefault.metadata.labels).toMatchObject({ grafana_dashboard: '1' });
  });

  it('global.audit.retentionDays reaches every server as AUDIT_RETENTION_DAYS; 0 keeps records', () => {
    const on = render(ws, 'mcp-fleet', [fixture('umbrella-minimal.yaml'), ALL_ON]);
    const deployments = ofKind(on.objects, 'Deployment');
    expect(deployments).toHaveLength(SERVERS.length);
    const serverEnv = (d: K8sObject) => envOf(d.spec.template.spec.containers[0]);
    for (const d of deployments) {
      const env = serverEnv(d);
      expect(env.get('AUDIT_RETENTION_DAYS'), d.metadata.name).toEqual({
        name: 'AUDIT_RETENTION_DAYS',
        value: '90',
      });
      expect(env.get('AUDIT_RETENTION_INTERVAL_MS')?.value, d.metadata.name).toBe('1800000');
    }
    const off = render(ws, 'mcp-fleet', [fixture('umbrella-minimal.yaml')]);
    for (const d of ofKind(off.objects, 'Deployment')) {
      expect(serverEnv(d).has('AUDIT_RETENTION_DAYS')).toBe(false);
      expect(serverEnv(d).has('OTEL_EXPORTER_OTLP_ENDPOINT')).toBe(false);
    }
  });

  it('global.tracing reaches every server as the OTEL_* variables, named after the server', () => {
    const { objects } = render(ws, 'mcp-fleet', [
      fixture('umbrella-minimal.yaml'),
      { global: { tracing: { otlpEndpoint: 'http://otel-collector.monitoring:4318', sampleRatio: 0.25 } } },
    ]);
    const deployments = ofKind(objects, 'Deployment');
    expect(deployments).toHaveLength(SERVERS.length);
    for (const d of deployments) {
      const env = envOf(d.spec.template.spec.containers[0]);
      expect(env.get('OTEL_EXPORTER_OTLP_ENDPOINT')?.value).toBe('http://otel-collector.monitoring:4318');
      expect(env.get('OTEL_TRACES_SAMPLER_ARG')?.value).toBe('0.25');
      expect(SERVERS).toContain(env.get('OTEL_SERVICE_NAME')?.value);
    }
    const bad = template(ws, 'mcp-fleet', [
      fixture('umbrella-minimal.yaml'),
      { global: { tracing: { sampleRatio: 2 } } },
    ]);
    expect(bad.code).not.toBe(0);
  });
});
