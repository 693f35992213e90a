// The approvals API: where a person approves or denies what an agent asked to do. Outside /mcp, in its
// own context, and only for approver tokens: a token class of its own, with the approvals audience
// (APPROVER_AUDIENCE, default `${PUBLIC_URL}/approvals`), the approver issuer (APPROVER_ISSUER, default
// the agents') and the approver scope (APPROVER_SCOPE, default `mcp:approve`). Agent tokens (the MCP
// audience) are refused whatever their scope. Every decision and refused decision attempt is audited.
//
//   GET  /approvals[?status=pending|approved|denied|executed|expired|all]   list (this server), newest first
//        [&agent=a][&tool=t][&user=u][&limit=n][&offset=n]                 filters (exact) and paging
//        -> {server, approvals, total, nextOffset, pendingByAgent}         total of all pages; waiting per agent
//   GET  /approvals/:id                                                     one request
//   POST /approvals/:id/approve   {"note"?: string}                         approve a pending request
//   POST /approvals/:id/deny      {"note"?: string}                         deny it; or withdraw an approval not yet used
//
// A decision on a malformed id is answered 404 before anything else (no audit record). Refused
// attempts with a validly signed token are audited at most 10 a minute per presenter and all counted
// in mcp_approval_refused_attempts_total{audited}.
//   GET  /.well-known/oauth-protected-resource/approvals                    RFC 9728 metadata of the approvals resource
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Counter } from 'prom-client';
import { type ApprovalStatus, ApprovalStore } from '../approvals/approval-store.js';
import {
  ApprovalDecisions,
  type Approver,
  ApproverVerifier,
  approverSettings,
  NotApproverToken,
  presenterOf,
} from '../approvals/approvers.js';
import { governanceOf } from '../governance/governance.js';
import { AuthFailure, bearerChallenge } from '../identity/token-verifier.js';
import type { FleetRuntime } from '../pipeline/runtime.js';
import { hostAndOriginGuard, metadataPath } from './request-guards.js';

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
  requester_approval: [403, 'the person the agent acts for cannot approve or deny its request'],
  incomplete: [409, 'this request was opened without its exact arguments; the agent must ask again'],
  already_decided: [409, 'this request was already decided'],
  expired: [409, 'this request has expired; the agent must ask again'],
};

function decodeURIComponentSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** Options for {@link approvalsApi}. */
export interface ApprovalsApiOptions {
  /** Verifier for approver tokens; default: the server's approver settings (APPROVER_*). */
  verifier?: ApproverVerifier;
  /** Where clients find the protected-resource metadata (for WWW-Authenticate). */
  metadataUrl?: string;
}

/** The RFC 9728 metadata path of a resource URL, or undefined when the audience is not a URL. */
function metadataPathOf(resource: string): string | undefined {
  try {
    return metadataPath(resource);
  } catch {
    return undefined;
  }
}

/** The fastify plugin serving the approvals API of one server. Register it without fastify-plugin. */
export function approvalsApi(rt: FleetRuntime, options: ApprovalsApiOptions = {}) {
  return async function approvals(app: FastifyInstance): Promise<void> {
    const scope = rt.config.governance.approverScope;
    const settings = approverSettings(rt.config);
    const verifier = options.verifier ?? (await ApproverVerifier.create(rt.config, scope));
    const approvers = new WeakMap<FastifyRequest, Approver>();
    let decisions: ApprovalDecisions | undefined;
    const service = (reply: FastifyReply): ApprovalDecisions | undefined => {
      const store = governanceOf(rt).approvals;
      if (!store) {
        void reply
          .code(503)
          .send({ error: 'unavailable', message: 'approvals need the fleet database (DATABASE_URL)' });
        return undefined;
      }
      decisions ??= new ApprovalDecisions({
        store,
        server: rt.server,
        allTenants: settings.allTenants,
        audit: (record) => rt.audit.record(record),
        policyVersion: () => rt.policy.version || null,
      });
      return decisions;
    };
    // Approver clients learn where to get an approver token from the approvals resource's own
    // metadata (its audience, the approver issuer and scope), not from the MCP resource's.
    const ownPath = metadataPathOf(settings.audience);
    const servesOwn =
      ownPath !== undefined &&
      ownPath !== '/.well-known/oauth-protected-resource' &&
      ownPath !== metadataPathOf(rt.config.resource);
    const metadataUrl = servesOwn ? `${new URL(rt.config.publicUrl).origin}${ownPath}` : options.metadataUrl;
    if (servesOwn) {
      const metadata = {
        resource: settings.audience,
        authorization_servers: settings.issuer ? [settings.issuer] : [],
        bearer_methods_supported: ['header'],
        scopes_supported: [scope],
        resource_name: `mcp-fleet ${rt.server} approvals`,
      };
      app.get(ownPath, async (_request, reply) => {
        reply.header('cache-control', 'public, max-age=300');
        return metadata;
      });
    }
    const decisionOf = (request: FastifyRequest) =>
      request.method === 'POST' ? /^\/approvals\/([^/?]+)\/(approve|deny)(?:\?|$)/.exec(request.url) : null;
    const refusedAttempts = (rt.metrics.registry.getSingleMetric('mcp_approval_refused_attempts_total') ??
      new Counter({
        name: 'mcp_approval_refused_attempts_total',
        help: 'Decision attempts at the approvals API with a validly signed token that was refused (audited: whether an audit record was written).',
        labelNames: ['audited'],
        registers: [rt.metrics.registry],
      })) as Counter<'audited'>;

    app.addHook('onRequest', hostAndOriginGuard(rt.config.allowedHosts, rt.config.allowedOrigins));
    app.addHook('onRequest', async (request, reply) => {
      if (servesOwn && request.url.split('?')[0] === ownPath) return;
      // A decision on something that cannot be an approval id: 404 before anything else, so nobody
      // gets text of their choosing into the audit trail.
      const attempted = decisionOf(request);
      if (attempted && !ApprovalStore.isId(decodeURIComponentSafe(attempted[1]!))) {
        return reply.code(404).send({ error: 'not_found', message: REFUSED.not_found![1] });
      }
      try {
        approvers.set(request, await verifier.verify(request.headers.authorization));
      } catch (err) {
        const failure =
          err instanceof AuthFailure
            ? err
            : new AuthFailure('keys_unavailable', 'token could not be verified');
        rt.metrics.authFailures.inc({ reason: failure.reason });
        // A decision attempt with a validly signed but refused token (an agent's, say) is audited
        // with who presented it; anonymous garbage is only counted.
        const attempt = decisionOf(request);
        const presentedBy = attempt ? presenterOf(request.headers.authorization, failure) : undefined;
        if (attempt && presentedBy && governanceOf(rt).approvals) {
          const audited = service(reply)!.refusedAttempt(
            request.id,
            attempt[1]!,
            attempt[2] === 'approve',
            failure instanceof NotApproverToken ? failure.kind : failure.reason,
            presentedBy,
          );
          refusedAttempts.inc({ audited: String(audited) });
        }
        return reply
          .code(failure.statusCode)
          .header('www-authenticate', bearerChallenge(failure, metadataUrl, [scope]))
          .send({ error: failure.oauthError ?? 'invalid_request', message: failure.message });
      }
    });

    app.get('/approvals', async (request, reply) => {
      const s = service(reply);
      if (!s) return reply;
      const q = request.query as Record<string, string | undefined>;
      const status = q.status ?? 'pending';
      if (!STATUSES.has(status))
        return reply
          .code(400)
          .send({ error: 'invalid_request', message: `status must be one of ${[...STATUSES].join(', ')}` });
      const limit = q.limit === undefined ? undefined : Number.parseInt(q.limit, 10) || undefined;
      const offset = q.offset === undefined ? 0 : Number.parseInt(q.offset, 10);
      if (!Number.isFinite(offset) || offset < 0)
        return reply.code(400).send({ error: 'invalid_request', message: 'offset must be a number >= 0' });
      for (const name of ['agent', 'tool', 'user'] as const) {
        const v = q[name] as unknown;
        if (v !== undefined && (typeof v !== 'string' || v.length > 1000))
          return reply.code(400).send({
            error: 'invalid_request',
            message: `${name} must be one string of at most 1000 characters`,
          });
      }
      const page = await s.list(approvers.get(request)!, {
        status: status as ApprovalStatus | 'all',
        agent: q.agent,
        tool: q.tool,
        user: q.user,
        limit,
        offset,
      });
      return { server: rt.server, ...page };
    });

    app.get('/approvals/:id', async (request, reply) => {
      const s = service(reply);
      if (!s) return reply;
      const { id } = request.params as { id: string };
      const found = await s.get(approvers.get(request)!, id);
      if (!found) return reply.code(404).send({ error: 'not_found', message: REFUSED.not_found![1] });
      return found;
    });

    const decideRoute = (approve: boolean) => async (request: FastifyRequest, reply: FastifyReply) => {
      const s = service(reply);
      if (!s) return reply;
      const { id } = request.params as { id: string };
      const body = (request.body ?? {}) as { note?: unknown };
      if (body.note !== undefined && (typeof body.note !== 'string' || body.note.length > 1000)) {
        return reply
          .code(400)
          .send({ error: 'invalid_request', message: 'note must be a string of at most 1000 characters' });
      }
      const decided = await s.decide(approvers.get(request)!, {
        id,
        approve,
        note: body.note as string | undefined,
        requestId: request.id,
      });
      if (!decided.ok) {
        const [status, message] = REFUSED[decided.why]!;
        return reply
          .code(status)
          .send({ error: decided.why, message, ...(decided.approval ? { approval: decided.approval } : {}) });
      }
      governanceOf(rt).metrics.approvals.inc({
        tool: decided.approval.tool,
        event: decided.revoked ? 'revoked' : approve ? 'approved' : 'denied',
      });
      return decided.approval;
    };
    app.post('/approvals/:id/approve', decideRoute(true));
    app.post('/approvals/:id/deny', decideRoute(false));
  };
}
