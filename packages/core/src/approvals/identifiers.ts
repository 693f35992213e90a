// When two identifiers name the same person or client. IdPs spell one person several ways (letter
// case, fullwidth forms, stray spaces, invisible characters), so identifiers are compared by a key:
// default-ignorable characters removed, NFKC, full case fold, trimmed. Used only to refuse (an
// approver who might be the requester is refused), so folding too much errs on the safe side.

const IGNORABLE = /\p{Default_Ignorable_Code_Point}/gu;

/** The comparison key of an identifier. */
export function identifierKey(id: string): string {
  // toUpperCase then toLowerCase approximates Unicode full case folding (ß → ss, ﬁ → fi, K → k).
  const folded = id.normalize('NFKC').replace(IGNORABLE, '').toUpperCase().toLowerCase();
  return folded.normalize('NFKC').replace(IGNORABLE, '').trim();
}

/** True when `id` names the same as any of `others` (by {@link identifierKey}). */
export function matchesAny(id: string | null | undefined, others: readonly string[]): boolean {
  if (id === null || id === undefined) return false;
  const key = identifierKey(id);
  if (key === '') return false;
  return others.some((o) => identifierKey(o) === key);
}
