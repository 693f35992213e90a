// A minimal browser for the local IdP's login page: follows redirects with a cookie jar, fills the
// login form, and stops at the first redirect that leaves the IdP (the client's redirect URI).
// Run as a program (`node --import tsx login-driver.ts <authorization URL>`) it is the fake browser
// `mcp-remote` opens: it signs in as $FLEET_LOGIN_USER (default carol) and calls the client's callback.
import { appendFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

interface Cookie {
  name: string;
  value: string;
  path: string;
}

/** A cookie jar for one origin (paths honoured, expiry by Max-Age=0 only). */
export class CookieJar {
  readonly #cookies = new Map<string, Cookie>();

  store(res: Response): void {
    for (const line of res.headers.getSetCookie()) {
      const [pair, ...attrs] = line.split(';');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq).trim();
      const value = pair!.slice(eq + 1).trim();
      let path = '/';
      let expired = false;
      for (const a of attrs) {
        const [k, v] = a.split('=').map((s) => s.trim());
        if (k?.toLowerCase() === 'path' && v) path = v;
        if (k?.toLowerCase() === 'max-age' && Number(v) <= 0) expired = true;
        if (k?.toLowerCase() === 'expires' && v && Date.parse(v) < Date.now()) expired = true;
      }
      const key = `${name}|${path}`;
      if (expired || value === '') this.#cookies.delete(key);
      else this.#cookies.set(key, { name, value, path });
    }
  }

  header(url: URL): string {
    return [...this.#cookies.values()]
      .filter(
        (c) =>
          url.pathname === c.path || url.pathname.startsWith(c.path.endsWith('/') ? c.path : `${c.path}/`),
      )
      .map((c) => `${c.name}=${c.value}`)
      .join('; ');
  }
}

/** One page the driver saw. */
export interface Seen {
  url: string;
  status: number;
  headers: Headers;
  body: string;
}

/** The result of a sign-in: where the IdP sent the browser at the end, and what it saw on the way. */
export interface SignInResult {
  /** The first URL outside the IdP (the client's redirect URI with `code`, or with `error`). */
  redirect: URL;
  pages: Seen[];
}

/**
 * Opens `authorizationUrl`, signs in as `user`/`password` on the login page and follows the IdP's
 * redirects until one leaves its origin. Throws when the login page refuses (with the page text).
 */
export async function signIn(
  authorizationUrl: string,
  user: string,
  password: string,
  jar = new CookieJar(),
): Promise<SignInResult> {
  const idp = new URL(authorizationUrl).origin;
  const pages: Seen[] = [];
  let url = new URL(authorizationUrl);
  let method = 'GET';
  let body: string | undefined;
  for (let hop = 0; hop < 20; hop++) {
    const res = await fetch(url, {
      method,
      redirect: 'manual',
      headers: {
        cookie: jar.header(url),
        ...(body ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
      },
      ...(body ? { body } : {}),
    });
    jar.store(res);
    const text = await res.text();
    pages.push({ url: url.toString(), status: res.status, headers: res.headers, body: text });
    const location = res.headers.get('location');
    if (res.status >= 300 && res.status < 400 && location) {
      const next = new URL(location, url);
      if (next.origin !== idp) return { redirect: next, pages };
      url = next;
      method = 'GET';
      body = undefined;
      continue;
    }
    const form = /<form method="post" action="([^"]+\/login)"/.exec(text);
    if (res.status === 200 && form && method === 'GET') {
      url = new URL(form[1]!.replace(/&amp;/g, '&'), url);
      method = 'POST';
      body = new URLSearchParams({ username: user, password }).toString();
      continue;
    }
    throw new Error(
      `sign-in stopped at ${url} (${res.status}): ${text.replace(/<[^>]+>/g, ' ').slice(0, 400)}`,
    );
  }
  throw new Error('sign-in: too many redirects');
}

// As a program: the fake browser for mcp-remote.
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const target = process.argv[2] ?? '';
  const log = (m: string) => {
    if (process.env.FLEET_LOGIN_LOG) appendFileSync(process.env.FLEET_LOGIN_LOG, `${m}\n`);
  };
  log(`open ${target}`);
  signIn(target, process.env.FLEET_LOGIN_USER ?? 'carol', process.env.FLEET_LOGIN_PASSWORD ?? 'dev')
    .then(async ({ redirect }) => {
      log(`callback ${redirect.origin}${redirect.pathname}`);
      const res = await fetch(redirect);
      log(`callback answered ${res.status}`);
    })
    .catch((err: unknown) => {
      log(`failed: ${(err as Error).message}`);
      process.exitCode = 1;
    });
}
