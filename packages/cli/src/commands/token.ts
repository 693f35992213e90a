// `fleet token`: mints a JWT from the local dev issuer. For local use only.
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DevIssuer } from '@mcp-fleet/testkit';
import { FLEET_DIR, LOCAL_ISSUER, LOCAL_PORTS, LOCAL_SCOPE, localResource } from '../layout.js';

/** Parses "90s", "15m", "2h", "7d" or plain seconds. */
export function parseDuration(text: string): number {
  const m = /^(\d+)(s|m|h|d)?$/.exec(text.trim());
  if (!m) throw new Error(`invalid duration "${text}" (use e.g. 900, 15m, 2h, 1d)`);
  const n = Number(m[1]);
  return n * ({ s: 1, m: 60, h: 3600, d: 86400 } as const)[(m[2] ?? 's') as 's' | 'm' | 'h' | 'd'];
}

/** `fleet token --agent <id> --role <role> [--server <name>|--all] [--ttl <dur>] [--tenant t] [--user u] [--session s] [--scope s]` */
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
      scope: { type: 'string', default: LOCAL_SCOPE },
    },
  });
  if (!values.agent || !values.role?.length) {
    process.stderr.write(
      'usage: fleet token --agent <id> --role <role> [--server <name>|--all] [--ttl <dur>]\n',
    );
    return 2;
  }
  if (!values.all && !values.server) {
    process.stderr.write('name the audience: --server <name> (one server) or --all (every server)\n');
    return 2;
  }
  const servers = Object.keys(LOCAL_PORTS).filter((k) => k !== 'issuer');
  const aud = values.all ? servers.map((s) => localResource(s)) : localResource(values.server!);
  const issuer = await DevIssuer.fromFile(join(FLEET_DIR, 'dev-issuer.json'), LOCAL_ISSUER);
  const token = await issuer.mint({
    sub: values.agent,
    roles: values.role.flatMap((r) => r.split(',')),
    aud,
    scope: values.scope,
    tenant: values.tenant,
    ...(values.user ? { user: values.user } : {}),
    sid: values.session ?? randomUUID(),
    ttlSeconds: parseDuration(values.ttl),
  });
  process.stdout.write(`${token}\n`);
  return 0;
}
