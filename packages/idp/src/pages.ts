// The IdP's own pages, rendered on the server: no script at all, one nonce'd style block, and a
// Content-Security-Policy that allows nothing else (no framing, forms only to this IdP and the
// client being signed in to).
import { randomBytes } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { DevUser } from './users.js';

/** Escapes text for HTML element content and double-quoted attributes. */
export function esc(value: unknown): string {
  return String(value ?? '').replace(
    /[&<>"'`]/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;', '`': '&#96;' })[c]!,
  );
}

const STYLE = `
body{font:15px/1.45 system-ui,sans-serif;background:#f4f5f7;color:#1d2330;margin:0}
main{max-width:30rem;margin:3rem auto;background:#fff;border:1px solid #d8dce3;border-radius:8px;padding:1.5rem 2rem}
h1{font-size:1.25rem;margin:0 0 .25rem}
.badge{display:inline-block;background:#fff3c4;border:1px solid #e6c200;border-radius:4px;padding:.1rem .4rem;font-size:.8rem;font-weight:600}
.client{background:#eef3ff;border:1px solid #c7d5f5;border-radius:6px;padding:.6rem .8rem;margin:1rem 0}
.error{background:#fdecec;border:1px solid #e5a5a5;color:#8a1f1f;border-radius:6px;padding:.6rem .8rem;margin:1rem 0}
label{display:block;margin:.6rem 0 .2rem;font-weight:600}
input[type=text],input[type=password]{width:100%;box-sizing:border-box;padding:.45rem;border:1px solid #b9c0cc;border-radius:4px;font:inherit}
button{margin-top:1rem;padding:.5rem 1.2rem;font:inherit;border:0;border-radius:4px;background:#2451b7;color:#fff;cursor:pointer}
button.secondary{background:#6b7280}
table{border-collapse:collapse;width:100%;margin-top:.5rem;font-size:.9rem}
td,th{text-align:left;border-bottom:1px solid #e3e6eb;padding:.25rem .3rem}
code{background:#f0f1f4;padding:0 .25rem;border-radius:3px}
small{color:#5b6475}
`;

/**
 * What every page of the IdP says about itself in headers. `scriptHashes` ('sha256-…' sources) are
 * for oidc-provider's own auto-submitting form pages, the only pages with a script.
 */
export function securityHeaders(
  nonce: string,
  formTargets: readonly string[],
  scriptHashes: readonly string[] = [],
): Record<string, string> {
  const forms = ["'self'", ...new Set(formTargets)].join(' ');
  return {
    'content-security-policy': [
      "default-src 'none'",
      ...(scriptHashes.length ? [`script-src ${scriptHashes.map((h) => `'${h}'`).join(' ')}`] : []),
      `style-src 'nonce-${nonce}'`,
      "img-src 'self'",
      `form-action ${forms}`,
      "frame-ancestors 'none'",
      "base-uri 'none'",
    ].join('; '),
    'x-frame-options': 'DENY',
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'cache-control': 'no-store',
    'cross-origin-opener-policy': 'same-origin',
  };
}

/** A fresh nonce for one page's style block. */
export function newNonce(): string {
  return randomBytes(16).toString('base64url');
}

function layout(nonce: string, title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${esc(title)}</title><style nonce="${nonce}">${STYLE}</style></head>
<body><main>${body}</main></body></html>`;
}

/** Writes an HTML page with the IdP's security headers. */
export function sendPage(
  res: ServerResponse,
  status: number,
  html: (nonce: string) => string,
  formTargets: readonly string[] = [],
): void {
  const nonce = newNonce();
  const body = html(nonce);
  res.writeHead(status, {
    ...securityHeaders(nonce, formTargets),
    'content-type': 'text/html; charset=utf-8',
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
}

/** What the login page shows about the request it answers. */
export interface LoginView {
  uid: string;
  clientId: string;
  clientName: string | undefined;
  /** The resource (audience) the client asks a token for, if any. */
  resource: string | undefined;
  scope: string | undefined;
  users: readonly DevUser[];
  approverGroup: string | undefined;
  error?: string;
  userName?: string;
}

/** The login page: it says it is the LOCAL dev IdP, names the client asking, lists the dev users. */
export function loginPage(v: LoginView): (nonce: string) => string {
  const rows = v.users
    .map((u) => {
      const approver = v.approverGroup ? u.groups.includes(v.approverGroup) : false;
      return `<tr><td><code>${esc(u.userName)}</code></td><td><code>${esc(u.password)}</code></td><td>${esc(
        u.displayName,
      )}</td><td>${approver ? 'approver' : 'not an approver'}</td></tr>`;
    })
    .join('');
  const who = v.clientName
    ? `${esc(v.clientName)} (<code>${esc(v.clientId)}</code>)`
    : `<code>${esc(v.clientId)}</code>`;
  return (nonce) =>
    layout(
      nonce,
      'Sign in — local dev IdP (mcp-fleet)',
      `<h1>Sign in to the local fleet</h1>
<span class="badge">LOCAL dev IdP — development only, not for production</span>
<div class="client" id="client"><strong>${who}</strong> is asking you to sign in${
        v.resource ? ` for a token to <code>${esc(v.resource)}</code>` : ''
      }${v.scope ? ` (scope <code>${esc(v.scope)}</code>)` : ''}. Consent is granted automatically on this local IdP.</div>
${v.error ? `<div class="error" role="alert" id="error">${esc(v.error)}</div>` : ''}
<form method="post" action="/interaction/${esc(v.uid)}/login" autocomplete="off">
<label for="username">User name</label>
<input type="text" id="username" name="username" value="${esc(v.userName ?? '')}" required autofocus>
<label for="password">Password</label>
<input type="password" id="password" name="password" required>
<button type="submit">Sign in</button>
</form>
<form method="post" action="/interaction/${esc(v.uid)}/abort"><button type="submit" class="secondary">Cancel</button></form>
<h2>Dev users</h2>
<table><thead><tr><th>user</th><th>password</th><th>name</th><th>approvals</th></tr></thead><tbody>${rows}</tbody></table>
<p><small>These users exist only on this machine's dev IdP. In production the fleet points AUTH_ISSUER and CONSOLE_OIDC_ISSUER at the company's IdP.</small></p>`,
    );
}

/** A plain message page (errors, logout). */
export function messagePage(title: string, message: string, extra = ''): (nonce: string) => string {
  return (nonce) =>
    layout(
      nonce,
      `${title} — local dev IdP`,
      `<h1>${esc(title)}</h1><span class="badge">LOCAL dev IdP</span><p>${esc(message)}</p>${extra}`,
    );
}
