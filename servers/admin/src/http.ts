// The admin server's own HTTP routes beside /mcp (ServerDefinition.http): the approvals console at
// /console (console/console.ts) and core's agents API (GET /agents, POST /agents/:id/suspend|resume,
// approver tokens) for `fleet agents` and scripts. Each is registered in its own fastify context, so
// the console's cookies, CSRF, CSP and form parsing stay off the APIs and /mcp.
//
// The console's settings (CONSOLE_*) come from the admin configuration's `console` field
// (`consoleConfig(env)`, console/config.ts) when the definition's config provides it, else from the
// process environment.
import type { ServerHttpContext } from '@mcp-fleet/core';
import { agentsApi, hostAndOriginGuard } from '@mcp-fleet/core/approvals';
import type { FastifyInstance } from 'fastify';
import { type ConsoleConfig, consoleConfig } from './console/config.js';
import { consolePlugin } from './console/console.js';
import { agentsRoutes } from './console/pages/agents.js';
import { anomaliesRoutes } from './console/pages/anomalies.js';

export { type ConsoleConfig, consoleConfig } from './console/config.js';
export { consoleMigrations } from './console/sessions.js';

/** Registers the console (/console) and the agents API (/agents) on the admin server. */
export async function adminHttp<C, Cfg>(app: FastifyInstance, ctx: ServerHttpContext<C, Cfg>): Promise<void> {
  const fromConfig = (ctx.config as { console?: ConsoleConfig } | undefined)?.console;
  const config = fromConfig ?? consoleConfig(process.env);
  await app.register(agentsApi(ctx.runtime));
  await app.register(
    consolePlugin({
      ctx,
      config,
      hostGuard: hostAndOriginGuard(ctx.core.allowedHosts, ctx.core.allowedOrigins),
      extend: async (app, kit) => {
        await agentsRoutes(ctx)(app, kit);
        await anomaliesRoutes(ctx)(app, kit);
      },
    }),
    { prefix: '/console' },
  );
}
