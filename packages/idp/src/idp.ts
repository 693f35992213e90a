// The local identity provider: an OAuth 2.1 / OpenID Connect provider (oidc-provider) for the local
// fleet and tests. It signs in the console's approvers (OIDC, confidential client `fleet-console`),
// gives MCP clients tokens through the MCP authorization flow (dynamic registration, authorization
// code + PKCE, RFC 8707 resource indicators), and serves the JWKS `fleet token` tokens verify against.
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { JWK } from 'jose';
import Provider, { type Configuration, errors, type KoaContextWithOIDC } from 'oidc-provider';
import { MemoryStore } from './memory-store.js';
import { loginPage, messagePage, newNonce, securityHeaders, sendPage } from './pages.js';
import { loadSigningKey, type SigningKeySource } from './signing-key.js';
import { checkPassword, type DevPerson, type DevUser, idpUsers } from './users.js';

/** The console's confidential client. */
export interface ConsoleClientOptions {
  /** Default `fleet-console`. */
  clientId?: string;
  clientSecret: string;
  redirectUris: string[];
  postLogoutRedirectUris?: string[];
}

/** What {@link startDevIdp} needs. */
export interface DevIdpOptions {
  /** Default `http://<host>:<bound port>`. */
  issuer?: string;
  /** 0 = any free port. */
  port: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** The DevIssuer's key (`{file}` = .fleet/dev-issuer.json, created if missing) or its private JWK. */
  signingKey: SigningKeySource;
  /**
   * The people (DEMO_PEOPLE of @mcp-fleet/simulators); those with a password can sign in. The idp
   * package does not depend on the simulators package, so its callers pass them.
   */
  users: readonly DevPerson[];
  consoleClient?: ConsoleClientOptions;
  /**
   * The fleet resources tokens are issued for: a list (`<server>/mcp`, `<server>/approvals`, or a
   * server's base URL meaning both) or a predicate over the requested resource URL. Anything else
   * is refused with `invalid_target`.
   */
  resources: readonly string[] | ((resource: string) => boolean);
  /** The approvers' group, shown on the login page (the servers check it, not the IdP). */
  approverGroup?: string;
  /** Clients allowed tokens for `<server>/approvals` (default: the console client only). */
  approvalClients?: readonly string[];
  /** Tenant claim of /mcp tokens (default `acme`). */
  tenant?: string;
  /** How long a sign-in at the IdP lasts (seconds, default 3600). */
  sessionTtlSeconds?: number;
  /** Lifetime of /mcp access tokens (seconds, default 3600). */
  mcpTokenTtlSeconds?: number;
  /** Lifetime of /approvals access tokens (seconds, default 900). */
  approvalsTokenTtlSeconds?: number;
}

/** A running local IdP. */
export interface DevIdp {
  issuer: string;
  jwksUrl: string;
  /** The IdP users who can sign in. */
  users: readonly DevUser[];
  close(): Promise<void>;
}

type ResourceKind = 'mcp' | 'approvals';

/** The kind of fleet resource a URL names, by its path's last segment. */
export function resourceKind(resource: string): ResourceKind | undefined {
  let url: URL;
  try {
    url = new URL(resource);
  } catch {
    return undefined;
  }
  if (url.search || url.hash || url.username || url.password) return undefined;
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
  if (url.pathname.endsWith('/mcp')) return 'mcp';
  if (url.pathname.endsWith('/approvals')) return 'approvals';
  return undefined;
}

function resourcePredicate(resources: DevIdpOptions['resources']): (resource: string) => boolean {
  if (typeof resources === 'function') return resources;
  const allowed = new Set<string>();
  for (const r of resources) {
    if (resourceKind(r)) allowed.add(r);
    else {
      const base = r.replace(/\/+$/, '');
      allowed.add(`${base}/mcp`);
      allowed.add(`${base}/approvals`);
    }
  }
  return (resource) => allowed.has(resource);
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** Whether `uri` is an http(s) redirect to this machine (the only kind a registered MCP client may use). */
export function isLoopbackRedirect(uri: string): boolean {
  try {
    const u = new URL(uri);
    return (u.protocol === 'http:' || u.protocol === 'https:') && LOOPBACK.has(u.hostname) && !u.hash;
  } catch {
    return false;
  }
}

/** Client metadata naming URLs the IdP would fetch or send browsers to besides the redirect URIs. */
const FETCHED_CLIENT_URLS = [
  'jwks_uri',
  'sector_identifier_uri',
  'request_uris',
  'initiate_login_uri',
  'backchannel_logout_uri',
  'frontchannel_logout_uri',
] as const;

/** A readable client id for a registered client: `mcp-<its name>-<random>`. */
function readableClientId(name: unknown): string {
  const slug =
    typeof name === 'string'
      ? name
          .toLowerCase()
          .replace(/[^a-z0-9]+/g, '-')
          .replace(/^-+|-+$/g, '')
          .slice(0, 32)
      : '';
  return `mcp-${slug || 'client'}-${randomBytes(5).toString('hex')}`;
}

/**
 * The agent session id (`sid`) of an /mcp access token: the person's sign-in at the IdP, never one
 * client's grant. A client such as mcp-remote registers and authorises each fleet server on its own
 * (each is its own protected resource), so one agent run holds one token per server from as many
 * grants; the flow guard keys a session's reads on (tenant, agent, user, sid), so a sid per grant put
 * the database read and the external send in two sessions (issue 17, finding F5). Every token of one
 * browser sign-in (oidc-provider's Session, whose `uid` the authorization code, its access token and
 * its refresh tokens all carry) gets one sid; a refresh keeps the sign-in's even after it ended. The
 * sid is derived from, and does not reveal, the session's uid (`s-`) — or, for a token of no sign-in
 * (no flow of this IdP issues one), from its grant (`g-`: fixed for that grant, refreshes included).
 */
function agentSessionOf(token: { sessionUid?: string; grantId?: string }): string {
  const [kind, from] = token.sessionUid
    ? ['s', `session\0${token.sessionUid}`]
    : ['g', token.grantId ? `grant\0${token.grantId}` : randomBytes(16).toString('hex')];
  return `${kind}-${createHash('sha256').update(`mcp-fleet agent session\0${from}`).digest('base64url').slice(0, 22)}`;
}

async function readForm(req: IncomingMessage, limit = 8192): Promise<URLSearchParams> {
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/x-www-form-urlencoded') throw new Error('form expected');
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new Error('form too large');
    chunks.push(chunk as Buffer);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

function originOf(uri: string | undefined): string | undefined {
  try {
    return uri ? new URL(uri).origin : undefined;
  } catch {
    return undefined;
  }
}

/** `uri` resolved against `base` (undefined when it is not a URL). */
function absolute(uri: string, base: string): string | undefined {
  try {
    return new URL(uri, base).href;
  } catch {
    return undefined;
  }
}

/** Undoes oidc-provider's htmlSafe() (attribute values of the pages it renders itself). */
function unescapeHtml(text: string): string {
  return text.replace(/&(amp|lt|gt|quot|#39|#x27);/g, (_m, e: string) =>
    e === 'amp' ? '&' : e === 'lt' ? '<' : e === 'gt' ? '>' : e === 'quot' ? '"' : "'",
  );
}

/** Starts the local IdP on host:port. */
export async function startDevIdp(options: DevIdpOptions): Promise<DevIdp> {
  const host = options.host ?? '127.0.0.1';
  const users = idpUsers(options.users);
  const key: JWK = await loadSigningKey(options.signingKey);
  const allowedResource = resourcePredicate(options.resources);
  const consoleId = options.consoleClient?.clientId ?? 'fleet-console';
  const approvalClients = new Set(options.approvalClients ?? (options.consoleClient ? [consoleId] : []));
  const tenant = options.tenant ?? 'acme';
  const sessionTtl = options.sessionTtlSeconds ?? 3600;
  const consoleOrigins = [
    ...(options.consoleClient?.redirectUris ?? []),
    ...(options.consoleClient?.postLogoutRedirectUris ?? []),
  ]
    .map(originOf)
    .filter((o): o is string => Boolean(o));

  // Bind first: the issuer (with port 0, the bound port) is part of the provider's configuration.
  let handler: (req: IncomingMessage, res: ServerResponse) => void = (_req, res) => {
    res.writeHead(503).end();
  };
  const server = createServer((req, res) => handler(req, res));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, host, () => resolve());
  });
  const bound = (server.address() as AddressInfo).port;
  const issuer = (options.issuer ?? `http://${host}:${bound}`).replace(/\/+$/, '');

  const userOf = (id: string | undefined) => users.find((u) => u.userName === id);

  const pageHeaders = (ctx: KoaContextWithOIDC, extraForms: string[] = []) => {
    const nonce = newNonce();
    for (const [k, v] of Object.entries(securityHeaders(nonce, [...consoleOrigins, ...extraForms])))
      ctx.set(k, v);
    return nonce;
  };

  const store = new MemoryStore();
  const sweeper = setInterval(() => store.sweep(), 60_000);
  sweeper.unref();

  const configuration: Configuration = {
    adapter: store.adapter(),
    clients: options.consoleClient
      ? [
          {
            client_id: consoleId,
            client_secret: options.consoleClient.clientSecret,
            client_name: 'mcp-fleet approvals console',
            redirect_uris: options.consoleClient.redirectUris,
            post_logout_redirect_uris: options.consoleClient.postLogoutRedirectUris ?? [],
            grant_types: ['authorization_code'],
            response_types: ['code'],
            token_endpoint_auth_method: 'client_secret_basic',
            id_token_signed_response_alg: 'ES256',
          },
        ]
      : [],
    clientDefaults: {
      grant_types: ['authorization_code'],
      response_types: ['code'],
      id_token_signed_response_alg: 'ES256',
    },
    jwks: { keys: [key as never] },
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    routes: { jwks: '/.well-known/jwks.json' },
    scopes: ['openid', 'offline_access', 'profile', 'email', 'groups', 'mcp:tools', 'mcp:approve'],
    claims: {
      // The console's sign-in needs these whatever scopes it asked: they are in every ID token.
      openid: ['sub', 'preferred_username', 'name', 'email', 'groups'],
      profile: ['name', 'preferred_username'],
      email: ['email', 'email_verified'],
      groups: ['groups'],
    },
    conformIdTokenClaims: false,
    // OAuth 2.1: the authorization code flow only (no implicit or hybrid responses).
    responseTypes: ['code'],
    pkce: { required: () => true },
    enabledJWA: {
      idTokenSigningAlgValues: ['ES256'],
      userinfoSigningAlgValues: ['ES256'],
      introspectionSigningAlgValues: ['ES256'],
      authorizationSigningAlgValues: ['ES256'],
    },
    ttl: {
      AccessToken: options.mcpTokenTtlSeconds ?? 3600,
      AuthorizationCode: 60,
      IdToken: 3600,
      Interaction: 600,
      Session: sessionTtl,
      Grant: sessionTtl,
      RefreshToken: sessionTtl,
    },
    async findAccount(_ctx, id) {
      const user = userOf(id);
      if (!user) return undefined;
      return {
        accountId: user.userName,
        async claims() {
          return {
            sub: user.userName,
            preferred_username: user.userName,
            name: user.displayName,
            email: user.email,
            email_verified: true,
            groups: [...user.groups],
          };
        },
      };
    },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    clientBasedCORS(_ctx, origin, client) {
      if (origin === 'null') return false;
      return (
        client.clientAuthMethod === 'none' &&
        (client.redirectUris ?? []).some((uri) => originOf(uri) === origin)
      );
    },
    extraClientMetadata: {
      properties: ['fleet_registration_policy'],
      validator(_ctx, property, _value, metadata) {
        if (property !== 'fleet_registration_policy') return;
        // The console (configured here) is the only confidential client; every other client is an
        // MCP client registered dynamically: public (PKCE only) and redirected to this machine only.
        if (metadata.client_id === consoleId && options.consoleClient) return;
        if (metadata.token_endpoint_auth_method !== 'none') {
          throw new errors.InvalidClientMetadata(
            'the local IdP registers public clients only (token_endpoint_auth_method "none")',
          );
        }
        const uris = (metadata.redirect_uris as string[] | undefined) ?? [];
        if (uris.length === 0 || !uris.every(isLoopbackRedirect)) {
          throw new errors.InvalidRedirectUri(
            'the local IdP accepts loopback redirect URIs only (127.0.0.1, localhost, [::1])',
          );
        }
        // After sign-out the IdP sends the browser where the client registered: this machine only,
        // or a link on the IdP's own origin would land an approver on any site (an open redirect).
        const afterLogout = (metadata.post_logout_redirect_uris as string[] | undefined) ?? [];
        if (!afterLogout.every(isLoopbackRedirect)) {
          throw new errors.InvalidClientMetadata(
            'the local IdP accepts loopback post_logout_redirect_uris only (127.0.0.1, localhost, [::1])',
          );
        }
        // URLs the IdP would fetch (keys, sector identifiers, request objects) or send browsers and
        // back-channel calls to: an MCP client needs none of them, and each is a way off this machine.
        for (const key of FETCHED_CLIENT_URLS) {
          const value = metadata[key];
          if (value !== undefined && !(Array.isArray(value) && value.length === 0)) {
            throw new errors.InvalidClientMetadata(
              `the local IdP does not accept ${key} for registered clients`,
            );
          }
        }
        metadata.fleet_registration_policy = undefined;
      },
    },
    features: {
      devInteractions: { enabled: false },
      registration: {
        enabled: true,
        initialAccessToken: false,
        issueRegistrationAccessToken: false,
        idFactory: (ctx) =>
          readableClientId((ctx.oidc.body as Record<string, unknown> | undefined)?.client_name),
      },
      revocation: { enabled: true },
      rpInitiatedLogout: {
        enabled: true,
        async logoutSource(ctx, form) {
          const nonce = pageHeaders(ctx);
          ctx.body = messagePage(
            'Sign out',
            `Sign out of the local dev IdP at ${ctx.host}?`,
            `${form}<button autofocus type="submit" form="op.logoutForm" value="yes" name="logout">Yes, sign me out</button>
<button type="submit" class="secondary" form="op.logoutForm">No, stay signed in</button>`,
          )(nonce);
        },
        async postLogoutSuccessSource(ctx) {
          const nonce = pageHeaders(ctx);
          ctx.body = messagePage('Signed out', 'You are signed out of the local dev IdP.')(nonce);
        },
      },
      resourceIndicators: {
        enabled: true,
        defaultResource: async (_ctx, _client, oneOf) => oneOf,
        // A client that asked for one resource gets its token without naming it again at /token.
        useGrantedResource: async () => true,
        async getResourceServerInfo(_ctx, resource, client) {
          const kind = resourceKind(resource);
          if (!kind || !allowedResource(resource)) {
            throw new errors.InvalidTarget(`${resource} is not a resource of this fleet`);
          }
          if (kind === 'approvals' && !approvalClients.has(client.clientId)) {
            throw new errors.InvalidTarget('approver tokens are issued to the approvals console only');
          }
          if (kind === 'mcp' && approvalClients.has(client.clientId)) {
            throw new errors.InvalidTarget('the approvals console does not get agent (/mcp) tokens');
          }
          return {
            scope: kind === 'mcp' ? 'mcp:tools' : 'mcp:approve',
            audience: resource,
            accessTokenFormat: 'jwt',
            accessTokenTTL:
              kind === 'mcp'
                ? (options.mcpTokenTtlSeconds ?? 3600)
                : (options.approvalsTokenTtlSeconds ?? 900),
            jwt: { sign: { alg: 'ES256' } },
          };
        },
      },
    },
    formats: {
      customizers: {
        // The fleet's claims: /mcp tokens name the person (sub, user: the agent is the person, the
        // same at every server), their agent roles, the tenant and the session id of their sign-in
        // (agentSessionOf: one per browser sign-in, shared by every client and server authorised in
        // it); /approvals tokens name the person and their groups, nothing else.
        async jwt(_ctx, token, jwt) {
          const audience = (token as { resourceServer?: { audience?: string } }).resourceServer?.audience;
          const kind = audience ? resourceKind(audience) : undefined;
          const user = userOf((token as { accountId?: string }).accountId);
          const payload = jwt.payload as Record<string, unknown>;
          if (!kind || !user) throw new errors.InvalidGrant('no fleet token for this grant');
          if (kind === 'mcp') {
            payload.scope = 'mcp:tools';
            payload.user = user.userName;
            payload.roles = [...user.agentRoles];
            payload.tenant = tenant;
            payload.sid = agentSessionOf(token as { sessionUid?: string; grantId?: string });
          } else {
            payload.scope = 'mcp:approve';
            payload.preferred_username = user.userName;
            payload.groups = [...user.groups];
          }
        },
      },
    },
    async renderError(ctx, out) {
      const nonce = pageHeaders(ctx);
      ctx.type = 'html';
      ctx.body = messagePage(
        'Sign-in error',
        `${out.error}${out.error_description ? `: ${out.error_description}` : ''}`,
      )(nonce);
    },
  };

  const provider = new Provider(issuer, configuration);
  // Every HTML answer carries the strict headers, also pages oidc-provider renders itself without a
  // hook (the auto-submitting form of /session/end for a visitor who is not signed in, form_post
  // responses): their inline script is allowed by its hash only, their form by its target's origin.
  provider.use(async (ctx, next) => {
    await next();
    if (!ctx.response.is('html') || ctx.response.get('content-security-policy')) return;
    const body = typeof ctx.body === 'string' ? ctx.body : '';
    const scripts = [...body.matchAll(/<script>([\s\S]*?)<\/script>/g)].map(
      (m) => `sha256-${createHash('sha256').update(m[1]!, 'utf8').digest('base64')}`,
    );
    const targets = [...body.matchAll(/<form[^>]*\saction="([^"]*)"/g)]
      .map((m) => originOf(absolute(unescapeHtml(m[1]!), issuer)))
      .filter((o): o is string => Boolean(o));
    for (const [k, v] of Object.entries(
      securityHeaders(newNonce(), [...consoleOrigins, ...targets], scripts),
    ))
      ctx.set(k, v);
  });
  const callback = provider.callback();

  const interaction = async (req: IncomingMessage, res: ServerResponse, path: string) => {
    const [, , uid, action] = path.split('/');
    let details: Awaited<ReturnType<typeof provider.interactionDetails>>;
    try {
      details = await provider.interactionDetails(req, res);
    } catch {
      sendPage(
        res,
        400,
        messagePage(
          'Sign-in expired',
          'This sign-in request is unknown or has expired. Start again from your client.',
        ),
      );
      return;
    }
    if (details.uid !== uid) {
      sendPage(res, 400, messagePage('Sign-in expired', 'This sign-in request does not match. Start again.'));
      return;
    }
    const params = details.params as Record<string, string | undefined>;
    const client = await provider.Client.find(String(params.client_id));
    const redirectOrigin = originOf(params.redirect_uri);
    const forms = [...consoleOrigins, ...(redirectOrigin ? [redirectOrigin] : [])];
    const view = (error?: string, userName?: string) =>
      loginPage({
        uid: details.uid,
        clientId: String(params.client_id),
        clientName: client?.clientName,
        resource: params.resource,
        scope: params.scope,
        users,
        approverGroup: options.approverGroup,
        ...(error ? { error } : {}),
        ...(userName ? { userName } : {}),
      });

    if (req.method === 'GET' && action === undefined) {
      if (details.prompt.name === 'login') {
        sendPage(res, 200, view(), forms);
        return;
      }
      // Consent is automatic on the local IdP: grant what the client asked (the login page named it).
      const { prompt, session } = details;
      const grant = details.grantId
        ? await provider.Grant.find(details.grantId)
        : new provider.Grant({ accountId: session!.accountId, clientId: String(params.client_id) });
      if (!grant) throw new Error('grant not found');
      const missing = prompt.details as {
        missingOIDCScope?: string[];
        missingOIDCClaims?: string[];
        missingResourceScopes?: Record<string, string[]>;
      };
      if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
      if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
      for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes ?? {})) {
        grant.addResourceScope(indicator, scopes.join(' '));
      }
      const grantId = await grant.save();
      await provider.interactionFinished(
        req,
        res,
        { consent: { grantId } },
        { mergeWithLastSubmission: true },
      );
      return;
    }
    if (req.method === 'POST' && action === 'abort') {
      await provider.interactionFinished(
        req,
        res,
        { error: 'access_denied', error_description: 'the user cancelled the sign-in' },
        { mergeWithLastSubmission: false },
      );
      return;
    }
    if (req.method === 'POST' && action === 'login' && details.prompt.name === 'login') {
      let form: URLSearchParams;
      try {
        form = await readForm(req);
      } catch {
        sendPage(res, 400, view('The sign-in form could not be read.'), forms);
        return;
      }
      const userName = (form.get('username') ?? '').trim();
      const user = checkPassword(users, userName, form.get('password') ?? '');
      if (!user) {
        sendPage(res, 401, view('Wrong user name or password.', userName.slice(0, 64)), forms);
        return;
      }
      await provider.interactionFinished(
        req,
        res,
        { login: { accountId: user.userName, amr: ['pwd'] } },
        { mergeWithLastSubmission: false },
      );
      return;
    }
    res.writeHead(405, { 'content-type': 'text/plain' }).end('method not allowed');
  };

  handler = (req, res) => {
    const url = new URL(req.url ?? '/', issuer);
    const path = url.pathname;
    if (path.startsWith('/interaction/')) {
      interaction(req, res, path).catch((err: unknown) => {
        if (!res.headersSent) {
          sendPage(res, 500, messagePage('Sign-in error', `The sign-in failed: ${(err as Error).message}`));
        } else res.end();
      });
      return;
    }
    // RFC 8414 metadata (where MCP clients look) is the same document as OpenID discovery.
    if (path === '/.well-known/oauth-authorization-server') {
      req.url = `/.well-known/openid-configuration${url.search}`;
    }
    callback(req, res);
  };

  return {
    issuer,
    jwksUrl: `${issuer}/.well-known/jwks.json`,
    users,
    async close() {
      clearInterval(sweeper);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
