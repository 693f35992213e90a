// Sign-in with OpenID Connect through openid-client 6: authorization code flow with PKCE (S256),
// state and nonce, a confidential client (client_secret_basic). openid-client verifies the ID token
// (signature against the issuer's JWKS, iss, aud, exp, nonce) and the state. The issuer's metadata is
// discovered once, again after a failure. Plain-http issuers are accepted only on loopback (the
// local dev IdP); anything else must be https.
import * as oidc from 'openid-client';
import type { ConsoleConfig } from './config.js';

/** True for http://127.0.0.1, http://[::1] and http://localhost issuers (the local dev IdP). */
export function isLoopbackHttp(url: URL): boolean {
  return url.protocol === 'http:' && ['127.0.0.1', '[::1]', 'localhost'].includes(url.hostname);
}

/** The console's OpenID Connect client. */
export class ConsoleOidc {
  readonly #cfg: ConsoleConfig;
  readonly #redirectUri: string;
  #config: Promise<oidc.Configuration> | undefined;

  constructor(cfg: ConsoleConfig, redirectUri: string) {
    this.#cfg = cfg;
    this.#redirectUri = redirectUri;
  }

  /** Why sign-in cannot work with this configuration, if it cannot. */
  get unconfigured(): string | undefined {
    if (!this.#cfg.issuer) return 'CONSOLE_OIDC_ISSUER (or AUTH_ISSUER) is not set';
    if (!this.#cfg.clientSecret) return 'CONSOLE_OIDC_CLIENT_SECRET is not set';
    return undefined;
  }

  #configuration(): Promise<oidc.Configuration> {
    if (!this.#config) {
      const issuer = new URL(this.#cfg.issuer!);
      const p = oidc.discovery(
        issuer,
        this.#cfg.clientId,
        { client_secret: this.#cfg.clientSecret!, token_endpoint_auth_method: 'client_secret_basic' },
        oidc.ClientSecretBasic(this.#cfg.clientSecret!),
        isLoopbackHttp(issuer) ? { execute: [oidc.allowInsecureRequests], timeout: 10 } : { timeout: 10 },
      );
      this.#config = p;
      p.catch(() => {
        if (this.#config === p) this.#config = undefined;
      });
    }
    return this.#config;
  }

  /** Starts a sign-in: the values to keep and the URL to send the browser to. */
  async start(): Promise<{ state: string; nonce: string; codeVerifier: string; url: string }> {
    const config = await this.#configuration();
    const codeVerifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const nonce = oidc.randomNonce();
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: this.#redirectUri,
      scope: 'openid profile email groups',
      response_type: 'code',
      code_challenge: await oidc.calculatePKCECodeChallenge(codeVerifier),
      code_challenge_method: 'S256',
      state,
      nonce,
    });
    return { state, nonce, codeVerifier, url: url.href };
  }

  /**
   * Finishes a sign-in: exchanges the code of `callbackUrl` (checked against the kept state, PKCE
   * verifier and nonce) and answers the verified ID token's claims. Throws on any failure.
   */
  async finish(
    callbackUrl: URL,
    kept: { state: string; nonce: string; codeVerifier: string },
  ): Promise<Record<string, unknown>> {
    const config = await this.#configuration();
    const tokens = await oidc.authorizationCodeGrant(config, callbackUrl, {
      pkceCodeVerifier: kept.codeVerifier,
      expectedState: kept.state,
      expectedNonce: kept.nonce,
      idTokenExpected: true,
    });
    const claims = tokens.claims();
    if (!claims) throw new Error('no ID token');
    return claims as Record<string, unknown>;
  }
}
