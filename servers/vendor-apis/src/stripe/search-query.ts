// Typed customer filters turned into Stripe's search query language: each value double-quoted with
// `\` and `"` escaped, so whatever a value holds (quotes, AND/OR, other field names) it stays one
// clause's value and can add no clause of its own (the search counterpart of THREATS C17/V8).

/** A customer search's filters, as the tool accepts them. */
export interface CustomerFilters {
  email?: string;
  name?: string;
  nameContains?: string;
}

/** A value as a Stripe search string literal. */
export function quoteSearchValue(v: string): string {
  return `"${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/** The query for the filters (joined by AND); throws when there is none. */
export function customerSearchQuery(f: CustomerFilters): string {
  const clauses: string[] = [];
  if (f.email !== undefined) clauses.push(`email:${quoteSearchValue(f.email)}`);
  if (f.name !== undefined) clauses.push(`name:${quoteSearchValue(f.name)}`);
  if (f.nameContains !== undefined) clauses.push(`name~${quoteSearchValue(f.nameContains)}`);
  if (clauses.length === 0) throw new Error('customerSearchQuery: no filter');
  return clauses.join(' AND ');
}
