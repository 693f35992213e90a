#!/usr/bin/env node
// Writes the thin per-server charts (helm/<server>/) from one source, so the five charts never
// drift apart: the library chart holds the templates, helm/mcp-fleet-lib/server-values.yaml the
// documented defaults and server-values.schema.json the schema; each server's manifest
// (package.json#mcpFleet) says what differs.
//
//   node scripts/helm-charts.mjs          rewrite the charts
//   node scripts/helm-charts.mjs --check  exit 1 when a chart differs from what would be written
//
// Adding a server: `pnpm fleet new server <name>` writes its manifest and runs this script; add
// its section to helm/mcp-fleet/values.yaml if it needs one.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isScalar, parse, parseDocument, stringify } from 'yaml';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const helmDir = join(root, 'helm');

/** Chart version and appVersion of the server charts (the fleet releases them together). */
export const CHART_VERSION = '0.1.0';
export const APP_VERSION = '0.1.0';

/**
 * Characters no manifest string may hold (the rule of packages/core/src/manifest.ts, UNSAFE_TEXT):
 * control characters (C0, DEL, C1 with U+0085 NEL) and U+2028/U+2029. Helm's YAML parser breaks
 * lines at NEL, LS and PS where this script's does not, so one of them would let a description
 * write chart keys that only Helm sees.
 */
const UNSAFE_TEXT = /[\p{Cc}\u0085\u2028\u2029]/u;
const SERVER_NAME = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;
/** An egress rule name in a manifest (core's EGRESS_NAME). */
const EGRESS_NAME = /^[a-z][a-z0-9-]{0,62}$/;
/** Longest server name (core's MAX_SERVER_NAME): room for `<release>-<server>` in 63 characters. */
const MAX_SERVER_NAME = 40;

/** The server values schema: secretEnv and egress rule names are checked with its own patterns. */
function serverSchema() {
  return JSON.parse(readFileSync(join(helmDir, 'mcp-fleet-lib', 'server-values.schema.json'), 'utf8'));
}

/** The umbrella's own top-level values keys (global, ingress, ...), from its generated schema. */
const UMBRELLA_OWN_KEYS = Object.keys(JSON.parse(umbrellaSchema(serverSchema(), [])).properties);

/**
 * Names a server may not take: the umbrella chart's own top-level values (global, ingress, ...),
 * read from helm/mcp-fleet/values.yaml (its keys that are not servers) and from the keys the
 * umbrella's schema defines itself, and the names of the charts and the CLI.
 */
export function reservedNames(serverNames, rootDir = root) {
  const reserved = new Set(['mcp-fleet', 'mcp-fleet-lib', ...UMBRELLA_OWN_KEYS]);
  const file = join(rootDir, 'helm', 'mcp-fleet', 'values.yaml');
  if (existsSync(file))
    for (const key of Object.keys(parse(readFileSync(file, 'utf8')) ?? {}))
      if (!serverNames.includes(key) || UMBRELLA_OWN_KEYS.includes(key)) reserved.add(key);
  return reserved;
}

/**
 * Checks one manifest with the rules of core's manifest schema (packages/core/src/manifest.ts):
 * a chart is only ever written from a manifest core would accept. Returns the problems.
 */
export function manifestProblems(m, reserved = new Set()) {
  const problems = [];
  const schema = serverSchema();
  const envNames = schema.properties.secretEnv.propertyNames;
  const builtinEgress = Object.keys(
    parse(readFileSync(join(helmDir, 'mcp-fleet-lib', 'server-values.yaml'), 'utf8')).networkPolicy.egress
      .allow,
  );
  const coreEnv = envNames.not.anyOf.find((a) => a.enum).enum;
  const walk = (value, path) => {
    if (typeof value === 'string') {
      if (UNSAFE_TEXT.test(value)) problems.push(`${path}: no control characters or line separators`);
    } else if (Array.isArray(value)) {
      for (const [i, v] of value.entries()) walk(v, `${path}.${i}`);
    } else if (value && typeof value === 'object')
      for (const [k, v] of Object.entries(value)) {
        if (UNSAFE_TEXT.test(k))
          problems.push(`${path}: key ${JSON.stringify(k)} holds a control character or line separator`);
        walk(v, `${path}.${k}`);
      }
  };
  if (!m || typeof m !== 'object' || Array.isArray(m)) return ['mcpFleet: an object'];
  walk(m, 'mcpFleet');
  const str = (v) => typeof v === 'string';
  if (!str(m.name) || !SERVER_NAME.test(m.name) || m.name.length > MAX_SERVER_NAME)
    problems.push(`mcpFleet.name: lowercase words joined by "-", at most ${MAX_SERVER_NAME} characters`);
  else if (reserved.has(m.name))
    problems.push(`mcpFleet.name: "${m.name}" is reserved (the umbrella chart's own setting)`);
  if (!Number.isInteger(m.port) || m.port < 1024 || m.port > 65535)
    problems.push('mcpFleet.port: an integer from 1024 to 65535');
  if (!str(m.description) || m.description.length === 0) problems.push('mcpFleet.description: a sentence');
  if (m.localSetup !== undefined && !str(m.localSetup)) problems.push('mcpFleet.localSetup: a path');
  const obj = (v) => v && typeof v === 'object' && !Array.isArray(v);
  if (m.secretEnv !== undefined && !obj(m.secretEnv)) problems.push('mcpFleet.secretEnv: an object');
  for (const [name, v] of Object.entries(obj(m.secretEnv) ? m.secretEnv : {})) {
    if (!new RegExp(envNames.pattern).test(name) || name.startsWith('NODE_') || coreEnv.includes(name))
      problems.push(
        `mcpFleet.secretEnv.${JSON.stringify(name)}: an upper-case variable name that core does not read (nor NODE_*)`,
      );
    if (!obj(v) || !str(v.key) || !/^[A-Za-z0-9._-]+$/.test(v.key) || !str(v.description) || !v.description)
      problems.push(`mcpFleet.secretEnv.${JSON.stringify(name)}: { key, description, optional? }`);
    else if (v.optional !== undefined && typeof v.optional !== 'boolean')
      problems.push(`mcpFleet.secretEnv.${JSON.stringify(name)}.optional: a boolean`);
  }
  if (m.egress !== undefined && !obj(m.egress)) problems.push('mcpFleet.egress: an object');
  for (const [name, rule] of Object.entries(obj(m.egress) ? m.egress : {})) {
    if (!EGRESS_NAME.test(name))
      problems.push(
        `mcpFleet.egress.${JSON.stringify(name)}: lowercase letters, digits and "-", starting with a letter`,
      );
    else if (builtinEgress.includes(name))
      problems.push(
        `mcpFleet.egress.${JSON.stringify(name)}: the chart's own rule (${builtinEgress.join(', ')}); choose another name`,
      );
    if (
      !obj(rule) ||
      !str(rule.comment) ||
      !Array.isArray(rule.ports) ||
      rule.ports.length === 0 ||
      !rule.ports.every((p) => Number.isInteger(p) && p >= 1 && p <= 65535)
    )
      problems.push(`mcpFleet.egress.${JSON.stringify(name)}: { ports: [1-65535, ...], comment }`);
  }
  if (m.helmValues !== undefined && !obj(m.helmValues)) problems.push('mcpFleet.helmValues: an object');
  return problems;
}

/**
 * Every server's chart settings, read from its manifest (`servers/<dir>/package.json#mcpFleet`:
 * name, port, description, secretEnv, egress, helmValues), plus the servers not built yet
 * (scripts/planned-servers.json), in port order. A name or port given twice, a manifest core
 * would refuse, or a name the umbrella chart uses itself is refused.
 */
export function readServers(rootDir = root) {
  const found = [];
  const serversDir = join(rootDir, 'servers');
  for (const entry of existsSync(serversDir) ? readdirSync(serversDir).sort() : []) {
    const file = join(serversDir, entry, 'package.json');
    if (!existsSync(file)) continue;
    const m = JSON.parse(readFileSync(file, 'utf8')).mcpFleet;
    if (m) found.push({ m, source: `servers/${entry}/package.json` });
  }
  const plannedFile = join(rootDir, 'scripts', 'planned-servers.json');
  if (existsSync(plannedFile)) {
    for (const m of JSON.parse(readFileSync(plannedFile, 'utf8')).servers)
      found.push({ m, source: 'scripts/planned-servers.json' });
  }
  const reserved = reservedNames(
    found.map(({ m }) => m?.name),
    rootDir,
  );
  for (const { m, source } of found) {
    const problems = manifestProblems(m, reserved);
    if (problems.length > 0)
      throw new Error(
        `${source}: invalid server manifest${m?.name ? ` of ${JSON.stringify(m.name)}` : ''}: ${problems.join('; ')}`,
      );
  }
  for (const { m, source } of found) {
    const clash = found.find((o) => o.m !== m && (o.m.name === m.name || o.m.port === m.port));
    if (clash)
      throw new Error(
        `${source} and ${clash.source} both declare ${clash.m.name === m.name ? `server ${m.name}` : `port ${m.port}`}`,
      );
  }
  return found
    .map(({ m }) => m)
    .sort((a, b) => a.port - b.port)
    .map((m) => ({
      name: m.name,
      port: m.port,
      description: m.description,
      secretEnv: Object.fromEntries(
        Object.entries(m.secretEnv ?? {}).map(([k, v]) => [k, { optional: false, ...v }]),
      ),
      egress: m.egress ?? {},
      ...(m.helmValues ? { values: m.helmValues } : {}),
    }));
}

/** What differs per server (see readServers). */
export const SERVERS = readServers();

/** A YAML scalar, quoted by the yaml library as needed: nothing from a manifest is pasted as is. */
function scalar(value) {
  return stringify(value, { lineWidth: 0 }).trimEnd();
}

function chartYaml(s) {
  return `# Generated by scripts/helm-charts.mjs: edit that script or helm/mcp-fleet-lib, not this file.
apiVersion: v2
name: ${scalar(s.name)}
description: ${scalar(`mcp-fleet ${s.name} MCP server: ${s.description}`)}
type: application
version: ${CHART_VERSION}
appVersion: "${APP_VERSION}"
# topologySpreadConstraints.matchLabelKeys needs Kubernetes 1.27 or later.
kubeVersion: ">=1.27.0-0"
keywords: [mcp, model-context-protocol, agents, ${scalar(s.name)}]
dependencies:
  - name: mcp-fleet-lib
    version: ${CHART_VERSION}
    repository: file://../mcp-fleet-lib
`;
}

function valuesYaml(s) {
  const common = readFileSync(join(helmDir, 'mcp-fleet-lib', 'server-values.yaml'), 'utf8').replaceAll(
    '@SERVER@',
    s.name,
  );
  const doc = parseDocument(common);

  const secretEnv = doc.createNode(
    Object.fromEntries(
      Object.entries(s.secretEnv).map(([name, v]) => [name, { key: v.key, optional: v.optional }]),
    ),
  );
  for (const pair of secretEnv.items) {
    pair.key.commentBefore = ` -- ${s.secretEnv[pair.key.value].description}`;
  }
  doc.setIn(['secretEnv'], secretEnv);

  for (const [name, rule] of Object.entries(s.egress)) {
    const node = doc.createNode({ enabled: true, ports: rule.ports, to: [] });
    node.get('ports', true).flow = true;
    node.get('to', true).flow = true;
    doc.setIn(['networkPolicy', 'egress', 'allow', name], node);
    const allow = doc.getIn(['networkPolicy', 'egress', 'allow'], true);
    const pair = allow.items.find((p) => (p.key?.value ?? p.key) === name);
    if (!isScalar(pair.key)) pair.key = doc.createNode(name);
    pair.key.commentBefore = ` -- ${rule.comment}`;
  }
  for (const [path, value] of flatten(s.values ?? {})) doc.setIn(path, value);
  const header = '# Generated by scripts/helm-charts.mjs from helm/mcp-fleet-lib/server-values.yaml.\n';
  return header + doc.toString({ lineWidth: 0, flowCollectionPadding: false });
}

function flatten(obj, prefix = []) {
  return Object.entries(obj).flatMap(([k, v]) =>
    v && typeof v === 'object' && !Array.isArray(v) ? flatten(v, [...prefix, k]) : [[[...prefix, k], v]],
  );
}

function umbrellaChartYaml() {
  const deps = SERVERS.map(
    (s) =>
      `  - name: ${scalar(s.name)}\n    version: ${CHART_VERSION}\n    repository: ${scalar(`file://../${s.name}`)}\n    condition: ${scalar(`${s.name}.enabled`)}\n`,
  ).join('');
  return `# Generated by scripts/helm-charts.mjs (the server list lives there).
apiVersion: v2
name: mcp-fleet
description: ${scalar(
    `The mcp-fleet MCP servers (${SERVERS.map((s) => s.name).join(', ')}) in one release: one values file, one shared policy, one migration Job, and optionally one host for all servers.`,
  )}
type: application
version: ${CHART_VERSION}
appVersion: "${APP_VERSION}"
kubeVersion: ">=1.27.0-0"
keywords: [mcp, model-context-protocol, agents]
dependencies:
  - name: mcp-fleet-lib
    version: ${CHART_VERSION}
    repository: file://../mcp-fleet-lib
${deps}`;
}

/** The umbrella's schema: its own keys, the shared `global`, and one open object per server. */
function umbrellaSchema(serverSchema, servers = SERVERS) {
  const str = { type: 'string' };
  const schema = {
    $schema: serverSchema.$schema,
    title: 'mcp-fleet umbrella chart values',
    description:
      "Generated by scripts/helm-charts.mjs. Each server section is checked by that server chart's own schema.",
    type: 'object',
    additionalProperties: false,
    definitions: serverSchema.definitions,
    properties: {
      global: { $ref: '#/definitions/global' },
      'mcp-fleet-lib': serverSchema.properties['mcp-fleet-lib'],
      ingress: {
        type: 'object',
        additionalProperties: false,
        properties: {
          enabled: { type: 'boolean' },
          className: str,
          annotations: { $ref: '#/definitions/stringMap' },
          proxyReadTimeoutSeconds: { type: 'integer', minimum: 1 },
          tls: {
            type: 'object',
            additionalProperties: false,
            properties: { secretName: { $ref: '#/definitions/k8sName' } },
          },
        },
      },
      httpRoute: {
        type: 'object',
        additionalProperties: false,
        properties: {
          enabled: { type: 'boolean' },
          parentRefs: {
            type: 'array',
            items: {
              type: 'object',
              additionalProperties: false,
              required: ['name'],
              properties: {
                group: str,
                kind: str,
                name: str,
                namespace: str,
                sectionName: str,
                port: { type: 'integer', minimum: 1, maximum: 65535 },
              },
            },
          },
          annotations: { $ref: '#/definitions/stringMap' },
        },
      },
    },
  };
  for (const s of servers) {
    schema.properties[s.name] = {
      type: 'object',
      description: `Values of the ${s.name} chart (helm show values helm/${s.name}).`,
      properties: { enabled: { type: 'boolean' } },
    };
  }
  return `${JSON.stringify(schema, null, 2)}\n`;
}

/** Every generated file, as path -> content. */
export function renderCharts() {
  const schema = readFileSync(join(helmDir, 'mcp-fleet-lib', 'server-values.schema.json'), 'utf8');
  const files = new Map();
  for (const s of SERVERS) {
    const dir = join(helmDir, s.name);
    files.set(join(dir, 'Chart.yaml'), chartYaml(s));
    files.set(join(dir, 'values.yaml'), valuesYaml(s));
    files.set(join(dir, 'values.schema.json'), schema);
    files.set(
      join(dir, 'templates', 'server.yaml'),
      '{{- /* Generated by scripts/helm-charts.mjs: everything is in the mcp-fleet-lib chart. */ -}}\n' +
        '{{ include "mcp-fleet-lib.server" . }}\n',
    );
    files.set(join(dir, 'templates', 'NOTES.txt'), '{{ include "mcp-fleet-lib.notes" . }}\n');
    files.set(join(dir, '.helmignore'), '# Generated by scripts/helm-charts.mjs\n.DS_Store\n*.tmp\n*.orig\n');
  }
  files.set(join(helmDir, 'mcp-fleet', 'Chart.yaml'), umbrellaChartYaml());
  files.set(
    join(helmDir, 'mcp-fleet', 'templates', '_servers.tpl'),
    '{{/* Generated by scripts/helm-charts.mjs: every server of the fleet, in port order. */}}\n' +
      `{{- define "mcp-fleet.serverNames" -}}${SERVERS.map((s) => s.name).join(' ')}{{- end -}}\n`,
  );
  files.set(join(helmDir, 'mcp-fleet', 'values.schema.json'), umbrellaSchema(JSON.parse(schema)));
  return files;
}

/**
 * Why a generated file must not be written, if it must not: a line break only Helm's YAML sees
 * (U+0085, U+2028, U+2029) or any other control character but tab and newline: text that Helm
 * would read otherwise than this script's YAML library.
 */
export function generatedFileProblem(text) {
  const at = text.search(/[\u2028\u2029]|[^\P{Cc}\t\n]/u);
  if (at >= 0)
    return `holds U+${text.codePointAt(at).toString(16).toUpperCase().padStart(4, '0')} at offset ${at} (Helm reads U+0085, U+2028 and U+2029 as line breaks)`;
  return undefined;
}

/**
 * Formats generated JSON and YAML the way `biome format` (the repository's formatter) would, so
 * that `biome check .` and `--check` agree. Without biome installed the text is left as is.
 */
export function formatLikeRepo(path, text) {
  if (!/\.(json|ya?ml)$/.test(path)) return text;
  const biome = join(root, 'node_modules', '@biomejs', 'biome', 'bin', 'biome');
  if (!existsSync(biome)) return text;
  const r = spawnSync(process.execPath, [biome, 'format', `--stdin-file-path=${path}`], {
    input: text,
    encoding: 'utf8',
    cwd: root,
  });
  return r.status === 0 && r.stdout ? r.stdout : text;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const check = process.argv.includes('--check');
  const stale = [];
  for (const [path, raw] of renderCharts()) {
    const content = formatLikeRepo(path, raw);
    const problem = generatedFileProblem(content);
    if (problem) {
      console.error(`${path.slice(root.length + 1)}: ${problem}; nothing written`);
      process.exit(1);
    }
    const current = existsSync(path) ? readFileSync(path, 'utf8') : undefined;
    if (current === content) continue;
    stale.push(path.slice(root.length + 1));
    if (!check) {
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, content);
    }
  }
  if (check && stale.length > 0) {
    console.error(`out of date (run node scripts/helm-charts.mjs):\n  ${stale.join('\n  ')}`);
    process.exit(1);
  }
  if (!check) console.log(stale.length ? `wrote ${stale.join(', ')}` : 'charts up to date');
}
