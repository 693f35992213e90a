// The approvals console (issue 15), served by the admin server under /console: approvers sign in
// with OpenID Connect and decide pending approvals through ONE fleet-wide ApprovalDesk, read the
// audit trail, and watch and suspend agents. Built like a security product:
// - sessions server-side in the fleet database (sessions.ts), the cookie only a random id:
//   `__Host-` prefix, Secure, HttpOnly, SameSite=Strict (the pre-login cookie SameSite=Lax, since
//   the identity provider's redirect back is a cross-site navigation);
// - every POST: a session, an Origin header equal to PUBLIC_URL's origin (and Sec-Fetch-Site, when
//   sent, same-origin), and a CSRF token (@fastify/csrf-protection, its secret kept in the session
//   row, never in a cookie); core's Host/Origin guard on every request;
// - strict CSP (no inline script or style, script-src 'self', Trusted Types required, no framing,
//   form-action 'self'), X-Frame-Options DENY, nosniff, Referrer-Policy same-origin, Cache-Control no-store;
// - errors are pages with a status and a reference, never a stack or an internal message;
// - every value on a page is escaped (html.ts), tool arguments shown byte for byte (visible()).
import { createHash, randomUUID } from 'node:crypto';
import fastifyCookie from '@fastify/cookie';
import fastifyCsrf from '@fastify/csrf-protection';
import fastifyFormbody from '@fastify/formbody';
import fastifyHelmet from '@fastify/helmet';
import type { ServerHttpContext } from '@mcp-fleet/core';
import {
  ApprovalDesk,
  type ApprovalView,
  AuditQuery,
  AuditQueryError,
  type AuditRecord,
  type AuditScope,
} from '@mcp-fleet/core/approvals';
import type {
  FastifyInstance,
  FastifyReply,
  FastifyRequest,
  preHandlerAsyncHookHandler,
  preHandlerHookHandler,
} from 'fastify';
import { type Approver, approverOf } from './approver.js';
import { CONSOLE_CSS, CONSOLE_JS } from './assets.js';
import type { ConsoleConfig } from './config.js';
import { consoleBase, type Html, html, page } from './html.js';
import { ConsoleOidc } from './oidc.js';
import { approvalPage, DECISION_MESSAGES, pendingItem, pendingPage } from './pages/approvals.js';
import { auditListPage, auditRecordPage, parseAuditFilters } from './pages/audit.js';
import { earlierCallsOf } from './pages/repeats.js';
import { type ConsoleSession, SessionStore } from './sessions.js';

/** The session cookie (the `__Host-` prefix: Secure, Path=/, no Domain; no other site can set it). */
export const SESSION_COOKIE = '__Host-fleet-console';
/** The cookie of a sign-in in progress (SameSite=Lax: it must come back with the IdP's redirect). */
export const LOGIN_COOKIE = '__Host-fleet-console-login';

declare module 'fastify' {
  interface FastifyRequest {
    /** The signed-in person (console routes after the session check). */
    consoleSession?: ConsoleSession | undefined;
    /** What @fastify/csrf-protection reads the CSRF secret from (the session row's). */
    session?: Record<string, string> | undefined;
  }
}

/** The console's Content-Security-Policy. */
export const CONSOLE_CSP = {
  defaultSrc: ["'none'"],
  scriptSrc: ["'self'"],
  styleSrc: ["'self'"],
  imgSrc: ["'self'"],
  connectSrc: ["'self'"],
  formAction: ["'self'"],
  frameAncestors: ["'none'"],
  baseUri: ["'none'"],
  objectSrc: ["'none'"],
  requireTrustedTypesFor: ["'script'"],
  trustedTypes: ["'none'"],
};

/** What the console is given. */
export interface ConsoleOptions<C, Cfg> {
  ctx: ServerHttpContext<C, Cfg>;
  config: ConsoleConfig;
  /** Core's Host/Origin guard (http/request-guards.ts). */
  hostGuard: (request: FastifyRequest, reply: FastifyReply) => Promise<void>;
  /** Extra routes for signed-in people (the agents pages), registered in the console's context. */
  extend?: (app: FastifyInstance, kit: ConsoleKit) => Promise<void> | void;
}

/** What extensions of the console use: the page frame and the POST checks. */
export interface ConsoleKit {
  /** The console's public path (PUBLIC_URL's path + /console): the start of every URL a page or redirect gives. */
  base: string;
  render(
    request: FastifyRequest,
    reply: FastifyReply,
    o: Omit<Parameters<typeof page>[0], 'base'>,
    status?: number,
  ): FastifyReply;
  /** preHandler for a page: a signed-in person (else the sign-in page). */
  signedIn: preHandlerAsyncHookHandler;
  /** preHandlers for a POST: same origin, signed in, a valid CSRF token. */
  post: preHandlerHookHandler[];
  approver(request: FastifyRequest): Approver;
  /**
   * The audit records the signed-in person may read: the approvals desk's tenant scope (their
   * tenant claim's tenant; without one, untenanted records, or every tenant's with APPROVER_ALL_TENANTS).
   */
  scope(request: FastifyRequest): AuditScope;
  csrf(reply: FastifyReply): string;
  audit(
    record: Omit<AuditRecord, 'id' | 'ts' | 'roles' | 'durationMs' | 'protocolVersion' | 'policyVersion'>,
  ): void;
}

/** The console plugin (register with prefix `/console`). */
export function consolePlugin<C, Cfg>(o: ConsoleOptions<C, Cfg>) {
  return async function console(app: FastifyInstance): Promise<void> {
    const { ctx, config } = o;
    const rt = ctx.runtime;
    const publicUrl = ctx.core.publicUrl;
    const publicOrigin = new URL(publicUrl).origin;
    // Routes stay where the app sees them (/console: a path prefix is stripped by the ingress); every
    // URL given to the browser (links, forms, script and style, redirects, redirect_uri) is under `base`.
    const base = consoleBase(publicUrl);
    const fleetDb = ctx.fleetDb;
    const sessions = fleetDb
      ? new SessionStore(fleetDb, { idleMs: config.idleMs, maxMs: config.maxMs })
      : undefined;
    const oidc = new ConsoleOidc(config, `${publicOrigin}${base}/callback`);
    const trail = fleetDb ? new AuditQuery(fleetDb) : undefined;
    let desk: ApprovalDesk | undefined;
    const deskOf = (): ApprovalDesk | undefined => {
      const store = rt.governance.approvals;
      if (!store) return undefined;
      desk ??= new ApprovalDesk({
        store,
        server: rt.server,
        servers: 'fleet',
        allTenants,
        audit: (r) => rt.audit.recordDurable(r),
        metrics: rt.governance.metrics,
        policyVersion: () => rt.policy.version || null,
      });
      return desk;
    };
    const allTenants = ctx.core.approvers?.allTenants ?? false;
    // The desk's own rule (ApprovalDesk.scopeOf) when there is a desk; the same rule without one.
    const scopeOf = (approver: Approver): AuditScope => {
      const d = deskOf();
      if (d) return { tenant: d.scopeOf(approver) };
      return { tenant: approver.tenant !== null ? approver.tenant : allTenants ? undefined : null };
    };
    const audit: ConsoleKit['audit'] = (r) =>
      rt.audit.record({
        id: randomUUID(),
        ts: new Date().toISOString(),
        roles: [],
        durationMs: null,
        protocolVersion: null,
        policyVersion: null,
        ...r,
      });

    await app.register(fastifyCookie);
    await app.register(fastifyFormbody, { bodyLimit: 16 * 1024 });
    await app.register(fastifyCsrf, { sessionPlugin: '@fastify/session', sessionKey: '_csrf' });
    await app.register(fastifyHelmet, {
      contentSecurityPolicy: { useDefaults: false, directives: CONSOLE_CSP },
      frameguard: { action: 'deny' },
      // same-origin, not no-referrer: with no-referrer Chromium sends `Origin: null` on the console's own
      // form POSTs, and the Origin check refuses them.
      referrerPolicy: { policy: 'same-origin' },
      crossOriginEmbedderPolicy: { policy: 'require-corp' },
      crossOriginOpenerPolicy: { policy: 'same-origin' },
      crossOriginResourcePolicy: { policy: 'same-origin' },
      strictTransportSecurity: publicOrigin.startsWith('https:') ? { maxAge: 31_536_000 } : false,
    });
    app.addHook('onRequest', o.hostGuard);
    app.addHook('onRequest', async (_request, reply) => {
      reply.header('cache-control', 'no-store');
      reply.header('pragma', 'no-cache');
      reply.header('permissions-policy', 'camera=(), microphone=(), geolocation=(), payment=()');
    });

    const cookieOpts = (sameSite: 'strict' | 'lax', maxAge?: number) => ({
      path: '/',
      httpOnly: true,
      secure: true,
      sameSite,
      ...(maxAge !== undefined ? { maxAge } : {}),
    });

    const render: ConsoleKit['render'] = (request, reply, p, status = 200) => {
      const s = request.consoleSession;
      return reply
        .code(status)
        .type('text/html; charset=utf-8')
        .send(page({ ...p, base, who: s ? { name: s.name, csrf: reply.generateCsrf() } : undefined }));
    };
    const message = (
      request: FastifyRequest,
      reply: FastifyReply,
      status: number,
      title: string,
      text: string,
    ) =>
      render(
        request,
        reply,
        {
          title,
          body: html`<h1>${title}</h1><p class="error">${text}</p><p><a href="${base}">Back to the console</a></p>`,
        },
        status,
      );

    app.setErrorHandler((err: { statusCode?: number; code?: string }, request, reply) => {
      const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
      if (status === 500)
        rt.logger.error({ err: (err as Error).message, requestId: request.id }, 'console request failed');
      if (typeof err.code === 'string' && err.code.startsWith('FST_CSRF'))
        return message(
          request,
          reply,
          403,
          'Refused',
          'This form has expired or did not come from this console. Nothing was changed. Reload the page and try again.',
        );
      return message(
        request,
        reply,
        status,
        status === 500 ? 'Something went wrong' : 'Bad request',
        status === 500
          ? `Internal error (reference ${request.id}). Nothing more is shown here; the server log has it.`
          : 'The request could not be read. Nothing was changed.',
      );
    });
    app.setNotFoundHandler((request, reply) =>
      message(request, reply, 404, 'Not found', 'There is no such page.'),
    );

    const loadSession = async (request: FastifyRequest) => {
      if (request.consoleSession || !sessions) return request.consoleSession;
      const s = await sessions.get(request.cookies[SESSION_COOKIE]);
      request.consoleSession = s;
      request.session = s ? { _csrf: s.csrfSecret } : undefined;
      return s;
    };
    const signedIn: ConsoleKit['signedIn'] = async (request, reply) => {
      if (!sessions)
        return message(
          request,
          reply,
          503,
          'Unavailable',
          'The console needs the fleet database (DATABASE_URL).',
        );
      if (await loadSession(request)) return;
      if (request.cookies[SESSION_COOKIE]) reply.clearCookie(SESSION_COOKIE, cookieOpts('strict'));
      return render(request, reply, { title: 'Sign in', body: signInBody(base, oidc.unconfigured) }, 401);
    };
    const sameOrigin: preHandlerAsyncHookHandler = async (request, reply) => {
      const origin = request.headers.origin;
      const site = request.headers['sec-fetch-site'];
      if (origin !== publicOrigin || (site !== undefined && site !== 'same-origin'))
        return message(
          request,
          reply,
          403,
          'Refused',
          'This request did not come from this console (Origin check). Nothing was changed.',
        );
    };
    // @fastify/csrf-protection: the token of the form (field _csrf) against the session's secret.
    const csrfCheck: preHandlerHookHandler = (request, reply, done) =>
      app.csrfProtection(request, reply, done);
    const post: ConsoleKit['post'] = [sameOrigin, signedIn, csrfCheck];
    const kit: ConsoleKit = {
      base,
      render,
      signedIn,
      post,
      approver: (request) => request.consoleSession!.approver,
      scope: (request) => scopeOf(request.consoleSession!.approver),
      csrf: (reply) => reply.generateCsrf(),
      audit,
    };

    // --- assets
    app.get('/assets/console.js', async (_request, reply) =>
      reply.type('text/javascript; charset=utf-8').send(CONSOLE_JS),
    );
    app.get('/assets/console.css', async (_request, reply) =>
      reply.type('text/css; charset=utf-8').send(CONSOLE_CSS),
    );

    // --- sign-in
    app.get('/login', async (request, reply) => {
      if (oidc.unconfigured || !sessions)
        return message(
          request,
          reply,
          503,
          'Sign-in unavailable',
          `Sign-in is not configured: ${oidc.unconfigured ?? 'DATABASE_URL is not set'}.`,
        );
      let started: Awaited<ReturnType<ConsoleOidc['start']>>;
      try {
        started = await oidc.start();
      } catch (err) {
        rt.logger.warn({ err: (err as Error).message }, 'console: identity provider discovery failed');
        return message(
          request,
          reply,
          502,
          'Sign-in unavailable',
          'The identity provider could not be reached. Try again shortly.',
        );
      }
      const id = await sessions.startLogin(started);
      if (!id)
        return message(
          request,
          reply,
          503,
          'Sign-in unavailable',
          'Too many sign-ins are in progress. Try again in a few minutes.',
        );
      reply.setCookie(LOGIN_COOKIE, id, cookieOpts('lax', 600));
      return reply.redirect(started.url, 303);
    });

    app.get('/callback', async (request, reply) => {
      if (oidc.unconfigured || !sessions)
        return message(request, reply, 503, 'Sign-in unavailable', 'Sign-in is not configured.');
      const kept = await sessions.takeLogin(request.cookies[LOGIN_COOKIE]);
      reply.clearCookie(LOGIN_COOKIE, cookieOpts('lax'));
      if (!kept)
        return message(
          request,
          reply,
          400,
          'Sign-in failed',
          'This sign-in was not started here, or it took too long. Start again.',
        );
      let claims: Record<string, unknown>;
      try {
        // The URL the IdP redirected to (under `base`: the redirect_uri of the token request must be
        // the authorization request's, and a stripped path prefix is not in request.url).
        const q = request.url.indexOf('?');
        const at = new URL(`${base}/callback${q >= 0 ? request.url.slice(q) : ''}`, publicOrigin);
        claims = await oidc.finish(at, kept);
      } catch (err) {
        rt.logger.warn({ err: (err as Error).message }, 'console: sign-in refused by the OIDC checks');
        return message(
          request,
          reply,
          400,
          'Sign-in failed',
          "The identity provider's answer did not pass the checks (state, PKCE, ID token). Start again.",
        );
      }
      const who = approverOf(claims, ctx.core);
      if ('refused' in who) {
        audit({
          server: rt.server,
          requestId: request.id,
          method: 'console/sign_in',
          tool: null,
          agentId: typeof claims.sub === 'string' ? claims.sub.slice(0, 256) : null,
          agentSession: null,
          userInvoker: null,
          tenant: null,
          arguments: {},
          decision: 'deny',
          decisionReason: `refused: ${who.refused}`,
          outcome: 'denied',
          resultSummary: who.refused,
          details: { issuer: typeof claims.iss === 'string' ? claims.iss : null, refused: who.refused },
        });
        return message(request, reply, 403, 'Not allowed', `${who.message}. Nobody was signed in.`);
      }
      // Rotation: a new session id at every sign-in; a session this browser had ends.
      const id = await sessions.create(who.approver, who.name, request.cookies[SESSION_COOKIE]);
      audit({
        server: rt.server,
        requestId: request.id,
        method: 'console/sign_in',
        tool: null,
        agentId: who.approver.subject,
        agentSession: null,
        userInvoker: who.approver.user,
        tenant: who.approver.tenant,
        arguments: {},
        decision: 'allow',
        decisionReason: `signed in at the console by ${who.approver.issuer}`,
        outcome: 'ok',
        resultSummary: 'signed_in',
        details: { issuer: who.approver.issuer, name: who.name },
      });
      reply.setCookie(SESSION_COOKIE, id, cookieOpts('strict'));
      // A page, not a redirect: the browser then comes to /console from this site, so the
      // SameSite=Strict cookie goes along (after the IdP's cross-site redirect it would not).
      return reply.type('text/html; charset=utf-8').send(
        page({
          base,
          title: 'Signed in',
          refresh: base,
          body: html`<h1>Signed in</h1><p><a href="${base}">Continue to the console</a></p>`,
        }),
      );
    });

    app.post('/logout', { preHandler: post }, async (request, reply) => {
      await sessions!.end(request.cookies[SESSION_COOKIE]!);
      const s = request.consoleSession!;
      audit({
        server: rt.server,
        requestId: request.id,
        method: 'console/sign_out',
        tool: null,
        agentId: s.approver.subject,
        agentSession: null,
        userInvoker: s.approver.user,
        tenant: s.approver.tenant,
        arguments: {},
        decision: 'allow',
        decisionReason: 'signed out of the console',
        outcome: 'ok',
        resultSummary: 'signed_out',
        details: { issuer: s.approver.issuer },
      });
      request.consoleSession = undefined;
      reply.clearCookie(SESSION_COOKIE, cookieOpts('strict'));
      return render(request, reply, {
        title: 'Signed out',
        body: html`<h1>Signed out</h1><p><a href="${base}/login">Sign in again</a></p>`,
      });
    });

    // --- approvals
    const pendingOf = async (approver: Approver) => {
      const d = deskOf();
      if (!d) return undefined;
      const listed = await d.list(approver, { status: 'pending', limit: 500 });
      if (!listed.ok) return undefined;
      const earlier = await earlierCallsOf(
        fleetDb!,
        listed.approvals.map((a) => a.id),
      );
      return { listed, earlier };
    };
    app.get('/', { preHandler: signedIn }, async (request, reply) => {
      const p = await pendingOf(kit.approver(request));
      if (!p) return message(request, reply, 503, 'Unavailable', 'Approvals need the fleet database.');
      return render(request, reply, {
        title: 'Pending approvals',
        nav: 'pending',
        script: true,
        body: pendingPage(base, p.listed.approvals, p.listed.total, p.listed.pendingByAgent, p.earlier),
      });
    });
    app.get('/api/pending', async (request, reply) => {
      if (!(await loadSession(request))) return reply.code(401).send({ error: 'signed_out' });
      const p = await pendingOf(kit.approver(request));
      if (!p) return reply.code(503).send({ error: 'unavailable' });
      return reply.send({
        approvals: p.listed.approvals.map((a) => pendingItem(a, p.earlier.get(a.id))),
        total: p.listed.total,
      });
    });
    app.get<{ Params: { id: string }; Querystring: { result?: string } }>(
      '/approvals/:id',
      { preHandler: signedIn },
      async (request, reply) => {
        const d = deskOf();
        const a = d ? await d.get(kit.approver(request), request.params.id) : undefined;
        if (!a)
          return message(
            request,
            reply,
            404,
            'Not found',
            'No such approval request, or not one you may see.',
          );
        const earlier = await earlierCallsOf(fleetDb!, [a.id]);
        const result = request.query.result;
        const flash =
          typeof result === 'string' && Object.hasOwn(DECISION_MESSAGES, result) ? result : undefined;
        return render(request, reply, {
          title: `${a.tool} approval`,
          nav: 'pending',
          body: approvalPage(base, a, reply.generateCsrf(), flash, kit.approver(request), earlier.get(a.id)),
        });
      },
    );
    app.post<{ Params: { id: string }; Body: Record<string, unknown> }>(
      '/approvals/:id/decide',
      { preHandler: post },
      async (request, reply) => {
        const d = deskOf();
        if (!d) return message(request, reply, 503, 'Unavailable', 'Approvals need the fleet database.');
        const body = request.body ?? {};
        const action = body.action;
        const note = typeof body.note === 'string' && body.note.length > 0 ? body.note : undefined;
        if (action !== 'approve' && action !== 'deny')
          return message(request, reply, 400, 'Bad request', 'Choose approve or deny. Nothing was changed.');
        const approver = kit.approver(request);
        // What the person saw is what they decide: the hash of the arguments on their page must be
        // the request's (it cannot change for an id, but a stale or forged form is refused).
        const seen = body.args_sha256;
        const current = await d.get(approver, request.params.id);
        if (current && seen !== current.argsHash)
          return message(
            request,
            reply,
            409,
            'Refused',
            "The arguments on your page are not this request's. Nothing was changed. Reload the request.",
          );
        const decision = await d.decide(approver, {
          id: request.params.id,
          approve: action === 'approve',
          note,
          requestId: request.id,
        });
        const outcome = decision.ok
          ? decision.event === 'approved' && decision.approval.status === 'pending'
            ? 'approved_first'
            : decision.event
          : decision.why;
        if (!decision.ok && decision.why === 'not_found')
          return message(
            request,
            reply,
            404,
            'Not found',
            'No such approval request, or not one you may see.',
          );
        return reply.redirect(
          `${base}/approvals/${encodeURIComponent(request.params.id)}?result=${encodeURIComponent(outcome)}`,
          303,
        );
      },
    );

    // --- audit trail
    app.get<{ Querystring: Record<string, string | string[] | undefined> }>(
      '/audit',
      { preHandler: signedIn },
      async (request, reply) => {
        if (!trail)
          return message(request, reply, 503, 'Unavailable', 'The audit trail needs the fleet database.');
        const parsed = parseAuditFilters(request.query);
        if ('error' in parsed)
          return render(
            request,
            reply,
            {
              title: 'Audit trail',
              nav: 'audit',
              body: auditListPage(base, parsed.form, undefined, parsed.error),
            },
            400,
          );
        try {
          const pageOf = await trail.page({ ...parsed.filter, limit: 50, scope: kit.scope(request) });
          return render(request, reply, {
            title: 'Audit trail',
            nav: 'audit',
            body: auditListPage(base, parsed.form, pageOf),
          });
        } catch (err) {
          if (err instanceof AuditQueryError)
            return render(
              request,
              reply,
              {
                title: 'Audit trail',
                nav: 'audit',
                body: auditListPage(
                  base,
                  parsed.form,
                  undefined,
                  `That page or filter cannot be used (${err.message}); start from the first page.`,
                ),
              },
              400,
            );
          throw err;
        }
      },
    );
    app.get<{ Params: { id: string } }>('/audit/:id', { preHandler: signedIn }, async (request, reply) => {
      // Another tenant's record answers exactly as a missing one.
      const r = trail ? await trail.get(request.params.id, kit.scope(request)) : undefined;
      if (!r) return message(request, reply, 404, 'Not found', 'No such audit record.');
      return render(request, reply, { title: 'Audit record', nav: 'audit', body: auditRecordPage(base, r) });
    });

    if (o.extend) await o.extend(app, kit);
  };
}

function signInBody(base: string, unconfigured: string | undefined): Html {
  return html`<h1>Approvals console</h1>
<p>Sign in with your company account. Only approvers may sign in; agents and the people an agent acts for cannot decide its requests.</p>
${unconfigured ? html`<p class="error">Sign-in is not configured: ${unconfigured}.</p>` : html`<p><a class="button" id="sign-in" href="${base}/login">Sign in</a></p>`}`;
}

/** SHA-256 (hex) of a text's UTF-8 bytes. */
export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

export type { ApprovalView };
