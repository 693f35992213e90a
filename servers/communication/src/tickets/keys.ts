// Ticket identifiers as the tools accept them (exact, uppercase, no folding) and JQL string quoting,
// so no text from a model is ever read by Jira as JQL syntax.

/** A Jira project key: uppercase letter, then 1–19 uppercase letters, digits or "_". Nothing is folded. */
export const PROJECT_KEY = /^[A-Z][A-Z0-9_]{1,19}$/;

/** An issue key: a project key, "-", a number without leading zero (at most 10 digits). */
export const ISSUE_KEY = /^[A-Z][A-Z0-9_]{1,19}-[1-9][0-9]{0,9}$/;

/** The project key of an issue key that matched {@link ISSUE_KEY}. */
export function projectOfIssueKey(key: string): string {
  return key.slice(0, key.lastIndexOf('-'));
}

/**
 * A JQL string literal of `text`: double-quoted, with `\` and `"` escaped and control characters
 * written as \uXXXX escapes, so the value can never end the literal.
 */
export function jqlString(text: string): string {
  let out = '"';
  for (const ch of text) {
    const cp = ch.codePointAt(0) as number;
    if (ch === '"' || ch === '\\') out += `\\${ch}`;
    else if (cp < 0x20 || cp === 0x7f) out += `\\u${cp.toString(16).padStart(4, '0')}`;
    else out += ch;
  }
  return `${out}"`;
}
