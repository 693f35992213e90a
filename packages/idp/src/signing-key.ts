// The IdP's signing key: the same ES256 key (and kid) `fleet token` signs with, kept in
// .fleet/dev-issuer.json in the DevIssuer's format, so dev tokens and IdP tokens verify against one JWKS.
import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { exportJWK, generateKeyPair, type JWK } from 'jose';

/** The DevIssuer's key file: `{kid, privateJwk, publicJwk}`. */
interface StoredKey {
  kid: string;
  privateJwk: JWK;
  publicJwk: JWK;
}

/** Where the IdP's key comes from: a private ES256 JWK with its kid, or the DevIssuer's key file. */
export type SigningKeySource = JWK | { file: string };

/** The private JWK (kid, alg ES256, use sig) to sign with. A missing key file is created, as `fleet token` would. */
export async function loadSigningKey(source: SigningKeySource): Promise<JWK> {
  let jwk: JWK;
  if ('file' in source && typeof source.file === 'string') {
    let stored: StoredKey;
    try {
      stored = JSON.parse(readFileSync(source.file, 'utf8')) as StoredKey;
    } catch {
      const { privateKey } = await generateKeyPair('ES256', { extractable: true });
      const kid = randomUUID();
      const privateJwk = { ...(await exportJWK(privateKey)), kid, alg: 'ES256' };
      const { d: _d, ...publicJwk } = privateJwk;
      stored = { kid, privateJwk, publicJwk: { ...publicJwk, use: 'sig' } };
      mkdirSync(dirname(source.file), { recursive: true });
      writeFileSync(source.file, JSON.stringify(stored), { mode: 0o600 });
    }
    jwk = { ...stored.privateJwk, kid: stored.privateJwk.kid ?? stored.kid };
  } else {
    jwk = source as JWK;
  }
  if (jwk.kty !== 'EC' || jwk.crv !== 'P-256' || !jwk.d || !jwk.kid) {
    throw new Error('the IdP signing key must be a private ES256 (EC P-256) JWK with a kid');
  }
  return { ...jwk, alg: 'ES256', use: 'sig' };
}
