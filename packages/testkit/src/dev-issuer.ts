// A development JWT issuer: an ES256 key, its JWKS over HTTP, and minting with any claims.
// For local use and tests only; production tokens come from the company's IdP.
import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { dirname } from 'node:path';
import { exportJWK, generateKeyPair, importJWK, type JWK, type JWTPayload, SignJWT } from 'jose';

type SigningKey = Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];

/** What to put in a minted token. */
export interface MintOptions {
  sub: string;
  roles?: string[];
  /** Audience: one resource URL or several (a token for `--all`). */
  aud: string | string[];
  scope?: string;
  tenant?: string;
  user?: string;
  sid?: string;
  /** Lifetime in seconds (default 3600). Negative values mint expired tokens. */
  ttlSeconds?: number;
  /** Not-before offset in seconds from now. */
  nbfSeconds?: number;
  issuer?: string;
  extra?: JWTPayload;
}

interface StoredKey {
  kid: string;
  privateJwk: JWK;
  publicJwk: JWK;
}

/** What to put in a minted approver token (a person deciding approvals, never an agent). */
export interface ApproverMintOptions {
  /** The person (subject) deciding. */
  sub: string;
  /** Audience: the approvals URL of one server (`.../approvals`) or several. */
  aud: string | string[];
  /** Restricts the approver to one tenant's requests. */
  tenant?: string;
  /** Default `mcp:approve`. */
  scope?: string;
  ttlSeconds?: number;
  issuer?: string;
  /**
   * The person's groups (the `groups` claim, APPROVER_CLAIM_GROUPS' default): servers with
   * APPROVER_GROUP set accept only members. Absent: no `groups` claim; `[]`: an empty one.
   */
  groups?: string[];
  /** The `preferred_username` claim (the person's login name, as the local IdP issues it). */
  preferredUsername?: string;
  extra?: JWTPayload;
}

/** Mints ES256 tokens and serves the matching JWKS. */
export class DevIssuer {
  readonly kid: string;
  readonly publicJwk: JWK;
  #privateKey: SigningKey;
  #server: Server | undefined;
  /** The issuer URL, known once {@link listen} has bound a port (or given at construction). */
  issuer: string;

  private constructor(stored: StoredKey, privateKey: SigningKey, issuer: string) {
    this.kid = stored.kid;
    this.publicJwk = stored.publicJwk;
    this.#privateKey = privateKey;
    this.issuer = issuer;
  }

  /** A new issuer with a fresh key. */
  static async create(issuer = 'http://127.0.0.1:7400'): Promise<DevIssuer> {
    const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
    const kid = randomUUID();
    const stored: StoredKey = {
      kid,
      privateJwk: { ...(await exportJWK(privateKey)), kid, alg: 'ES256' },
      publicJwk: { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' },
    };
    return new DevIssuer(stored, privateKey, issuer);
  }

  /** Loads the issuer key kept in `file`, creating it on first use (so `fleet token` and `fleet start` agree). */
  static async fromFile(file: string, issuer = 'http://127.0.0.1:7400'): Promise<DevIssuer> {
    let stored: StoredKey;
    try {
      stored = JSON.parse(readFileSync(file, 'utf8')) as StoredKey;
    } catch {
      const fresh = await DevIssuer.create(issuer);
      stored = { kid: fresh.kid, privateJwk: await exportJWK(fresh.#privateKey), publicJwk: fresh.publicJwk };
      stored.privateJwk = { ...stored.privateJwk, kid: fresh.kid, alg: 'ES256' };
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, JSON.stringify(stored), { mode: 0o600 });
    }
    const key = (await importJWK(stored.privateJwk, 'ES256')) as SigningKey;
    return new DevIssuer(stored, key, issuer);
  }

  /** The JSON Web Key Set verifiers fetch. */
  get jwks(): { keys: JWK[] } {
    return { keys: [this.publicJwk] };
  }

  /** Signs a token with the given claims. */
  async mint(o: MintOptions): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    const payload: JWTPayload = { ...o.extra };
    if (o.roles) payload.roles = o.roles;
    if (o.scope !== undefined) payload.scope = o.scope;
    if (o.tenant) payload.tenant = o.tenant;
    if (o.user) payload.user = o.user;
    if (o.sid) payload.sid = o.sid;
    const jwt = new SignJWT(payload)
      .setProtectedHeader({ alg: 'ES256', kid: this.kid, typ: 'JWT' })
      .setIssuer(o.issuer ?? this.issuer)
      .setSubject(o.sub)
      .setAudience(o.aud)
      .setIssuedAt(now)
      .setJti(randomUUID())
      .setExpirationTime(now + (o.ttlSeconds ?? 3600));
    if (o.nbfSeconds) jwt.setNotBefore(now + o.nbfSeconds);
    return jwt.sign(this.#privateKey);
  }

  /**
   * Signs an approver token: the approvals audience, the approver scope, no roles, no agent session.
   * Approvals APIs accept only this class of token; /mcp refuses it (wrong audience).
   */
  mintApprover(o: ApproverMintOptions): Promise<string> {
    return this.mint({
      sub: o.sub,
      aud: o.aud,
      scope: o.scope ?? 'mcp:approve',
      ...(o.tenant ? { tenant: o.tenant } : {}),
      ...(o.ttlSeconds !== undefined ? { ttlSeconds: o.ttlSeconds } : {}),
      ...(o.issuer ? { issuer: o.issuer } : {}),
      ...(o.extra || o.groups || o.preferredUsername !== undefined
        ? {
            extra: {
              ...(o.preferredUsername !== undefined ? { preferred_username: o.preferredUsername } : {}),
              ...(o.groups ? { groups: [...o.groups] } : {}),
              ...o.extra,
            },
          }
        : {}),
    });
  }

  /** Serves `/.well-known/jwks.json` and OpenID discovery on host:port (0 = any free port). */
  async listen(port = 0, host = '127.0.0.1'): Promise<string> {
    const server = createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0];
      if (path === '/.well-known/jwks.json') {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(this.jwks));
      } else if (
        path === '/.well-known/openid-configuration' ||
        path === '/.well-known/oauth-authorization-server'
      ) {
        res
          .writeHead(200, { 'content-type': 'application/json' })
          .end(JSON.stringify({ issuer: this.issuer, jwks_uri: `${this.issuer}/.well-known/jwks.json` }));
      } else {
        res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not_found"}');
      }
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
    this.#server = server;
    const address = server.address();
    const bound = typeof address === 'object' && address ? address.port : port;
    if (port === 0) this.issuer = `http://${host}:${bound}`;
    return this.issuer;
  }

  /** The JWKS URL verifiers should use. */
  get jwksUrl(): string {
    return `${this.issuer}/.well-known/jwks.json`;
  }

  /** Stops serving. */
  async close(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
