// HubSpot CRM search as the simulator evaluates it: filterGroups (OR) of filters (AND) with HubSpot's
// operators, a free-text `query`, sorts, `properties`, `limit` (≤ 200) and `after` paging (≤ 10,000
// results), and HubSpot's limits (5 groups, 10 filters per group, 25 filters in all).
import type { HubSpotObject } from './seed.js';

/** A request HubSpot would refuse (400 VALIDATION_ERROR). */
export class SearchError extends Error {}

/** HubSpot's documented search limits. */
export const SEARCH_LIMITS = {
  maxLimit: 200,
  maxGroups: 5,
  maxFiltersPerGroup: 10,
  maxFilters: 25,
  maxResults: 10_000,
};

const OPERATORS = new Set([
  'EQ',
  'NEQ',
  'LT',
  'LTE',
  'GT',
  'GTE',
  'BETWEEN',
  'IN',
  'NOT_IN',
  'HAS_PROPERTY',
  'NOT_HAS_PROPERTY',
  'CONTAINS_TOKEN',
  'NOT_CONTAINS_TOKEN',
]);

interface Filter {
  propertyName: string;
  operator: string;
  value?: unknown;
  highValue?: unknown;
  values?: unknown[];
}

/** The search body after HubSpot's checks. */
export interface SearchRequest {
  groups: Filter[][];
  query?: string;
  sorts: { propertyName: string; direction: 'ASCENDING' | 'DESCENDING' }[];
  properties?: string[];
  limit: number;
  after: number;
}

/** Checks a search body the way HubSpot does; throws SearchError with HubSpot-like words. */
export function parseSearch(body: unknown): SearchRequest {
  const b = (body && typeof body === 'object' ? body : {}) as Record<string, unknown>;
  const groupsIn = (b.filterGroups ?? []) as unknown;
  if (!Array.isArray(groupsIn)) throw new SearchError('filterGroups must be an array');
  if (groupsIn.length > SEARCH_LIMITS.maxGroups)
    throw new SearchError(
      `Too many filter groups: ${groupsIn.length}. The maximum is ${SEARCH_LIMITS.maxGroups}.`,
    );
  let total = 0;
  const groups = groupsIn.map((g) => {
    const filters = ((g as { filters?: unknown })?.filters ?? []) as unknown;
    if (!Array.isArray(filters)) throw new SearchError('filters must be an array');
    if (filters.length > SEARCH_LIMITS.maxFiltersPerGroup)
      throw new SearchError(
        `Too many filters in a group. The maximum is ${SEARCH_LIMITS.maxFiltersPerGroup}.`,
      );
    total += filters.length;
    return filters.map((f) => {
      const filter = f as Filter;
      if (typeof filter?.propertyName !== 'string' || !OPERATORS.has(filter.operator))
        throw new SearchError(`Invalid filter: operator ${String(filter?.operator)} is not supported.`);
      return filter;
    });
  });
  if (total > SEARCH_LIMITS.maxFilters)
    throw new SearchError(`Too many filters: ${total}. The maximum is ${SEARCH_LIMITS.maxFilters}.`);
  const limit = b.limit === undefined ? 10 : Number(b.limit);
  if (!Number.isInteger(limit) || limit < 0 || limit > SEARCH_LIMITS.maxLimit)
    throw new SearchError(`limit must be between 0 and ${SEARCH_LIMITS.maxLimit}`);
  const after = b.after === undefined || b.after === null || b.after === '' ? 0 : Number(b.after);
  if (!Number.isInteger(after) || after < 0) throw new SearchError('after must be a paging cursor');
  if (after + limit > SEARCH_LIMITS.maxResults)
    throw new SearchError(`Search results are limited to ${SEARCH_LIMITS.maxResults} records.`);
  const sorts = ((b.sorts ?? []) as unknown[]).map((s) => {
    if (typeof s === 'string')
      return s.startsWith('-')
        ? { propertyName: s.slice(1), direction: 'DESCENDING' as const }
        : { propertyName: s, direction: 'ASCENDING' as const };
    const o = s as { propertyName?: string; direction?: string };
    return {
      propertyName: String(o.propertyName ?? 'hs_object_id'),
      direction: o.direction === 'DESCENDING' ? ('DESCENDING' as const) : ('ASCENDING' as const),
    };
  });
  return {
    groups,
    ...(typeof b.query === 'string' && b.query !== '' ? { query: b.query } : {}),
    sorts,
    ...(Array.isArray(b.properties) ? { properties: b.properties.map(String) } : {}),
    limit,
    after,
  };
}

const lower = (v: unknown) => String(v ?? '').toLowerCase();
const num = (v: unknown) => (v === null || v === undefined || v === '' ? Number.NaN : Number(v));

/** CONTAINS_TOKEN: the value's words (or the whole value) match the token; `*` is HubSpot's wildcard. */
function containsToken(actual: string, token: string): boolean {
  const pattern = new RegExp(
    `^${token
      .toLowerCase()
      .split('*')
      .map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}$`,
    's',
  );
  const words = actual.toLowerCase().split(/[^\p{L}\p{N}@._-]+/u);
  return pattern.test(actual.toLowerCase()) || words.some((w) => pattern.test(w));
}

function matches(o: HubSpotObject, f: Filter): boolean {
  const raw = f.propertyName === 'hs_object_id' ? o.id : o.properties[f.propertyName];
  const has = raw !== null && raw !== undefined && raw !== '';
  const actual = has ? String(raw) : '';
  const values = (f.values ?? []).map(lower);
  const cmp = () => {
    const a = num(actual);
    const v = num(f.value);
    return Number.isNaN(a) || Number.isNaN(v) ? actual.localeCompare(String(f.value ?? '')) : a - v;
  };
  switch (f.operator) {
    case 'EQ':
      return has && lower(actual) === lower(f.value);
    case 'NEQ':
      return lower(actual) !== lower(f.value);
    case 'LT':
      return has && cmp() < 0;
    case 'LTE':
      return has && cmp() <= 0;
    case 'GT':
      return has && cmp() > 0;
    case 'GTE':
      return has && cmp() >= 0;
    case 'BETWEEN':
      return has && num(actual) >= num(f.value) && num(actual) <= num(f.highValue);
    case 'IN':
      return has && values.includes(lower(actual));
    case 'NOT_IN':
      return !values.includes(lower(actual));
    case 'HAS_PROPERTY':
      return has;
    case 'NOT_HAS_PROPERTY':
      return !has;
    case 'CONTAINS_TOKEN':
      return has && containsToken(actual, String(f.value ?? ''));
    case 'NOT_CONTAINS_TOKEN':
      return !has || !containsToken(actual, String(f.value ?? ''));
    default:
      return false;
  }
}

/** The objects a search selects, sorted; `total` counts all of them, `page` is the requested slice. */
export function runSearch(
  objects: Iterable<HubSpotObject>,
  req: SearchRequest,
  textProperties: readonly string[],
): { total: number; page: HubSpotObject[]; next?: number } {
  let hits = [...objects].filter((o) => !o.archived);
  if (req.groups.length) hits = hits.filter((o) => req.groups.some((g) => g.every((f) => matches(o, f))));
  if (req.query) {
    const q = req.query.toLowerCase();
    hits = hits.filter((o) => textProperties.some((p) => lower(o.properties[p]).includes(q)));
  }
  const sorts = req.sorts.length
    ? req.sorts
    : [{ propertyName: 'hs_object_id', direction: 'ASCENDING' as const }];
  hits.sort((a, b) => {
    for (const s of sorts) {
      const va = a.properties[s.propertyName] ?? '';
      const vb = b.properties[s.propertyName] ?? '';
      const na = num(va);
      const nb = num(vb);
      const d = Number.isNaN(na) || Number.isNaN(nb) ? String(va).localeCompare(String(vb)) : na - nb;
      if (d !== 0) return s.direction === 'DESCENDING' ? -d : d;
    }
    return 0;
  });
  const page = hits.slice(req.after, req.after + req.limit);
  const next = req.after + req.limit < hits.length ? req.after + req.limit : undefined;
  return { total: hits.length, page, ...(next !== undefined ? { next } : {}) };
}
