// Helpers of the chart tests: a pinned helm, a scratch copy of helm/ with dependencies built,
// `helm template` parsed into objects, and strict validation against the Kubernetes API schemas.
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { HTTPRoute } from '@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1/HTTPRoute';
import { PrometheusRule } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule';
import { ServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import { Job } from 'kubernetes-models/batch/v1/Job';
import { Ingress } from 'kubernetes-models/networking.k8s.io/v1/Ingress';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { PersistentVolumeClaim } from 'kubernetes-models/v1/PersistentVolumeClaim';
import { Service } from 'kubernetes-models/v1/Service';
import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import { parseAllDocuments, stringify } from 'yaml';
import { ensureHelm } from '../../scripts/get-helm.mjs';
import { SERVERS as CHART_SERVERS } from '../../scripts/helm-charts.mjs';

export const repoRoot = resolve(import.meta.dirname, '../..');
/** Every server's chart, from the manifests (and the planned servers), as scripts/helm-charts.mjs writes them. */
export const SERVERS: readonly string[] = CHART_SERVERS.map((s) => s.name);
export const fixture = (name: string): string => join(repoRoot, 'test/helm/fixtures', name);

// biome-ignore lint/suspicious/noExplicitAny: rendered manifests are checked field by field
type Loose = any;
/** A Kubernetes object as rendered (loosely typed: the tests read what they assert on). */
export type K8sObject = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; [k: string]: Loose };
  [k: string]: Loose;
};

/** A scratch copy of helm/ whose charts have their dependencies built. */
export interface ChartWorkspace {
  helm: string;
  dir: string;
  chart(name: string): string;
  cleanup(): void;
}

/**
 * Copies helm/ to a temporary directory and runs `helm dependency update` library-first, so test
 * files running in parallel never write the same charts/ directory and the repository stays clean.
 */
export function prepareCharts(): ChartWorkspace {
  const helm = ensureHelm();
  const dir = mkdtempSync(join(tmpdir(), 'mcp-fleet-helm-'));
  cpSync(join(repoRoot, 'helm'), dir, {
    recursive: true,
    filter: (src) => !/[\\/]charts([\\/]|$)|Chart\.lock$/.test(src.slice(repoRoot.length)),
  });
  for (const chart of [...SERVERS, 'mcp-fleet']) {
    execFileSync(helm, ['dependency', 'update', '--skip-refresh', join(dir, chart)], { stdio: 'pipe' });
  }
  return {
    helm,
    dir,
    chart: (name) => join(dir, name),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** Result of one helm command. */
export interface HelmResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs helm and returns its exit code and output. */
export function runHelm(ws: ChartWorkspace, args: string[]): HelmResult {
  const r = spawnSync(ws.helm, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** Values to render with: fixture files and/or inline objects (written to temp files). */
export type ValuesInput = string | Record<string, unknown>;

function valuesArgs(ws: ChartWorkspace, values: ValuesInput[]): string[] {
  return values.flatMap((v, i) => {
    if (typeof v === 'string') return ['-f', v];
    const file = join(
      ws.dir,
      `values-${process.pid}-${Date.now()}-${i}-${Math.random().toString(36).slice(2)}.yaml`,
    );
    writeFileSync(file, stringify(v));
    return ['-f', file];
  });
}

/** `helm template`; the result is the raw output, whatever the exit code. */
export function template(
  ws: ChartWorkspace,
  chart: string,
  values: ValuesInput[],
  { release = 'rel', namespace = 'mcp' } = {},
): HelmResult {
  return runHelm(ws, [
    'template',
    release,
    ws.chart(chart),
    '--namespace',
    namespace,
    ...valuesArgs(ws, values),
  ]);
}

/** `helm template` that must succeed, parsed into objects. */
export function render(
  ws: ChartWorkspace,
  chart: string,
  values: ValuesInput[],
  opts: { release?: string; namespace?: string } = {},
): { objects: K8sObject[]; text: string } {
  const r = template(ws, chart, values, opts);
  if (r.code !== 0) throw new Error(`helm template ${chart} failed:\n${r.stderr}`);
  const objects: K8sObject[] = [];
  for (const doc of parseAllDocuments(r.stdout)) {
    if (doc.errors.length > 0)
      throw new Error(`helm template ${chart} printed invalid YAML: ${doc.errors[0]}`);
    const obj = doc.toJS();
    if (obj) objects.push(obj);
  }
  return { objects, text: r.stdout };
}

/** `helm lint --strict` with the given values. */
export function lint(ws: ChartWorkspace, chart: string, values: ValuesInput[]): HelmResult {
  return runHelm(ws, ['lint', '--strict', ws.chart(chart), ...valuesArgs(ws, values)]);
}

// The model classes whose compiled validators check each kind the charts render.
const MODELS: Record<string, { prototype: { validate(): void } }> = {
  'apps/v1/Deployment': Deployment,
  'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler,
  'batch/v1/Job': Job,
  'v1/ConfigMap': ConfigMap,
  'v1/PersistentVolumeClaim': PersistentVolumeClaim,
  'v1/Service': Service,
  'v1/ServiceAccount': ServiceAccount,
  'networking.k8s.io/v1/Ingress': Ingress,
  'networking.k8s.io/v1/NetworkPolicy': NetworkPolicy,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'monitoring.coreos.com/v1/ServiceMonitor': ServiceMonitor,
  'monitoring.coreos.com/v1/PrometheusRule': PrometheusRule,
  'gateway.networking.k8s.io/v1/HTTPRoute': HTTPRoute,
};

/**
 * Validates an object against its Kubernetes API schema, and also refuses fields the schema does
 * not know (the API server would drop or, with strict field validation, reject them; a misspelt
 * `readOnlyRootFlesystem` must not pass). The generated validators read every property the
 * schema declares, so a field that no validator read, in an object no validator enumerated as a
 * map, is unknown.
 */
export function validateK8s(obj: K8sObject): void {
  const model = MODELS[`${obj.apiVersion}/${obj.kind}`];
  if (!model)
    throw new Error(`no Kubernetes schema known for ${obj.apiVersion} ${obj.kind} (${obj.metadata?.name})`);
  const read = new WeakMap<object, Set<PropertyKey>>();
  const enumerated = new WeakSet<object>();
  const proxies = new WeakMap<object, object>();
  const wrap = (value: unknown): unknown => {
    if (value === null || typeof value !== 'object') return value;
    const cached = proxies.get(value);
    if (cached) return cached;
    const proxy = new Proxy(value, {
      get(target, prop, receiver) {
        if (!read.has(target)) read.set(target, new Set());
        read.get(target)!.add(prop);
        return wrap(Reflect.get(target, prop, receiver));
      },
      has(target, prop) {
        if (!read.has(target)) read.set(target, new Set());
        read.get(target)!.add(prop);
        return Reflect.has(target, prop);
      },
      ownKeys(target) {
        enumerated.add(target);
        return Reflect.ownKeys(target);
      },
    });
    proxies.set(value, proxy);
    return proxy;
  };
  try {
    model.prototype.validate.call(wrap(obj));
  } catch (err) {
    throw new Error(`${obj.kind} ${obj.metadata?.name} is invalid: ${(err as Error).message}`);
  }
  const unknown: string[] = [];
  const walk = (value: unknown, path: string): void => {
    if (value === null || typeof value !== 'object') return;
    if (Array.isArray(value)) {
      for (const [i, v] of value.entries()) walk(v, `${path}[${i}]`);
      return;
    }
    const seen = read.get(value);
    for (const [key, child] of Object.entries(value)) {
      if (!enumerated.has(value) && !seen?.has(key)) unknown.push(`${path}.${key}`);
      walk(child, `${path}.${key}`);
    }
  };
  walk(obj, '');
  if (unknown.length > 0) {
    throw new Error(
      `${obj.kind} ${obj.metadata?.name} has fields its schema does not define: ${unknown.join(', ')}`,
    );
  }
}

/** Pod specs of the workloads among the objects, with where they come from. */
export function podSpecs(objects: K8sObject[]): { owner: string; spec: K8sObject['spec'] }[] {
  return objects
    .filter((o) => o.kind === 'Deployment' || o.kind === 'Job')
    .map((o) => ({ owner: `${o.kind}/${o.metadata.name}`, spec: o.spec.template.spec }));
}

/** The objects of one kind. */
export const ofKind = (objects: K8sObject[], kind: string): K8sObject[] =>
  objects.filter((o) => o.kind === kind);

/** The one object of a kind and name. */
export function find(objects: K8sObject[], kind: string, name: string): K8sObject {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (!found)
    throw new Error(
      `${kind}/${name} not rendered; have ${objects.map((o) => `${o.kind}/${o.metadata.name}`).join(', ')}`,
    );
  return found;
}

/** A container's environment as name -> entry. */
// biome-ignore lint/suspicious/noExplicitAny: env entries are asserted on directly
export function envOf(container: any): Map<string, { value?: string; valueFrom?: any }> {
  return new Map((container.env ?? []).map((e: { name: string }) => [e.name, e]));
}
