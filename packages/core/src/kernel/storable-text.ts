// Text the fleet database cannot store as it is: PostgreSQL refuses U+0000 in `text` and `jsonb`
// (a request reaching it would fail as an internal error), and a lone UTF-16 surrogate has no UTF-8
// form (it would be stored as U+FFFD, so what is stored would differ from what was checked or
// approved). Both are refused as bad input wherever a request's text may reach the database.

/** Why `s` cannot be stored as it is, or undefined when it can. */
export function unstorableText(s: string): 'nul' | 'lone_surrogate' | undefined {
  if (s.includes('\u0000')) return 'nul';
  if (!s.isWellFormed()) return 'lone_surrogate';
  return undefined;
}

/** What to tell a caller about {@link unstorableText}'s answer. */
export const UNSTORABLE_TEXT = {
  nul: 'a NUL character (U+0000)',
  lone_surrogate: 'an unpaired UTF-16 surrogate',
} as const;
