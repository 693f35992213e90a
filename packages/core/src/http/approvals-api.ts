// The approvals API: where a person approves or denies what an agent asked to do. Outside /mcp, in its
// own context, and only for approver tokens: a token class of its own, with the approvals audience
// (APPROVER_AUDIENCE, default `${PUBLIC_URL}/approvals`), the approver issuer (APPROVER_ISSUER, default
// the agents') and the approver scope (APPROVER_SCOPE, default `mcp:approve`). Agent tokens (the MCP
// audience) are refused whatever their scope. A thin transport: it verifies the approver token, parses
// the request, asks the approval desk (approvals/desk.ts: every rule, audit record and metric is
// there) and answers with JSON.
//
//   GET  /approvals[?status=pending|approved|denied|executed|expired|all]   list (this server), newest first
//        [&agent=a][&tool=t][&user=u][&limit=n][&offset=n]                 filters (exact) and paging
//        -> {server, approvals, total, nextOffset, pendingByAgent}         total of all pages; waiting per agent
//   GET  /approvals/:id                                                     one request
//   POST /approvals/:id/approve   {"note"?: string}                         approve a pending request
//   POST /approvals/:id/deny      {"note"?: string}                         deny it; or withdraw an approval not yet used
//   POST /approvals/:id/revoke    {"note"?: string}                         withdraw an approval not yet used (only)
//
// A decision on a malformed id is answered 404 before anything else (no audit record). Refused
// attempts with a validly signed token are audited at most 10 a minute per presenter and all counted
// in mcp_approval_refused_attempts_total{audited}.
//   GET  /.well-known/oauth-protected-resource/approvals                    RFC 9728 metadata of the approvals resource
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ApprovalStore } from '../approvals/approval-store.js';
import { ApproverVerifier, approverSettings } from '../approvals/approvers.js';
import { ApprovalDesk, DESK_REFUSALS, type DeskListQuery } from '../approvals/desk.js';
import type { FleetRuntime } from '../pipeline/runtime.js';
import { approverGate } from './approver-gate.js';
import { hostAndOriginGuard, metadataPath } from './request-guards.js';

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
    let desk: ApprovalDesk | undefined;
    const service = (reply?: FastifyReply): ApprovalDesk | undefined => {
      const gov = rt.governance;
      if (!gov.approvals) {
        void reply
          ?.code(503)
          .send({ error: 'unavailable', message: 'approvals need the fleet database (DATABASE_URL)' });
        return undefined;
      }
      desk ??= new ApprovalDesk({
        store: gov.approvals,
        server: rt.server,
        allTenants: settings.allTenants,
        audit: (record) => rt.audit.recordDurable(record),
        metrics: gov.metrics,
        policyVersion: () => rt.policy.version || null,
      });
      return desk;
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
      request.method === 'POST'
        ? /^\/approvals\/([^/?]+)\/(approve|deny|revoke)(?:\?|$)/.exec(request.url)
        : null;
    // A decision attempt with a validly signed but refused token (an agent's, say) is audited with who
    // presented it; anonymous garbage is only counted.
    const gate = approverGate(rt, {
      verifier,
      scope,
      metadataUrl,
      counter: {
        name: 'mcp_approval_refused_attempts_total',
        help: 'Decision attempts at the approvals API with a validly signed token that was refused (audited: whether an audit record was written).',
      },
      isAttempt: (request) => decisionOf(request) !== null,
      audit: (request, refused) => {
        const attempt = decisionOf(request)!;
        if (!rt.governance.approvals) return undefined;
        return service()!.refusedAttempt({
          requestId: request.id,
          approvalId: decodeURIComponentSafe(attempt[1]!),
          action: attempt[2] as 'approve' | 'deny' | 'revoke',
          ...refused,
        });
      },
    });

    app.addHook('onRequest', hostAndOriginGuard(rt.config.allowedHosts, rt.config.allowedOrigins));
    app.addHook('onRequest', async (request, reply) => {
      if (servesOwn && request.url.split('?')[0] === ownPath) return;
      // A decision on something that cannot be an approval id: 404 before anything else, so nobody
      // gets text of their choosing into the audit trail.
      const attempted = decisionOf(request);
      if (attempted && !ApprovalStore.isId(decodeURIComponentSafe(attempted[1]!))) {
        return reply.code(404).send({ error: 'not_found', message: DESK_REFUSALS.not_found.message });
      }
      return gate.check(request, reply);
    });

    const refused = (
      reply: FastifyReply,
      r: { why: string; status: number; message: string; approval?: unknown },
    ) =>
      reply
        .code(r.status)
        .send({ error: r.why, message: r.message, ...(r.approval ? { approval: r.approval } : {}) });
    const int = (v: unknown) => (v === undefined ? undefined : Number.parseInt(String(v), 10));

    app.get('/approvals', async (request, reply) => {
      const s = service(reply);
      if (!s) return reply;
      const q = request.query as Record<string, unknown>;
      const limit = int(q.limit);
      const page = await s.list(gate.approverOf(request), {
        ...(q as Omit<DeskListQuery, 'limit' | 'offset'>),
        limit: limit || undefined,
        offset: int(q.offset),
      });
      if (!page.ok) return refused(reply, page);
      const { ok: _, ...body } = page;
      return { server: rt.server, ...body };
    });

    app.get('/approvals/:id', async (request, reply) => {
      const s = service(reply);
      if (!s) return reply;
      const { id } = request.params as { id: string };
      const found = await s.get(gate.approverOf(request), id);
      return found ?? refused(reply, { why: 'not_found', ...DESK_REFUSALS.not_found });
    });

    const decideRoute =
      (action: 'approve' | 'deny' | 'revoke') => async (request: FastifyRequest, reply: FastifyReply) => {
        const s = service(reply);
        if (!s) return reply;
        const { id } = request.params as { id: string };
        const { note } = (request.body ?? {}) as { note?: string };
        const input = { id, note, requestId: request.id };
        const approver = gate.approverOf(request);
        const decided =
          action === 'revoke'
            ? await s.revoke(approver, input)
            : await s.decide(approver, { ...input, approve: action === 'approve' });
        return decided.ok ? decided.approval : refused(reply, decided);
      };
    app.post('/approvals/:id/approve', decideRoute('approve'));
    app.post('/approvals/:id/deny', decideRoute('deny'));
    app.post('/approvals/:id/revoke', decideRoute('revoke'));
  };
}
