// `fleet token`: mints a JWT from the local dev issuer. For local use only.
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { demoPerson } from '@mcp-fleet/simulators';
import { DevIssuer } from '@mcp-fleet/testkit';
import { discoverServers, FLEET_DIR, LOCAL_ISSUER, LOCAL_SCOPE, localResource } from '../layout.js';
import { LOCAL_APPROVER_GROUP } from './start.js';

/** Parses "90s", "15m", "2h", "7d" or plain seconds. */
export function parseDuration(text: string): number {
  const m = /^(\d+)(s|m|h|d)?$/.exec(text.trim());
  if (!m) throw new Error(`invalid duration "${text}" (use e.g. 900, 15m, 2h, 1d)`);
  const n = Number(m[1]);
  return n * ({ s: 1, m: 60, h: 3600, d: 86400 } as const)[(m[2] ?? 's') as 's' | 'm' | 'h' | 'd'];
}

/** The local approvals URL of a server: its resource with `/mcp` replaced by `/approvals` (APPROVER_AUDIENCE's default). */
export function localApprovalsAudience(server: string): string {
  return localResource(server).replace(/\/mcp$/, '/approvals');
}

/**
 * `fleet token --agent <id> --role <role> [--server <name>|--all] [--ttl <dur>] [--tenant t] [--user u] [--session s] [--scope s]`
 * or, for a person deciding approvals, `fleet token --approver <name> [--groups a,b] [--tenant t] [--server <name>] [--ttl <dur>]`
 * (`preferred_username` = the name; `groups`: a demo person's own groups, as the local IdP issues them
 * (alice, bob: fleet-approvers; carol: support only), else `fleet-approvers`; `--groups ''` for none).
 */
export async function tokenCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      agent: { type: 'string' },
      role: { type: 'string', multiple: true },
      server: { type: 'string' },
      all: { type: 'boolean', default: false },
      ttl: { type: 'string', default: '1h' },
      tenant: { type: 'string', default: 'acme' },
      user: { type: 'string' },
      session: { type: 'string' },
      scope: { type: 'string' },
      approver: { type: 'string' },
      groups: { type: 'string' },
    },
  });
  // --all: every server in this checkout (found by its manifest), never one that does not exist.
  const servers = discoverServers().map((s) => s.name);
  if (values.approver !== undefined) {
    // An approver token: approvals audience (every local server's unless --server), the approver
    // scope, no roles, no agent session. /mcp refuses it; only the approvals API accepts it.
    if (!values.approver || values.agent || values.role?.length) {
      process.stderr.write(
        'usage: fleet token --approver <name> [--groups a,b] [--tenant t] [--server <name>] [--ttl <dur>] (no --agent or --role: approvers are people, not agents)\n',
      );
      return 2;
    }
    const issuer = await DevIssuer.fromFile(join(FLEET_DIR, 'dev-issuer.json'), LOCAL_ISSUER);
    // A demo person (DEMO_PEOPLE, whom the local IdP signs in) gets their own groups, as the IdP puts
    // them in its approver tokens: carol (support) is not an approver there, so not here either.
    // Anyone else: the local fleet's approver group (APPROVER_GROUP, as `fleet start` sets it:
    // fleet-approvers unless overridden). --groups a,b names others, --groups '' none (a person
    // outside the group, whom the servers refuse: not_in_group).
    const person = demoPerson(values.approver);
    const groups =
      values.groups === undefined
        ? person
          ? [...person.groups]
          : [process.env.APPROVER_GROUP?.trim() || LOCAL_APPROVER_GROUP]
        : values.groups
            .split(',')
            .map((g) => g.trim())
            .filter(Boolean);
    const token = await issuer.mintApprover({
      sub: values.approver,
      preferredUsername: values.approver,
      groups,
      aud: values.server ? localApprovalsAudience(values.server) : servers.map(localApprovalsAudience),
      ...(values.scope ? { scope: values.scope } : {}),
      tenant: values.tenant,
      ttlSeconds: parseDuration(values.ttl),
    });
    process.stdout.write(`${token}\n`);
    return 0;
  }
  if (!values.agent || !values.role?.length) {
    process.stderr.write(
      'usage: fleet token --agent <id> --role <role> [--server <name>|--all] [--session <id>] [--ttl <dur>]\n       fleet token --approver <name> [--groups a,b] [--tenant t] [--server <name>]\n',
    );
    return 2;
  }
  if (!values.all && !values.server) {
    process.stderr.write('name the audience: --server <name> (one server) or --all (every server)\n');
    return 2;
  }
  const aud = values.all ? servers.map((s) => localResource(s)) : localResource(values.server!);
  const issuer = await DevIssuer.fromFile(join(FLEET_DIR, 'dev-issuer.json'), LOCAL_ISSUER);
  const token = await issuer.mint({
    sub: values.agent,
    roles: values.role.flatMap((r) => r.split(',')),
    aud,
    scope: values.scope ?? LOCAL_SCOPE,
    tenant: values.tenant,
    ...(values.user ? { user: values.user } : {}),
    // The agent session the flow guard follows: a new one per token unless --session names it, so
    // one agent's per-server tokens are one session only when they share --session (or are one --all).
    sid: values.session ?? randomUUID(),
    ttlSeconds: parseDuration(values.ttl),
  });
  process.stdout.write(`${token}\n`);
  return 0;
}
