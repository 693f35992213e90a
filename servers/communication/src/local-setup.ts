// Local set-up for `pnpm start`: for each system (Slack, email, Teams, Jira) whose variables are not
// set, starts the local simulators (real wire protocols, clearly labelled) and points the server at them;
// a variable that is set passes through, so the local fleet can talk to any real upstream.
import { join } from 'node:path';
import type { LocalSetupContext } from '@mcp-fleet/core';
import { type SimulatorHub, startSimulatorHub } from '@mcp-fleet/simulators';

/** The fixed sender of the local fleet's email (EMAIL_FROM when it is not set). */
export const LOCAL_EMAIL_FROM = 'mcp-fleet agents <agents@example.com>';
/** Default ports of the simulators' HTTP side (Slack, Teams, Jira, the outbox page) and of SMTP. */
export const LOCAL_SIM_PORT = 7410;
export const LOCAL_SMTP_PORT = 7411;

/** The variables that configure each system: when any is set, the system is the operator's, not simulated. */
export const SYSTEM_VARIABLES = {
  slack: ['SLACK_BOT_TOKEN', 'SLACK_API_URL'],
  email: ['SMTP_URL'],
  teams: ['TEAMS_CHANNELS'],
  tickets: ['JIRA_URL', 'JIRA_EMAIL', 'JIRA_API_TOKEN'],
} as const;

type System = keyof typeof SYSTEM_VARIABLES;

/** The systems none of whose variables are set in `env` (those the local fleet simulates). */
export function simulatedSystems(env: NodeJS.ProcessEnv): System[] {
  const set = (name: string) => (env[name] ?? '').trim() !== '';
  return (Object.keys(SYSTEM_VARIABLES) as System[]).filter((s) => !SYSTEM_VARIABLES[s].some(set));
}

function port(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new Error(`${name} must be a port number (0-65535), got "${raw}"`);
  return n;
}

/** The hub this process started (kept so it is not collected; it lives as long as `pnpm start`). */
let running: SimulatorHub | undefined;

/**
 * Starts the simulators for the unconfigured systems and returns the server's extra environment.
 * `env` (default process.env) decides what is configured; FLEET_SIMULATORS=off starts none.
 */
export async function prepareLocal(
  ctx: LocalSetupContext,
  env: NodeJS.ProcessEnv = process.env,
): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  if (!(env.EMAIL_FROM ?? '').trim()) out.EMAIL_FROM = LOCAL_EMAIL_FROM;
  const systems = /^(off|0|false|no)$/i.test(env.FLEET_SIMULATORS ?? '') ? [] : simulatedSystems(env);
  const passed = (Object.keys(SYSTEM_VARIABLES) as System[]).filter((s) => !systems.includes(s));
  if (passed.length > 0) ctx.log(`upstreams from your environment (not simulated): ${passed.join(', ')}`);
  if (systems.length === 0) return out;

  const httpPort = port(env, 'FLEET_SIM_PORT', LOCAL_SIM_PORT);
  const smtpPort = port(env, 'FLEET_SMTP_PORT', LOCAL_SMTP_PORT);
  try {
    running = await startSimulatorHub({ httpPort, smtpPort, dataDir: join(ctx.fleetDir, 'outbox') });
  } catch (err) {
    throw new Error(
      `the communication simulators did not start on 127.0.0.1:${httpPort} (HTTP) and :${smtpPort} (SMTP): ${(err as Error).message}. ` +
        'Is another fleet running? Stop it, or set FLEET_SIM_PORT / FLEET_SMTP_PORT.',
    );
  }
  const sim = running.env;
  if (systems.includes('slack'))
    Object.assign(out, { SLACK_API_URL: sim.SLACK_API_URL, SLACK_BOT_TOKEN: sim.SLACK_BOT_TOKEN });
  if (systems.includes('email')) out.SMTP_URL = sim.SMTP_URL;
  if (systems.includes('teams')) out.TEAMS_CHANNELS = sim.TEAMS_CHANNELS;
  if (systems.includes('tickets'))
    Object.assign(out, {
      JIRA_URL: sim.JIRA_URL,
      JIRA_EMAIL: sim.JIRA_EMAIL,
      JIRA_API_TOKEN: sim.JIRA_API_TOKEN,
    });
  ctx.log(`SIMULATED ${systems.join(', ')}: local simulators, nothing leaves this machine`);
  ctx.log(`what agents sent: ${running.outboxUrl} (or \`pnpm fleet outbox\`)`);
  return out;
}

/** Stops the simulators this process started (tests; `pnpm start` ends with its process). */
export async function closeLocal(): Promise<void> {
  const hub = running;
  running = undefined;
  await hub?.close();
}
