// The approvals API: where a human approves or denies what an agent asked to do. Outside /mcp, in its
// own context, and only for approver tokens: same issuer and audience (this server's resource) as
// agent tokens, plus the approver scope (APPROVER_SCOPE, default `mcp:approve`). Agent tokens get 403.
//
//   GET  /approvals[?status=pending|approved|denied|executed|expired|all]   list (this server)
//   GET  /approvals/:id                                                     one request
//   POST /approvals/:id/approve   {"note"?: string}                         approve a pending request
//   POST /approvals/:id/deny      {"note"?: string}                         deny it
import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ApprovalStatus, ApprovalStore } from '../approvals/approval-store.js';
import type { AuditRecord } from '../audit/audit-record.js';
import { governanceOf } from '../governance/governance.js';
import type { Identity } from '../identity/identity.js';
import { TokenVerifier } from '../identity/token-verifier.js';
import type { FleetRuntime } from '../pipeline/runtime.js';
import { bearerAuth, hostAndOriginGuard } from './request-guards.js';

const STATUSES = new Set<string>([
  'pending',
  'approved',
  'denied',
  'executing',
  'executed',
  'expired',
  'all',
]);

const REFUSED: Record<string, [number, string]> = {
  not_found: [404, 'no such approval request on this server'],
  self_approval: [403, 'the agent that asked for an action cannot approve or deny it'],
  already_decided: [409, 'this request was already decided'],
  expired: [409, 'this request has expired; the agent must ask again'],
};

/** Options for {@link approvalsApi}. */
export interface ApprovalsApiOptions {
  /** Verifier for approver tokens; default: the server's auth settings with the approver scope required. */
  verifier?: TokenVerifier;
  /** Where clients find the protected-resource metadata (for WWW-Authenticate). */
  metadataUrl?: string;
}

/** The fastify plugin serving the approvals API of one server. Register it without fastify-plugin. */
export function approvalsApi(rt: FleetRuntime, options: ApprovalsApiOptions = {}) {
  return async function approvals(app: FastifyInstance): Promise<void> {
    const scope = rt.config.governance.approverScope;
    const verifier =
      options.verifier ?? (await TokenVerifier.create({ ...rt.config.auth, requiredScopes: [scope] }));
    const approvers = new WeakMap<FastifyRequest, Identity>();
    const store = (reply: FastifyReply): ApprovalStore | undefined => {
      const s = governanceOf(rt).approvals;
      if (!s)
        void reply
          .code(503)
          .send({ error: 'unavailable', message: 'approvals need the fleet database (DATABASE_URL)' });
      return s;
    };

    app.addHook('onRequest', hostAndOriginGuard(rt.config.allowedHosts, rt.config.allowedOrigins));
    app.addHook(
      'onRequest',
      bearerAuth({
        verifier,
        metrics: rt.metrics,
        metadataUrl: options.metadataUrl,
        scopes: [scope],
        textKey: 'message',
        accept: (request, identity) => approvers.set(request, identity),
      }),
    );

    app.get('/approvals', async (request, reply) => {
      const s = store(reply);
      if (!s) return reply;
      const q = request.query as Record<string, string | undefined>;
      const status = q.status ?? 'pending';
      if (!STATUSES.has(status))
        return reply
          .code(400)
          .send({ error: 'invalid_request', message: `status must be one of ${[...STATUSES].join(', ')}` });
      const approver = approvers.get(request)!;
      const limit = q.limit === undefined ? undefined : Number.parseInt(q.limit, 10) || undefined;
      return {
        approvals: await s.list({
          server: rt.server,
          tenant: approver.tenant,
          status: status as ApprovalStatus | 'all',
          limit,
        }),
      };
    });

    app.get('/approvals/:id', async (request, reply) => {
      const s = store(reply);
      if (!s) return reply;
      const { id } = request.params as { id: string };
      const found = await s.get(id, { server: rt.server, tenant: approvers.get(request)!.tenant });
      if (!found) return reply.code(404).send({ error: 'not_found', message: REFUSED.not_found![1] });
      return found;
    });

    const decideRoute = (approve: boolean) => async (request: FastifyRequest, reply: FastifyReply) => {
      const s = store(reply);
      if (!s) return reply;
      const { id } = request.params as { id: string };
      const body = (request.body ?? {}) as { note?: unknown };
      if (body.note !== undefined && (typeof body.note !== 'string' || body.note.length > 1000)) {
        return reply
          .code(400)
          .send({ error: 'invalid_request', message: 'note must be a string of at most 1000 characters' });
      }
      const approver = approvers.get(request)!;
      const decided = await s.decide({
        id,
        approve,
        approver: approver.agentId,
        note: body.note as string | undefined,
        server: rt.server,
        tenant: approver.tenant,
      });
      audit(
        rt,
        request,
        approver,
        id,
        approve,
        decided.ok ? 'ok' : 'denied',
        decided.ok ? decided.approval.tool : (decided.approval?.tool ?? null),
      );
      if (!decided.ok) {
        const [status, message] = REFUSED[decided.why]!;
        return reply
          .code(status)
          .send({ error: decided.why, message, ...(decided.approval ? { approval: decided.approval } : {}) });
      }
      governanceOf(rt).metrics.approvals.inc({
        tool: decided.approval.tool,
        event: approve ? 'approved' : 'denied',
      });
      return decided.approval;
    };
    app.post('/approvals/:id/approve', decideRoute(true));
    app.post('/approvals/:id/deny', decideRoute(false));
  };
}

/** One audit record per decision attempt: who decided what, on which request. */
function audit(
  rt: FleetRuntime,
  request: FastifyRequest,
  approver: Identity,
  approvalId: string,
  approve: boolean,
  outcome: 'ok' | 'denied',
  tool: string | null,
): void {
  const record: AuditRecord = {
    id: randomUUID(),
    ts: new Date().toISOString(),
    server: rt.server,
    requestId: request.id,
    method: approve ? 'approvals/approve' : 'approvals/deny',
    tool,
    agentId: approver.agentId,
    agentSession: approver.session ?? null,
    userInvoker: approver.user ?? null,
    tenant: approver.tenant ?? null,
    roles: approver.roles,
    arguments: { approvalId: approvalId.slice(0, 64) },
    decision: outcome === 'ok' ? 'allow' : 'deny',
    decisionReason: `approver scope ${rt.config.governance.approverScope}`,
    outcome,
    resultSummary: null,
    durationMs: null,
    policyVersion: rt.policy.version || null,
    protocolVersion: null,
    details: { approvalId: approvalId.slice(0, 64) },
  };
  rt.audit.record(record);
}
