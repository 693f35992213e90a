// The `communication.tickets` rules applied to one call: which project, issue type and extra fields
// a grant allows, decided per granted value (a call fits when ONE value allows all of it).
import { ToolError } from '@mcp-fleet/core';
import type { TicketsRule } from '../dimensions.js';
import { ISSUE_KEY, PROJECT_KEY, projectOfIssueKey } from './keys.js';

/** The extra fields a create may set, as the policy names them. */
export type TicketField = 'priority' | 'labels' | 'components' | 'duedate';

/** What a create asks for, in policy terms. */
export interface CreateAsk {
  project: string;
  issueType: string;
  fields: TicketField[];
}

/** Why `rule` does not allow a create of `ask`, or null when it does. */
export function checkCreate(rule: TicketsRule, ask: CreateAsk): string | null {
  const p = checkProject(rule, ask.project);
  if (p) return p;
  if (!rule.issueTypes.includes(ask.issueType))
    return rule.issueTypes.length
      ? `Issue type "${ask.issueType}" may not be created by your role (allowed: ${rule.issueTypes.join(', ')}; names are exact).`
      : 'Your role may not create tickets in this project.';
  const extra = ask.fields.filter((f) => !rule.fields.includes(f));
  if (extra.length)
    return `Your role may not set ${extra.join(', ')} on tickets (only summary and description${
      rule.fields.length ? `, ${rule.fields.join(', ')}` : ''
    }). Leave ${extra.length > 1 ? 'them' : 'it'} out.`;
  return null;
}

/** Why `rule` does not allow project `project`, or null when it does (exact, case-sensitive). */
export function checkProject(rule: TicketsRule, project: string): string | null {
  if (!PROJECT_KEY.test(project))
    return 'Project keys are uppercase letters, digits and "_", 2–20 characters, starting with a letter (e.g. SUP).';
  if (!rule.projects.includes(project))
    return `Project ${project} is not one your role may use (allowed: ${rule.projects.join(', ')}).`;
  return null;
}

/** Why `rule` does not allow the issue `key` (judged by the project its key names), or null. */
export function checkIssueKey(rule: TicketsRule, key: string): string | null {
  if (!ISSUE_KEY.test(key)) return 'Issue keys look like SUP-123 (uppercase project key, "-", a number).';
  return checkProject(rule, projectOfIssueKey(key));
}

/** The outcome of checking a call against every granted value. */
export type Decision = { ok: true; onSecrets: 'refuse' | 'approval' } | { ok: false; message: string };

/**
 * Decides a call against the granted values (`null` = unconstrained "*"): allowed when one value
 * allows it. Content with secrets is held for approval when a value that allows the call says so,
 * refused otherwise.
 */
export function decide(
  constraints: readonly unknown[] | null,
  check: (rule: TicketsRule) => string | null,
): Decision {
  if (constraints === null) return { ok: true, onSecrets: 'refuse' };
  const rules = constraints as readonly TicketsRule[];
  const reasons: string[] = [];
  let onSecrets: 'refuse' | 'approval' | undefined;
  for (const rule of rules) {
    const why = check(rule);
    if (why === null) onSecrets = onSecrets === 'approval' ? onSecrets : (rule.secrets ?? 'refuse');
    else reasons.push(why);
  }
  if (onSecrets) return { ok: true, onSecrets };
  return { ok: false, message: reasons[0] ?? 'Your role may not use tickets.' };
}

/** Like {@link decide}, but throws the `destination_denied` ToolError a refusal becomes. */
export function allow(constraints: readonly unknown[] | null, check: (rule: TicketsRule) => string | null) {
  const d = decide(constraints, check);
  if (!d.ok) throw new ToolError(`${d.message} Nothing was sent.`, 'destination_denied');
  return d;
}
