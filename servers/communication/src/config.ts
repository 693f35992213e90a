// The communication server's own environment variables, parsed once at start-up.
import { type Env, env, parseEnv } from '@mcp-fleet/core';

/** Environment of the communication server (besides core's); `COMMUNICATION_MAX_ITEMS` -> `maxItems`. */
export const configSchema = env.config('COMMUNICATION_', {
  /** Most items one list_items call returns. */
  COMMUNICATION_MAX_ITEMS: env.int(50, 1, 500),
});

/** The parsed configuration. */
export type CommunicationConfig = ReturnType<typeof loadConfig>;

/** Parses the environment; throws FLEET_ERR_CONFIG naming the bad variables. */
export const loadConfig = (vars: Env) => parseEnv(configSchema, vars, 'communication');
