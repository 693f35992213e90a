// `fleet policy check <file>` and `fleet policy explain --role R [--server S]`: both use core's own
// parser and decide(), so what they print is what the servers enforce.
import { readFileSync } from 'node:fs';
import { parseArgs, parseEnv } from 'node:util';
import type { AnyTool } from '@mcp-fleet/core';
import {
  decide,
  describeGap,
  explainFlow,
  explainFlowPolicy,
  explainGovernance,
  type Grant,
  grantCovers,
  type PolicyDocument,
  type PolicyGap,
  parsePolicy,
  policyGaps,
  ToolRegistry,
  toolFacts,
  validatePolicy,
} from '@mcp-fleet/core/policy';
import { discoverServers, EXAMPLE_POLICY, loadDefinition } from '../layout.js';

/** One line of `policy explain`. */
export interface ExplainRow {
  server: string;
  tool: string;
  readOnly: boolean;
  allowed: boolean;
  reason: string;
  approval: boolean;
  constraints: unknown[] | null;
  /** The tool's constraint dimension key (`database.schemas`), or null when it declares none. */
  dimension: string | null;
  /** Rate limits, budget, cache, idempotency, approval and timeout that apply, with where each comes from. */
  governance: string[];
  /** Why the server does not list this tool with this environment (its upstream is not configured...). */
  unlisted?: string;
  /**
   * Flow guard (policy with a `flow` section): the labels its results get, the flow rules that can
   * hold it, copy detection and the anomaly hold that apply to it.
   */
  flow?: string[];
}

/** A server's name and tools, as policy sees them. */
export interface ServerTools {
  name: string;
  tools: readonly AnyTool[];
  /** Where its environment-dependent tools came from, e.g. `saved queries from SAVED_QUERIES_FILE=<unset>`. */
  sources?: readonly string[];
  /** Tools it declares but does not list with this environment, each with why. */
  unlisted?: Readonly<Record<string, string>>;
}

/** What `role` may do on each server, decided by the same function the servers call. */
export function explainPolicy(
  policy: PolicyDocument,
  role: string,
  servers: readonly ServerTools[],
): ExplainRow[] {
  const rows: ExplainRow[] = [];
  for (const server of servers) {
    const registry = new ToolRegistry(server.tools);
    // The values this server's tools would receive, parsed with their dimensions' schemas, as the
    // server itself parses them (a document that a server would refuse throws here too).
    const doc = validatePolicy(policy, server.name, registry);
    for (const reg of registry.all()) {
      const facts = toolFacts(reg.tool);
      const d = decide(doc, { roles: [role] }, server.name, facts);
      rows.push({
        server: server.name,
        tool: reg.tool.name,
        readOnly: reg.tool.governance.readOnly,
        allowed: d.allowed,
        reason: d.reason,
        approval: d.approvalRequired,
        constraints: d.constraints,
        dimension: facts.dimension === null ? null : `${server.name}.${facts.dimension}`,
        governance: d.allowed ? explainGovernance(doc, [role], server.name, reg.tool).lines : [],
        ...(doc.flow && d.allowed ? { flow: explainFlow(doc.flow, [role], server.name, reg.tool) } : {}),
        ...(server.unlisted && Object.hasOwn(server.unlisted, reg.tool.name)
          ? { unlisted: server.unlisted[reg.tool.name] as string }
          : {}),
      });
    }
  }
  return rows;
}

async function loadServers(only?: string): Promise<ServerTools[]> {
  const out: ServerTools[] = [];
  for (const pkg of discoverServers()) {
    if (only && pkg.name !== only) continue;
    const def = await loadDefinition(pkg);
    const sources = Object.entries(pkg.manifest.toolEnv).map(
      ([name, what]) => `${what} from ${name}=${process.env[name] ?? '<unset>'}`,
    );
    out.push({
      name: def.name,
      tools: def.tools as readonly AnyTool[],
      sources,
      unlisted: def.unlistedReasons,
    });
  }
  return out;
}

/** Loads `file` (KEY=value lines) into this process's environment, overriding what is set. */
export function loadEnvFile(file: string): void {
  Object.assign(process.env, parseEnv(readFileSync(file, 'utf8')));
}

/** Whether `pattern` matches one of `names`, by the matcher the servers use (grantCovers). */
function matchesAny(pattern: string, names: readonly string[]): boolean {
  const probe: Grant = {
    servers: [pattern],
    tools: [pattern],
    access: 'all',
    except: [],
    constraints: {},
    approval: [],
  };
  const facts = (name: string) => ({ name, readOnly: true, needsApproval: false, dimension: null });
  return names.some((n) => grantCovers(probe, n, facts(n)));
}

/**
 * Patterns of `grant` that match no server or tool of this checkout (a typo, or a server not
 * deployed here): one warning each. Tool patterns are checked against the tools of the servers
 * the grant names; a grant naming no known server is reported once, for its servers.
 */
function unmatchedPatterns(where: string, grant: Grant, servers: readonly ServerTools[]): string[] {
  const out: string[] = [];
  const unknownServers = grant.servers.filter(
    (p) =>
      !matchesAny(
        p,
        servers.map((s) => s.name),
      ),
  );
  for (const p of unknownServers)
    out.push(
      `warning: ${where}.servers: "${p}" matches no server of this checkout (a typo, or a server not deployed here)`,
    );
  const covered = servers.filter((s) => grant.servers.some((p) => matchesAny(p, [s.name])));
  if (covered.length === 0) return out;
  const tools = covered.flatMap((s) => s.tools.map((t) => t.name));
  const names = covered.map((s) => s.name).join(', ');
  for (const field of ['tools', 'except', 'approval'] as const) {
    for (const p of grant[field]) {
      if (!matchesAny(p, tools)) out.push(`warning: ${where}.${field}: "${p}" matches no tool of ${names}`);
    }
  }
  return out;
}

/** What `fleet policy check` found. */
export interface PolicyCheck {
  /** The policy parses and every constraint value fits its dimension on every server. */
  ok: boolean;
  /** Grants that match a constrained tool but leave its dimension unset (they do not grant it). */
  gaps: PolicyGap[];
  /** Names nothing matches, tool names on two servers: reported, fatal only with `--strict`. */
  warnings: string[];
  messages: string[];
}

/**
 * Validates a policy file against the tools of every server in this checkout: each constraint value
 * parsed with its dimension's schema, and every gap (role, grant, server, tool, dimension) listed.
 */
export async function checkPolicyFile(file: string, only?: readonly ServerTools[]): Promise<PolicyCheck> {
  const messages: string[] = [];
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    return {
      ok: false,
      gaps: [],
      warnings: [],
      messages: [`cannot read ${file}: ${(err as Error).message}`],
    };
  }
  let doc: PolicyDocument;
  try {
    doc = parsePolicy(text);
  } catch (err) {
    return { ok: false, gaps: [], warnings: [], messages: [(err as Error).message] };
  }
  let ok = true;
  const gaps: PolicyGap[] = [];
  const servers = only ?? (await loadServers());
  for (const server of servers) {
    const registry = new ToolRegistry(server.tools);
    try {
      gaps.push(...policyGaps(parsePolicy(text, server.name, registry), server.name, registry));
    } catch (err) {
      ok = false;
      messages.push(`${server.name}: ${(err as Error).message}`);
    }
  }
  const warnings: string[] = [];
  // The tool lists some servers build from their environment: say which environment this check saw.
  for (const server of servers)
    for (const source of server.sources ?? []) messages.push(`${server.name}: ${source}`);
  // A tool name on two servers is one name in `tools`/`except`/`approval` lists for both: say so.
  const owners = new Map<string, string[]>();
  for (const server of servers)
    for (const t of server.tools) owners.set(t.name, [...(owners.get(t.name) ?? []), server.name]);
  for (const [tool, on] of owners) {
    if (on.length > 1)
      warnings.push(
        `warning: tool ${tool} exists on ${on.join(' and ')}: a grant's tools/except/approval naming it applies on each of them; rename one, or grant per server`,
      );
  }
  const knownServers = new Set(servers.map((s) => s.name));
  for (const [roleName, role] of Object.entries(doc.roles)) {
    if (role.grants.length === 0) messages.push(`warning: role ${roleName} grants nothing`);
    role.grants.forEach((g, i) => {
      const where = `roles.${roleName}.grants.${i}`;
      if (servers.length > 0) warnings.push(...unmatchedPatterns(where, g, servers));
      for (const key of Object.keys(g.constraints)) {
        if (servers.length === 0) continue;
        const slash = key.indexOf('/');
        const server = key.slice(0, slash === -1 ? key.indexOf('.') : slash);
        const tool = slash === -1 ? undefined : key.slice(slash + 1);
        const def = servers.find((s) => s.name === server);
        if (!knownServers.has(server))
          warnings.push(`warning: ${where}.constraints names a server not in this checkout: ${key}`);
        else if (tool !== undefined && !def?.tools.some((t) => t.name === tool))
          warnings.push(`warning: ${where}.constraints names unknown tool ${key}`);
      }
    });
  }
  messages.push(...warnings);
  for (const gap of gaps) messages.push(`gap: ${describeGap(gap)}`);
  if (ok)
    messages.unshift(
      `${file}: valid (${Object.keys(doc.roles).length} roles, checked against ${servers.length} servers, ${gaps.length} gaps, ${warnings.length} warnings)`,
    );
  return { ok, gaps, warnings, messages };
}

/** `fleet policy check|explain ...` */
export async function policyCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === 'check') {
    const { values, positionals } = parseArgs({
      args: rest,
      options: {
        'allow-gaps': { type: 'boolean' },
        strict: { type: 'boolean' },
        'env-file': { type: 'string' },
      },
      allowPositionals: true,
    });
    const file = positionals[0] ?? EXAMPLE_POLICY;
    // The servers' tool lists can depend on their environment (saved queries): check with theirs.
    if (values['env-file']) loadEnvFile(values['env-file']);
    const { ok, gaps, warnings, messages } = await checkPolicyFile(file);
    // A gap denies (fail closed), so it is not a hole; but it is almost always a forgotten line, so it
    // fails the check unless --allow-gaps says the denial is meant. Warnings (names matching nothing
    // here, which may be servers not deployed yet) fail it only with --strict.
    const pass =
      ok &&
      (gaps.length === 0 || values['allow-gaps'] === true) &&
      (warnings.length === 0 || values.strict !== true);
    for (const m of messages) (pass ? process.stdout : process.stderr).write(`${m}\n`);
    if (ok && gaps.length > 0 && values['allow-gaps'] !== true)
      process.stderr.write('gaps found: add the values (or "*"), or pass --allow-gaps\n');
    if (ok && warnings.length > 0 && values.strict === true)
      process.stderr.write('warnings found and --strict given\n');
    return pass ? 0 : 1;
  }
  if (sub === 'explain') {
    const { values } = parseArgs({
      args: rest,
      options: {
        role: { type: 'string' },
        server: { type: 'string' },
        file: { type: 'string' },
        json: { type: 'boolean' },
      },
    });
    if (!values.role) {
      process.stderr.write(
        'usage: fleet policy explain --role <role> [--server <name>] [--file <policy.yaml>]\n',
      );
      return 2;
    }
    const policy = parsePolicy(readFileSync(values.file ?? EXAMPLE_POLICY, 'utf8'));
    // explainPolicy validates the constraint values per server, as each server does on load.
    if (!Object.hasOwn(policy.roles, values.role))
      process.stderr.write(`note: role "${values.role}" is not in the policy; everything is denied\n`);
    const rows = explainPolicy(policy, values.role, await loadServers(values.server));
    if (values.json) {
      process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
      return 0;
    }
    for (const r of rows) {
      const verdict = r.allowed ? (r.approval ? 'ALLOW (approval)' : 'ALLOW') : 'deny';
      const limits =
        r.allowed && r.dimension !== null
          ? `  ${r.dimension}: ${r.constraints === null ? '"*"' : JSON.stringify(r.constraints)}`
          : '';
      process.stdout.write(
        `${verdict.padEnd(17)} ${r.server}/${r.tool} ${r.readOnly ? '[read]' : '[write]'}  — ${r.reason}${limits}\n`,
      );
      if (r.unlisted !== undefined)
        process.stdout.write(`${''.padEnd(19)}not listed by this deployment: ${r.unlisted}\n`);
      for (const line of r.governance) process.stdout.write(`${''.padEnd(19)}${line}\n`);
      for (const line of r.flow ?? []) process.stdout.write(`${''.padEnd(19)}${line}\n`);
    }
    // The flow section as a whole (rules, copy detection, anomaly scores), when the policy has one.
    if (policy.flow) {
      process.stdout.write("\nflow guard (the policy's flow section):\n");
      for (const line of explainFlowPolicy(policy.flow)) process.stdout.write(`  ${line}\n`);
    }
    return 0;
  }
  process.stderr.write(
    'usage: fleet policy check [file] [--allow-gaps] [--strict] [--env-file <path>] | fleet policy explain --role <role> [--server <name>]\n',
  );
  return 2;
}
