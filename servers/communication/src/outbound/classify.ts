// The flow guard's view of a planned send (issue 17): each resolved destination is the company's own
// (`internal`) or not (`external`). Email: internal only when the recipient's domain is one of the
// policy's `flow.internal.emailDomains` or a subdomain of one (no list: every address is external).
// Slack: external when the channel is shared with other organisations (Slack Connect), which the
// planner carries. Teams channels and Jira projects are configured by the company: internal.
import type { OutboundPlan } from './plan.js';

/** One classified destination (core's OutboundDestination). */
export interface ClassifiedDestination {
  id: string;
  to: 'internal' | 'external';
}

/**
 * Whether an email address is the company's own: its domain (after the last `@`, compared in lower
 * case) equals an internal domain or ends with `.<domain>`. Anything else is external, look-alikes
 * included: `example.com.evil.io`, `exampl3.com`, `xn--exmple-cua.com`, `example.com.` (a trailing
 * dot) and Unicode spellings are not `example.com`. An address without a domain is external.
 */
export function isInternalEmail(address: string, internalDomains: readonly string[]): boolean {
  const at = address.lastIndexOf('@');
  if (at < 0) return false;
  const domain = address.slice(at + 1).toLowerCase();
  if (domain === '') return false;
  return internalDomains.some((d) => {
    const own = d.toLowerCase();
    return own !== '' && (domain === own || domain.endsWith(`.${own}`));
  });
}

/** The destinations of a plan, each classified internal or external. */
export function classifyDestinations(
  plan: Pick<OutboundPlan, 'destinations' | 'externallyShared'>,
  internalDomains: readonly string[],
): ClassifiedDestination[] {
  const shared = new Set(plan.externallyShared ?? []);
  return plan.destinations.map((id) => {
    const colon = id.indexOf(':');
    const system = colon < 0 ? '' : id.slice(0, colon);
    const rest = colon < 0 ? id : id.slice(colon + 1);
    switch (system) {
      case 'email':
        return { id, to: isInternalEmail(rest, internalDomains) ? 'internal' : 'external' };
      case 'slack':
        return { id, to: shared.has(id) ? 'external' : 'internal' };
      case 'teams':
      case 'jira':
        return { id, to: 'internal' };
      default:
        // A destination of a kind this table does not know is treated as leaving the company.
        return { id, to: 'external' };
    }
  });
}
