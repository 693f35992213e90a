// The agents API: where a person suspends and resumes agents (the kill switch). Served by the admin
// server only (its console helper registers it; not every server), with approver tokens exactly as
// /approvals: the approvals audience, the approver issuer and scope (ApproverVerifier: agent tokens,
// delegated tokens and tokens with agent roles are refused whatever their scope), behind the same
// Host/Origin guard. A thin transport over the agent desk (suspensions/agent-desk.ts: every rule and
// audit record is there).
//
//   GET  /agents                              {server, suspended: [...], history: [...]}   in force; recent (newest first)
//   POST /agents/:id/suspend  {"reason"?}     suspend the agent (your tenant, or every tenant)   -> {event, suspension}
//   POST /agents/:id/resume   {"reason"?}     resume it                                          -> {event, resumed}
//
// Without a fleet database: 503 (suspension needs the fleet database; nothing is refused).
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ApproverVerifier } from '../approvals/approvers.js';
import type { FleetRuntime } from '../pipeline/runtime.js';
import { AgentDesk, isAgentId, MAX_AGENT_ID } from '../suspensions/agent-desk.js';
import { approverGate } from './approver-gate.js';
import { hostAndOriginGuard } from './request-guards.js';

/** Options for {@link agentsApi}. */
export interface AgentsApiOptions {
  /** Verifier for approver tokens; default: the server's approver settings (APPROVER_*). */
  verifier?: ApproverVerifier;
}

function decoded(s: string): string | undefined {
  try {
    return decodeURIComponent(s);
  } catch {
    return undefined;
  }
}

/** The fastify plugin serving the agents API. Register it without fastify-plugin, on the admin server. */
export function agentsApi(rt: FleetRuntime, options: AgentsApiOptions = {}) {
  return async function agents(app: FastifyInstance): Promise<void> {
    const scope = rt.config.governance.approverScope;
    const verifier = options.verifier ?? (await ApproverVerifier.create(rt.config, scope));
    let desk: AgentDesk | undefined;
    const service = (reply?: FastifyReply): AgentDesk | undefined => {
      const gov = rt.governance;
      if (!gov.suspensionStore) {
        void reply?.code(503).send({
          error: 'unavailable',
          message: 'agent suspension needs the fleet database (DATABASE_URL)',
        });
        return undefined;
      }
      desk ??= new AgentDesk({
        store: gov.suspensionStore,
        server: rt.server,
        audit: (record) => rt.audit.recordDurable(record),
        policyVersion: () => rt.policy.version || null,
        changed: () => gov.suspensions?.reload(),
      });
      return desk;
    };
    const actionOf = (request: FastifyRequest) =>
      request.method === 'POST' ? /^\/agents\/([^/?]+)\/(suspend|resume)(?:\?|$)/.exec(request.url) : null;
    // An action attempted with a validly signed but refused token (an agent's, say) is audited with who
    // presented it; anonymous garbage is only counted.
    const gate = approverGate(rt, {
      verifier,
      scope,
      counter: {
        name: 'mcp_agent_action_refused_attempts_total',
        help: 'Suspend/resume attempts at the agents API with a validly signed token that was refused (audited: whether an audit record was written).',
      },
      isAttempt: (request) => actionOf(request) !== null,
      audit: (request, refused) => {
        const attempt = actionOf(request)!;
        const agentId = decoded(attempt[1]!);
        if (agentId === undefined || !rt.governance.suspensionStore) return undefined;
        return service()!.refusedAttempt({
          requestId: request.id,
          agentId,
          action: attempt[2] as 'suspend' | 'resume',
          ...refused,
        });
      },
    });

    app.addHook('onRequest', hostAndOriginGuard(rt.config.allowedHosts, rt.config.allowedOrigins));
    app.addHook('onRequest', gate.check);

    app.get('/agents', async (request, reply) => {
      const s = service(reply);
      if (!s) return reply;
      const limit = Number.parseInt(String((request.query as Record<string, unknown>).limit ?? ''), 10);
      const listed = await s.list(gate.approverOf(request), {
        ...(Number.isFinite(limit) ? { historyLimit: limit } : {}),
      });
      return { server: rt.server, ...listed };
    });

    // One wildcard route read from the raw URL rather than `/agents/:id/...`: the router caps a path
    // parameter at 100 characters, and an agent id may have up to 256 (percent-encoded, more).
    app.post('/agents/*', async (request, reply) => {
      const attempt = actionOf(request);
      if (!attempt) return reply.code(404).send({ error: 'not_found', message: 'no such route' });
      const s = service(reply);
      if (!s) return reply;
      const id = decoded(attempt[1]!);
      if (!isAgentId(id))
        return reply.code(400).send({
          error: 'invalid_request',
          message: `the agent id must be 1-${MAX_AGENT_ID} printable characters without surrounding spaces`,
        });
      const body = request.body;
      if (body !== undefined && body !== null && (typeof body !== 'object' || Array.isArray(body)))
        return reply.code(400).send({ error: 'invalid_request', message: 'the body must be a JSON object' });
      const { reason } = (body ?? {}) as { reason?: unknown };
      const input = { agentId: id, reason, requestId: request.id };
      const approver = gate.approverOf(request);
      const done =
        attempt[2] === 'suspend' ? await s.suspend(approver, input) : await s.resume(approver, input);
      if (!done.ok)
        return reply.code(done.status).send({
          error: done.why,
          message: done.message,
          ...(done.suspension ? { suspension: done.suspension } : {}),
        });
      return done.event === 'suspended'
        ? { event: done.event, suspension: done.suspension }
        : { event: done.event, resumed: done.resumed };
    });
  };
}
