#!/usr/bin/env -S node --conditions=mcp-fleet-source --import tsx
// The `fleet` command.
import { runAgents } from './commands/agents.js';
import { runApprovals } from './commands/approvals.js';
import { auditCommand } from './commands/audit.js';
import { flowCommand } from './commands/flow.js';
import { migrateCommand } from './commands/migrate.js';
import { newCommand } from './commands/new.js';
import { outboxCommand } from './commands/outbox.js';
import { policyCommand } from './commands/policy.js';
import { startCommand } from './commands/start.js';
import { tokenCommand } from './commands/token.js';

const USAGE = `fleet <command>
  start [--only a,b] [--replicas N]       start the local fleet (embedded PostgreSQL, dev issuer, servers;
                                          N processes per server behind its port, needs REDIS_URL)
  token --agent <id> --role <role> [--server <name>|--all] [--ttl 1h] [--tenant t] [--user u] [--session s]
                                          print a dev JWT from the local issuer (local use only)
  token --approver <name> [--groups a,b] [--tenant t] [--server <name>]
                                          print a dev approver token (approvals audience, mcp:approve)
  policy check [file]                     validate a policy file against the servers' tools
  policy explain --role <r> [--server s]  what a role may do, from the servers' own decision function
  migrate                                 apply fleet database migrations (DATABASE_URL)
  new server <name> [--port N] [--description text] [--no-install]
                                          a new server package (manifest, definition, an example
                                          tool and its test), its Helm chart, policy stanza and docs
  audit [--agent a] [--tool t] [--outcome o] [--limit n] [--json]
                                          read the audit trail (DATABASE_URL, default: the local fleet)
  audit purge --older-than <days> [--server s] [--dry-run]
                                          delete audit records older than the window, once (retention);
                                          one server's with --server, else every server's
  outbox [--limit n] [--system s] [--json]
                                          what agents sent through the local simulators
  approvals list|show <id>|approve <id>|deny <id> [--note n] [--status s] [--server s] [--json]
                                          human decisions on held calls, through the servers'
                                          approvals API with an approver token (--token or
                                          FLEET_APPROVER_TOKEN; --url, default the local fleet)
  agents list|suspend <id>|resume <id> [--reason text] [--json]
                                          the kill switch: every server refuses a suspended agent
                                          within seconds; through the admin server's agents API
                                          with an approver token (--token or FLEET_APPROVER_TOKEN;
                                          --url or FLEET_ADMIN_URL, default http://127.0.0.1:7405)
  flow learn [--days N]                   relearn the anomaly baseline from the audit trail now
  flow anomalies [--hours 24] [--limit 20] [--json]
                                          the most unusual calls, with their sessions' earlier calls
`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'start':
      return startCommand(rest);
    case 'token':
      return tokenCommand(rest);
    case 'policy':
      return policyCommand(rest);
    case 'migrate':
      return migrateCommand();
    case 'new':
      return newCommand(rest);
    case 'audit':
      return auditCommand(rest);
    case 'approvals':
      return runApprovals(rest);
    case 'agents':
      return runAgents(rest);
    case 'outbox':
      return outboxCommand(rest);
    case 'flow':
      return flowCommand(rest);
    default:
      process.stdout.write(USAGE);
      return command === undefined || command === 'help' || command === '--help' ? 0 : 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`fleet: ${err instanceof Error ? err.message : String(err ?? 'failed')}\n`);
    process.exitCode = 1;
  },
);
