// The communication server's governance steps. At the `checks` slot, before core's limits, idempotency
// and audit, every send is planned (destinations resolved and checked), declared to the flow guard
// (each destination internal or external, the content that leaves) and its content scanned for
// secrets (refused or held for a human, masked in the audit record). At the `beforeExecute` slot, after
// core's idempotency claim and approval use, it is counted per destination: replays and held calls
// never reach it, so they use up no channel's budget.
import { createHash } from 'node:crypto';
import { type GovernedCall, type Step, ToolError } from '@mcp-fleet/core';
import type { Connectors } from '../connectors.js';
import { findSecrets, maskSecrets, type SecretFinding, secretMask, stillHolds } from '../content/secrets.js';
import { classifyDestinations } from '../outbound/classify.js';
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

/** One secret found in a plan's content, with its raw text as written there. */
interface Found extends SecretFinding {
  raw: string;
}

/** The destinations the checks step resolved for a call, for the counting step. */
const planned = new WeakMap<GovernedCall, readonly string[]>();

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

/** What an audit record keeps of a content string of a call refused or held for a secret. */
export const WITHHELD = '[withheld: held a secret]';

/**
 * Masks the audit record's arguments of a call refused or held for a secret: every string at the
 * plan's content paths is withheld whole (a secret may be split over fields: a key header in one, its
 * body in another; only the masks of what the scan found in that string are kept), and anywhere else
 * each found secret's text is masked; a string that still holds one in any normalized form is masked whole.
 */
function maskRecord(c: GovernedCall, plan: OutboundPlan, found: readonly Found[]): void {
  let masked: unknown = structuredClone(c.record.arguments);
  for (const item of plan.content) masked = maskAt(masked, item.path);
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') {
      if (v.startsWith(WITHHELD)) return v;
      let out = v;
      for (const f of found) if (f.raw.length > 0) out = out.split(f.raw).join(secretMask(f));
      out = maskSecrets(out);
      const left = found.find((f) => stillHolds(out, f.secret) || (f.raw.length > 0 && out.includes(f.raw)));
      return left ? secretMask(left) : out;
    }
    if (Array.isArray(v)) return v.map(walk);
    if (v !== null && typeof v === 'object')
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
    return v;
  };
  c.record.arguments = walk(masked) as typeof c.record.arguments;
}

/** A content string withheld: {@link WITHHELD} and the masks of the secrets found in it. */
const withhold = (text: string): string =>
  [WITHHELD, ...[...new Set(findSecrets(text).map(secretMask))]].join(' ');

/** `root` with the string at `path` withheld (no-op when the path holds no string). */
function maskAt(root: unknown, path: readonly (string | number)[]): unknown {
  if (path.length === 0) {
    return typeof root === 'string' ? withhold(root) : root;
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

/** The outbound step (`checks` slot) for the send tools that have a planner in `plans` (others pass through). */
export function outboundStep(plans: Readonly<Record<string, Planner>>): Step {
  return async (c, next) => {
    const planner = plans[c.tool.name];
    if (!planner) return next();
    const p = await plan(c, planner);
    planned.set(c, p.destinations);
    c.detail('destinations', p.destinations);
    c.detail('contentSha256', contentSha256(p));
    // Flow guard (issue 17): where this send goes, each destination the company's own or not, and
    // every text that leaves; core's flow step then weighs it against what the session read.
    c.outbound({
      destinations: classifyDestinations(p, c.rt.policy.current.flow?.internal.emailDomains ?? []),
      content: p.content.map((item) => item.text),
    });

    const found: Found[] = [];
    for (const item of p.content)
      for (const f of findSecrets(item.text)) found.push({ ...f, raw: item.text.slice(f.start, f.end) });
    // A label in one field and its value in the next (`password` | `Tr0ub4dor…`), a key header and its
    // body: the content read as one text too, in plan order.
    const seen = new Set(found.map((f) => `${f.kind}:${f.fingerprint}`));
    for (const sep of [': ', '\n'])
      for (const f of findSecrets(p.content.map((item) => item.text).join(sep)))
        if (!seen.has(`${f.kind}:${f.fingerprint}`)) {
          seen.add(`${f.kind}:${f.fingerprint}`);
          found.push({ ...f, raw: '' });
        }
    if (found.length > 0) {
      maskRecord(c, p, found);
      c.detail('secretsFound', [
        ...new Map(
          found.map((f) => [`${f.kind}:${f.fingerprint}`, { kind: f.kind, fingerprint: f.fingerprint }]),
        ).values(),
      ]);
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
    return next();
  };
}

/**
 * The per-destination count (`beforeExecute` slot): each destination takes
 * COMMUNICATION_DESTINATION_PER_MINUTE sends a minute from all agents together. It runs after core's
 * idempotency claim and approval use, so a replay or a call held for approval is never counted, and a
 * refusal here gives the idempotency key and the approval back.
 */
export function destinationLimitStep(plans: Readonly<Record<string, Planner>>): Step {
  return async (c, next) => {
    const planner = plans[c.tool.name];
    if (!planner) return next();
    const destinations = planned.get(c) ?? (await plan(c, planner)).destinations;
    const perMinute = (c.rt.connectors as Connectors).config.destinationPerMinute;
    const refused = await c.limit(
      [...new Set(destinations)].map((d) => ({
        key: destinationKey(d),
        points: perMinute,
        windowSeconds: 60,
      })),
    );
    if (refused) return refused;
    return next();
  };
}
