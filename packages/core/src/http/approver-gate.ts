// The approver-token gate the approvals API and the agents API share: every request's bearer token is
// verified by the ApproverVerifier (approver audience, issuer and scope; agent, delegated and
// agent-role tokens refused whatever their scope) and the Approver kept for the route. A refused token
// is answered 401/403 with a Bearer challenge naming the scope, counted in mcp_auth_failures_total; when
// the request was an attempt at an action (a decision, a suspend...) and its token was validly signed,
// the API audits it with who presented it (its desk rate-limits those records) and counts it in its
// refused-attempts counter; anonymous garbage is only counted.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Counter } from 'prom-client';
import {
  type Approver,
  type ApproverVerifier,
  NotApproverToken,
  presenterOf,
} from '../approvals/approvers.js';
import { AuthFailure, bearerChallenge } from '../identity/token-verifier.js';
import type { FleetRuntime } from '../pipeline/runtime.js';

/** A refused token on an action attempt, as the API's desk audits it. */
export interface RefusedToken {
  /** NotApproverToken's kind, or the AuthFailure's reason. */
  reason: string;
  presentedBy: NonNullable<ReturnType<typeof presenterOf>>;
}

/** Options for {@link approverGate}. */
export interface ApproverGateOptions {
  verifier: ApproverVerifier;
  /** The approver scope (in the challenge). */
  scope: string;
  /** Where clients find the protected-resource metadata (in the challenge). */
  metadataUrl?: string | undefined;
  /** The API's refused-attempts counter (label `audited`), created once per registry. */
  counter: { name: string; help: string };
  /** Whether the request attempts an action whose refusal is audited. */
  isAttempt: (request: FastifyRequest) => boolean;
  /**
   * Audits a refused attempt; answers whether an audit record was written, or undefined when nothing
   * was attempted that can be recorded (no store, an id that does not decode): then it is not counted.
   */
  audit: (request: FastifyRequest, refused: RefusedToken) => boolean | undefined;
}

/** The gate of one API: its onRequest check and the approver each request verified to. */
export interface ApproverGate {
  /** Verifies the request's token; answers the refusal (and returns the reply) when it is refused. */
  check(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined>;
  /** The approver of a request that passed {@link check}. */
  approverOf(request: FastifyRequest): Approver;
}

export function approverGate(rt: FleetRuntime, o: ApproverGateOptions): ApproverGate {
  const approvers = new WeakMap<FastifyRequest, Approver>();
  const refusedAttempts = (rt.metrics.registry.getSingleMetric(o.counter.name) ??
    new Counter({
      name: o.counter.name,
      help: o.counter.help,
      labelNames: ['audited'],
      registers: [rt.metrics.registry],
    })) as Counter<'audited'>;
  return {
    async check(request, reply) {
      try {
        approvers.set(request, await o.verifier.verify(request.headers.authorization));
        return undefined;
      } catch (err) {
        const failure =
          err instanceof AuthFailure
            ? err
            : new AuthFailure('keys_unavailable', 'token could not be verified');
        rt.metrics.authFailures.inc({ reason: failure.reason });
        const presentedBy = o.isAttempt(request)
          ? presenterOf(request.headers.authorization, failure)
          : undefined;
        if (presentedBy) {
          const reason = failure instanceof NotApproverToken ? failure.kind : failure.reason;
          const audited = o.audit(request, { reason, presentedBy });
          if (audited !== undefined) refusedAttempts.inc({ audited: String(audited) });
        }
        return reply
          .code(failure.statusCode)
          .header('www-authenticate', bearerChallenge(failure, o.metadataUrl, [o.scope]))
          .send({ error: failure.oauthError ?? 'invalid_request', message: failure.message });
      }
    },
    approverOf: (request) => approvers.get(request)!,
  };
}
