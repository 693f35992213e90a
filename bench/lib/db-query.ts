// The db section's SELECT: one customer row by primary key, plus the request's own number as a
// column, so every request's SQL is unique (no result cache can answer it) and every answer is checkable.

/** Customers the queries pick from (the bench warehouse has at least this many). */
export const CUSTOMERS = 200;

/** The SELECT of request n. */
export function customerSql(n: number): string {
  return `SELECT id, name, country, segment, ${n} AS n FROM sales.customers WHERE id = ${1 + (n % CUSTOMERS)}`;
}

/** The row request n must return, given the customers table as [id, name, country, segment] rows in id order. */
export function expectedRow(customers: unknown[][], n: number): unknown[] {
  return [...(customers[n % CUSTOMERS] ?? []), n];
}
