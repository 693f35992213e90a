// The communication server's governance step at the `checks` slot: before core's limits, idempotency
// and audit, every send is planned (destinations resolved and checked), its content scanned for
// secrets (refused or held for a human, masked in the audit record), and counted per destination.
import { createHash } from 'node:crypto';
import { type GovernedCall, type Step, ToolError } from '@mcp-fleet/core';
import type { Connectors } from '../connectors.js';
import { findSecrets, type SecretFinding, secretMask } from '../content/secrets.js';
import type { OutboundPlan, Planner } from '../outbound/plan.js';
import { isUpstreamFailure, upstreamToolError } from '../upstream/failures.js';

/** The sha256 of a plan's content, canonical: each text with its argument path, in plan order. */
export function contentSha256(plan: Pick<OutboundPlan, 'content'>): string {
  const canonical = JSON.stringify(plan.content.map((c) => [c.path.map(String), c.text]));
  return createHash('sha256').update(canonical, 'utf8').digest('hex');
}

/**
 * The per-destination counter key of one canonical destination (hashed when it is not short
 * printable ASCII, as core's counter keys must be).
 */
export const destinationKey = (destination: string): string =>
  /^[\x21-\x7e]{1,250}$/.test(destination)
    ? `communication:dest:${destination}`
    : `communication:dest:sha256:${createHash('sha256').update(destination, 'utf8').digest('hex')}`;

/** One secret found in a plan's content, with the text it was in. */
interface Found extends SecretFinding {
  secret: string;
}

/** Runs the planner of a send tool; its refusals (and upstream failures while resolving) become ToolErrors. */
async function plan(c: GovernedCall, planner: Planner): Promise<OutboundPlan> {
  const signals = [AbortSignal.timeout(c.timeoutMs)];
  if (c.req.cancellation) signals.push(c.req.cancellation.signal);
  try {
    return await planner(c.args, {
      connectors: c.rt.connectors as Connectors,
      constraints: c.decision.constraints,
      signal: AbortSignal.any(signals),
    });
  } catch (err) {
    if (isUpstreamFailure(err)) throw upstreamToolError(err);
    throw err;
  }
}

/**
 * Replaces every found secret in the audit record's arguments: at the plan's content paths (scanned
 * again, as the record holds what the caller sent) and anywhere else the same secret text appears.
 */
function maskRecord(c: GovernedCall, plan: OutboundPlan, found: readonly Found[]): void {
  const args: unknown = structuredClone(c.record.arguments);
  const byText = new Map(found.map((f) => [f.secret, secretMask(f)]));
  const replaceAll = (s: string): string => {
    let out = s;
    for (const [secret, mask] of byText) out = out.split(secret).join(mask);
    return out;
  };
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') return replaceAll(v);
    if (Array.isArray(v)) return v.map(walk);
    if (v !== null && typeof v === 'object')
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
    return v;
  };
  // At the plan's paths first (each string scanned as recorded), then the same secret texts anywhere else.
  let masked = args;
  for (const item of plan.content) masked = maskAt(masked, item.path);
  c.record.arguments = walk(masked) as typeof c.record.arguments;
}

/** `root` with the string at `path` scanned and masked in place (no-op when the path holds no string). */
function maskAt(root: unknown, path: readonly (string | number)[]): unknown {
  if (path.length === 0) {
    if (typeof root !== 'string') return root;
    let out = '';
    let at = 0;
    for (const f of findSecrets(root)) {
      out += root.slice(at, f.start) + secretMask(f);
      at = f.end;
    }
    return out + root.slice(at);
  }
  const [head, ...rest] = path;
  if (Array.isArray(root) && typeof head === 'number' && head < root.length) {
    const copy = [...root];
    copy[head] = maskAt(copy[head], rest);
    return copy;
  }
  if (
    root !== null &&
    typeof root === 'object' &&
    !Array.isArray(root) &&
    Object.hasOwn(root, String(head))
  ) {
    const obj = root as Record<string, unknown>;
    return { ...obj, [String(head)]: maskAt(obj[String(head)], rest) };
  }
  return root;
}

/** Human names of the secret kinds, for the refusal. */
const kindsOf = (found: readonly Found[]): string => [...new Set(found.map((f) => f.kind))].join(', ');

/**
 * The outbound step for the send tools that have a planner in `plans` (other tools pass through).
 * Each destination takes COMMUNICATION_DESTINATION_PER_MINUTE sends a minute from all agents together.
 */
export function outboundStep(plans: Readonly<Record<string, Planner>>): Step {
  return async (c, next) => {
    const planner = plans[c.tool.name];
    if (!planner) return next();
    const p = await plan(c, planner);
    c.detail('destinations', p.destinations);
    c.detail('contentSha256', contentSha256(p));

    const found: Found[] = [];
    for (const item of p.content)
      for (const f of findSecrets(item.text)) found.push({ ...f, secret: item.text.slice(f.start, f.end) });
    if (found.length > 0) {
      maskRecord(c, p, found);
      c.detail(
        'secretsFound',
        found.map((f) => ({ kind: f.kind, fingerprint: f.fingerprint })),
      );
      const kinds = kindsOf(found);
      if (p.onSecrets === 'approval') {
        c.requireApproval(`outbound content holds what looks like a secret (${kinds})`);
      } else {
        throw new ToolError(
          `${c.tool.name} was not sent: its content holds what looks like a secret (${kinds}). Nothing left the company. ` +
            'Remove the secret (refer to it by name, e.g. "the key in the vault") and send again.',
          'outbound_secret',
        );
      }
    }

    // A call that will stop at the approval gate sends nothing now: it is counted when it resumes approved.
    if (c.decision.approvalRequired && c.approvalId === undefined) return next();
    const perMinute = (c.rt.connectors as Connectors).config.destinationPerMinute;
    const refused = await c.limit(
      [...new Set(p.destinations)].map((d) => ({
        key: destinationKey(d),
        points: perMinute,
        windowSeconds: 60,
      })),
    );
    if (refused) return refused;
    return next();
  };
}
