// Header checks that run before anything else on /mcp: Host and Origin (DNS rebinding protection).
import type { FastifyReply, FastifyRequest } from 'fastify';

function hostnameOf(hostHeader: string): string {
  // "[::1]:7401" -> "[::1]", "example.com:443" -> "example.com"
  if (hostHeader.startsWith('[')) return hostHeader.slice(0, hostHeader.indexOf(']') + 1).toLowerCase();
  return hostHeader.replace(/:\d+$/, '').toLowerCase();
}

function originHostname(origin: string): string | undefined {
  try {
    const url = new URL(origin);
    return url.hostname.includes(':') ? `[${url.hostname}]` : url.hostname.toLowerCase();
  } catch {
    return undefined;
  }
}

/** Builds the onRequest hook refusing foreign Host and Origin headers with 403. */
export function hostAndOriginGuard(allowedHosts: readonly string[], allowedOrigins: readonly string[]) {
  const hosts = new Set(allowedHosts.map((h) => h.toLowerCase()));
  const origins = new Set(allowedOrigins.map((o) => o.toLowerCase().replace(/\/+$/, '')));
  const refuse = (reply: FastifyReply, message: string) =>
    reply
      .code(403)
      .header('content-type', 'application/json')
      .send(JSON.stringify({ jsonrpc: '2.0', id: null, error: { code: -32000, message } }));

  return async function guard(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const host = request.headers.host;
    if (!host || !hosts.has(hostnameOf(host))) return refuse(reply, 'Forbidden: Host header not allowed');
    const origin = request.headers.origin;
    if (origin !== undefined) {
      const name = originHostname(origin);
      const allowed =
        origins.has(origin.toLowerCase()) || (name !== undefined && (hosts.has(name) || origins.has(name)));
      if (!allowed) return refuse(reply, 'Forbidden: Origin not allowed');
    }
  };
}
