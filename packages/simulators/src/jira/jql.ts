// The slice of JQL the simulator understands: `project = X`, `key = X`, `issue.property[k].path = "v"`,
// AND-combined, optional ORDER BY; anything else is a 400 as Jira gives for a query it cannot parse.
import { issueJson, JiraError, list } from './issues.js';
import type { JiraIssue, JiraProject } from './seed.js';

type Q = Record<string, string | string[] | undefined>;

/** A JQL query Jira would refuse; the message is Jira's `errorMessages` entry. */
export class JqlError extends Error {}

type Clause =
  | { field: 'project' | 'key'; value: string }
  | { field: 'property'; key: string; path: string[]; value: string };

const VALUE = String.raw`(?:"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)'|([A-Za-z0-9_.@-]+))`;
const CLAUSE = new RegExp(
  String.raw`^\s*(project|key|issue\.property\[([A-Za-z0-9_.:-]+)\]((?:\.[A-Za-z0-9_]+)*))\s*=\s*${VALUE}\s*$`,
  'i',
);

/** Parses the query into clauses; throws JqlError for anything outside the supported slice. */
export function parseJql(jql: string): Clause[] {
  const body = jql.replace(/\s+ORDER\s+BY\s+[A-Za-z]+(\s+(ASC|DESC))?\s*$/i, '').trim();
  if (!body) return [];
  return body.split(/\s+AND\s+/i).map((part) => {
    const m = CLAUSE.exec(part);
    if (!m) throw new JqlError(`Error in the JQL Query: the simulator cannot parse '${part.trim()}'.`);
    const value = (m[4] ?? m[5] ?? m[6] ?? '').replace(/\\(.)/g, '$1');
    const field = m[1]!.toLowerCase();
    if (field === 'project' || field === 'key') return { field, value };
    return { field: 'property', key: m[2]!, path: m[3]!.split('.').filter(Boolean), value };
  });
}

function at(v: unknown, path: string[]): unknown {
  let cur = v;
  for (const p of path)
    cur = cur && typeof cur === 'object' ? (cur as Record<string, unknown>)[p] : undefined;
  return cur;
}

/** Whether the issue matches every clause. */
export function matches(issue: JiraIssue, clauses: Clause[]): boolean {
  return clauses.every((c) => {
    if (c.field !== 'property') {
      const have = c.field === 'project' ? issue.project : issue.key;
      return have.toLowerCase() === c.value.toLowerCase();
    }
    if (!issue.properties.has(c.key)) return false;
    const v = at(issue.properties.get(c.key), c.path);
    return v !== undefined && v !== null && String(v) === c.value;
  });
}

/** The project keys the query names (Jira refuses a query naming a project that does not exist). */
export function projectsNamed(clauses: Clause[]): string[] {
  return clauses.flatMap((c) => (c.field === 'project' ? [c.value] : []));
}

/** The enhanced search (`/rest/api/3/search/jql`): newest first, paged with `nextPageToken`. */
export function searchIssues(q: Q, projects: JiraProject[], issues: JiraIssue[], url: string) {
  const jql = typeof q.jql === 'string' ? q.jql : '';
  let clauses: ReturnType<typeof parseJql>;
  try {
    clauses = parseJql(jql);
  } catch (e) {
    throw new JiraError(400, [(e as JqlError).message]);
  }
  if (!clauses.length)
    throw new JiraError(400, [
      'Unbounded JQL queries are not allowed here. Please add a search restriction to your query.',
    ]);
  for (const p of projectsNamed(clauses)) {
    if (!projects.some((x) => x.key.toLowerCase() === p.toLowerCase()))
      throw new JiraError(400, [`The value '${p}' does not exist for the field 'project'.`]);
  }
  const found = issues.filter((i) => matches(i, clauses)).reverse();
  const start = q.nextPageToken ? Number(Buffer.from(String(q.nextPageToken), 'base64').toString()) || 0 : 0;
  const max = Math.min(Number(q.maxResults) || 50, 5000);
  const page = found.slice(start, start + max);
  const fields = list(q.fields) ?? ['id'];
  const more = start + max < found.length;
  return {
    issues: page.map((i) => issueJson(url, projects, i, fields, list(q.properties))),
    isLast: !more,
    ...(more ? { nextPageToken: Buffer.from(String(start + max)).toString('base64') } : {}),
  };
}
