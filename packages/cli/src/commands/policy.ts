// `fleet policy check <file>` and `fleet policy explain --role R [--server S]`: both use core's own
// parser and decide(), so what they print is what the servers enforce.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { AnyTool } from '@mcp-fleet/core';
import {
  decide,
  describeGap,
  explainGovernance,
  type PolicyDocument,
  type PolicyGap,
  parsePolicy,
  policyGaps,
  ToolRegistry,
  toolFacts,
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
}

/** A server's name and tools, as policy sees them. */
export interface ServerTools {
  name: string;
  tools: readonly AnyTool[];
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
    for (const reg of registry.all()) {
      const facts = toolFacts(reg.tool);
      const d = decide(policy, { roles: [role] }, server.name, facts);
      rows.push({
        server: server.name,
        tool: reg.tool.name,
        readOnly: reg.tool.governance.readOnly,
        allowed: d.allowed,
        reason: d.reason,
        approval: d.approvalRequired,
        constraints: d.constraints,
        dimension: facts.dimension === null ? null : `${server.name}.${facts.dimension}`,
        governance: d.allowed ? explainGovernance(policy, [role], server.name, reg.tool).lines : [],
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
    out.push({ name: def.name, tools: def.tools as readonly AnyTool[] });
  }
  return out;
}

/** What `fleet policy check` found. */
export interface PolicyCheck {
  /** The policy parses and every constraint value fits its dimension on every server. */
  ok: boolean;
  /** Grants that match a constrained tool but leave its dimension unset (they do not grant it). */
  gaps: PolicyGap[];
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
    return { ok: false, gaps: [], messages: [`cannot read ${file}: ${(err as Error).message}`] };
  }
  let doc: PolicyDocument;
  try {
    doc = parsePolicy(text);
  } catch (err) {
    return { ok: false, gaps: [], messages: [(err as Error).message] };
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
  const knownTools = new Set(servers.flatMap((s) => s.tools.map((t) => t.name)));
  const knownServers = new Set(servers.map((s) => s.name));
  for (const [roleName, role] of Object.entries(doc.roles)) {
    if (role.grants.length === 0) messages.push(`warning: role ${roleName} grants nothing`);
    role.grants.forEach((g, i) => {
      for (const key of Object.keys(g.constraints)) {
        const dot = key.indexOf('.');
        const unknown =
          dot === -1 ? !knownTools.has(key) : !knownServers.has(key.slice(0, dot)) && servers.length > 0;
        if (servers.length > 0 && unknown) {
          messages.push(
            `warning: roles.${roleName}.grants.${i}.constraints names ${dot === -1 ? 'unknown tool' : 'a server not in this checkout:'} ${key}`,
          );
        }
      }
    });
  }
  for (const gap of gaps) messages.push(`gap: ${describeGap(gap)}`);
  if (ok)
    messages.unshift(
      `${file}: valid (${Object.keys(doc.roles).length} roles, checked against ${servers.length} servers, ${gaps.length} gaps)`,
    );
  return { ok, gaps, messages };
}

/** `fleet policy check|explain ...` */
export async function policyCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === 'check') {
    const { values, positionals } = parseArgs({
      args: rest,
      options: { 'allow-gaps': { type: 'boolean' } },
      allowPositionals: true,
    });
    const file = positionals[0] ?? EXAMPLE_POLICY;
    const { ok, gaps, messages } = await checkPolicyFile(file);
    // A gap denies (fail closed), so it is not a hole; but it is almost always a forgotten line, so it
    // fails the check unless --allow-gaps says the denial is meant.
    const pass = ok && (gaps.length === 0 || values['allow-gaps'] === true);
    for (const m of messages) (pass ? process.stdout : process.stderr).write(`${m}\n`);
    if (ok && !pass) process.stderr.write('gaps found: add the values (or "*"), or pass --allow-gaps\n');
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
      for (const line of r.governance) process.stdout.write(`${''.padEnd(19)}${line}\n`);
    }
    return 0;
  }
  process.stderr.write(
    'usage: fleet policy check [file] [--allow-gaps] | fleet policy explain --role <role> [--server <name>]\n',
  );
  return 2;
}
