// Runs `fleet start` as a user would (a child process), on free ports and a private .fleet folder.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '@mcp-fleet/testkit';
import { discoverServers, ROOT } from '../../packages/cli/src/layout.js';

const run = promisify(execFile);
const NODE_ARGS = [
  '--conditions=mcp-fleet-source',
  '--import',
  'tsx',
  join(ROOT, 'packages/cli/src/main.ts'),
];

/**
 * The operator contract's upstream variables (ARCHITECTURE.md "Operator contract") with REDIS_URL and
 * DATABASE_URL: `pnpm start` passes each through when set; a local fleet in tests clears them all.
 */
export const OPERATOR_VARIABLES = [
  'WAREHOUSE_URL',
  'SLACK_BOT_TOKEN',
  'SLACK_API_URL',
  'SMTP_URL',
  'EMAIL_FROM',
  'TEAMS_CHANNELS',
  'JIRA_URL',
  'JIRA_EMAIL',
  'JIRA_API_TOKEN',
  'STRIPE_API_KEY',
  'STRIPE_API_URL',
  'HUBSPOT_ACCESS_TOKEN',
  'HUBSPOT_API_URL',
  'SALESFORCE_INSTANCE_URL',
  'SALESFORCE_ACCESS_TOKEN',
  'VENDOR_TENANTS_FILE',
  'SCIM_BASE_URL',
  'SCIM_TOKEN',
  'STRIPE_WRITE_KEY',
  'ADMIN_PROTECTED_USERS',
  'ADMIN_GROUP',
  'REDIS_URL',
  'DATABASE_URL',
] as const;

/** A local fleet started by the CLI. */
export interface LocalFleet {
  env: Record<string, string>;
  urls: Record<string, string>;
  output: () => string;
  /** The `fleet start` process (with ownGroup, also its process group's id). */
  pid: number;
  /** Resolves with its exit code once `fleet start` has exited. */
  exited: Promise<number | null>;
  /** Runs `fleet <args>` against this fleet and returns stdout. */
  fleet: (...args: string[]) => Promise<string>;
  stop: () => Promise<number | null>;
}

/** What to change from the defaults: extra environment (after the clean-up below) and `start` arguments. */
export interface LocalFleetOptions {
  env?: Record<string, string>;
  args?: string[];
  /** Start `fleet start` as a terminal's foreground job: the leader of a process group of its own. */
  ownGroup?: boolean;
}

/** Starts the whole local fleet and resolves once it says it is running. */
export async function startLocalFleet(opts: LocalFleetOptions = {}): Promise<LocalFleet> {
  const env: Record<string, string> = {
    ...(process.env as Record<string, string>),
    FLEET_DIR: mkdtempSync(join(tmpdir(), 'fleet-e2e-')),
    FLEET_PG_PORT: String(await freePort()),
    FLEET_ISSUER_PORT: String(await freePort()),
    // The communication simulators on free ports too (their defaults, 7410/7411, may be a dev fleet's).
    FLEET_SIM_PORT: String(await freePort()),
    FLEET_SMTP_PORT: String(await freePort()),
    // The vendor simulators (Stripe, HubSpot, Salesforce) on any free ports (default 7412-7414).
    FLEET_VENDOR_SIM_PORT: '0',
    // The admin server's SCIM simulator on a free port too (default 7415).
    FLEET_SCIM_SIM_PORT: String(await freePort()),
  };
  // Every upstream simulated, whatever this shell has configured.
  for (const v of [
    ...OPERATOR_VARIABLES,
    // The Salesforce client credentials of an older contract, still cleared.
    'SALESFORCE_CLIENT_ID',
    'SALESFORCE_CLIENT_SECRET',
    'FILES_ROOT',
    // One process per server, each on its own limits, unless a test asks for Redis and replicas.
    'FLEET_REPLICAS',
    // The example policy, whatever policy this shell points at.
    'POLICY_FILE',
    'FLEET_POLICY_FILE',
  ])
    delete env[v];
  const urls: Record<string, string> = {};
  for (const s of discoverServers()) {
    const port = await freePort();
    env[`FLEET_PORT_${s.name.toUpperCase().replace(/-/g, '_')}`] = String(port);
    urls[s.name] = `http://127.0.0.1:${port}/mcp`;
  }
  Object.assign(env, opts.env);
  const child: ChildProcess = spawn(process.execPath, [...NODE_ARGS, 'start', ...(opts.args ?? [])], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: opts.ownGroup ?? false,
  });
  const exited = new Promise<number | null>((resolve) => {
    if (child.exitCode !== null) resolve(child.exitCode);
    else child.once('exit', (code) => resolve(code));
  });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setInterval(() => {
      if (out.includes('The fleet is running')) {
        clearInterval(timer);
        resolve();
      } else if (child.exitCode !== null) {
        clearInterval(timer);
        reject(new Error(`fleet start exited with ${child.exitCode}:\n${out}`));
      }
    }, 200);
  });
  return {
    env,
    urls,
    output: () => out,
    pid: child.pid!,
    exited,
    fleet: async (...args) =>
      (await run(process.execPath, [...NODE_ARGS, ...args], { cwd: ROOT, env })).stdout,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve(child.exitCode);
        child.once('exit', (code) => resolve(code));
        child.kill('SIGINT');
      }),
  };
}
