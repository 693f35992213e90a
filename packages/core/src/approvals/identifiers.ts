// When two identifiers name the same person or client. IdPs spell one person several ways (letter
// case, fullwidth forms, accents, stray spaces, invisible characters), so identifiers are compared by
// a key: default-ignorable characters removed, NFKC (fullwidth and compatibility forms), full case
// fold, then NFKD with every combining mark (\p{M}) stripped (so "İ" — I with dot above, which
// lower-cases to i + U+0307 — "é" and "ı" all fold to their base letter), trimmed. Used only to refuse
// (an approver who might be the requester is refused), so folding too much errs on the safe side.

const IGNORABLE = /\p{Default_Ignorable_Code_Point}/gu;
const MARK = /\p{M}/gu;

/** The comparison key of an identifier. */
export function identifierKey(id: string): string {
  // toUpperCase then toLowerCase approximates Unicode full case folding (ß → ss, ﬁ → fi, K → k, ı → i).
  const folded = id.normalize('NFKC').replace(IGNORABLE, '').toUpperCase().toLowerCase();
  return folded.normalize('NFKD').replace(MARK, '').replace(IGNORABLE, '').normalize('NFKC').trim();
}

/** True when `id` names the same as any of `others` (by {@link identifierKey}). */
export function matchesAny(id: string | null | undefined, others: readonly string[]): boolean {
  if (id === null || id === undefined) return false;
  const key = identifierKey(id);
  if (key === '') return false;
  return others.some((o) => identifierKey(o) === key);
}
