// Jira's issue payloads: validating a create request as Jira does (400 with `errors` per field) and the
// JSON of an issue, a comment, a project and the create metadata.
import {
  type Adf,
  adf,
  ISSUE_TYPES,
  isAdf,
  type JiraComment,
  type JiraIssue,
  type JiraProject,
} from './seed.js';

/** A query parameter given once, repeated, or comma-separated, as Jira reads it: its values, or undefined when absent. */
export const list = (v: unknown): string[] | undefined =>
  v === undefined
    ? undefined
    : (Array.isArray(v) ? v : [v])
        .flatMap((x) => String(x).split(','))
        .map((s) => s.trim())
        .filter(Boolean);

/** Jira's 4xx body: `{errorMessages, errors}` with a status. */
export class JiraError extends Error {
  constructor(
    readonly status: number,
    readonly errorMessages: string[],
    readonly errors: Record<string, string> = {},
  ) {
    super(errorMessages[0] ?? Object.values(errors)[0] ?? 'error');
  }
}

/** The account the simulator's API token belongs to. */
export const JIRA_ACCOUNT = {
  accountId: '712020:5e1f7a0c-sim-4c1e-9a4e-agents00001',
  displayName: 'mcp-fleet agents',
};

const ALWAYS = ['project', 'issuetype', 'summary'];

/** A create request's fields checked as Jira does; `v2` accepts a plain-string description. */
export function validateCreate(body: unknown, projects: JiraProject[], v2: boolean) {
  const b = (body ?? {}) as { fields?: Record<string, unknown>; properties?: unknown };
  const fields = b.fields ?? {};
  const errors: Record<string, string> = {};
  const pref = fields.project as { key?: string; id?: string } | undefined;
  const project = projects.find(
    (p) => (pref?.key && p.key === pref.key) || (pref?.id && p.id === String(pref.id)),
  );
  if (!project) errors.project = 'Specify a valid project ID or key';
  const tref = fields.issuetype as { name?: string; id?: string } | undefined;
  const type = Object.values(ISSUE_TYPES).find(
    (t) => (tref?.name && t.name === tref.name) || (tref?.id && t.id === String(tref.id)),
  );
  if (!tref) errors.issuetype = 'Specify an issue type';
  else if (!type || (project && !project.issueTypes.includes(type.name)))
    errors.issuetype = 'Specify a valid issue type';
  const summary = fields.summary;
  if (typeof summary !== 'string' || !summary.trim())
    errors.summary = 'You must specify a summary of the issue.';
  else if (summary.length > 255) errors.summary = 'Summary must be less than 255 characters.';
  else if (/[\r\n]/.test(summary))
    errors.summary = 'The summary is invalid because it contains newline characters.';
  const allowed = new Set([...ALWAYS, ...(type?.fields ?? [])]);
  for (const k of Object.keys(fields)) {
    if (!allowed.has(k))
      errors[k] = `Field '${k}' cannot be set. It is not on the appropriate screen, or unknown.`;
  }
  let description: Adf | null = null;
  if (fields.description != null && allowed.has('description')) {
    if (isAdf(fields.description)) description = fields.description;
    else if (v2 && typeof fields.description === 'string') description = adf(fields.description);
    else
      errors.description =
        'Operation value must be an Atlassian Document (see the Atlassian Document Format)';
  }
  if (
    fields.labels !== undefined &&
    (!Array.isArray(fields.labels) || fields.labels.some((l) => typeof l !== 'string' || /\s/.test(l)))
  ) {
    errors.labels = 'The label must not contain spaces.';
  }
  const priority = (fields.priority as { name?: string } | undefined)?.name ?? 'Medium';
  if (!['Highest', 'High', 'Medium', 'Low', 'Lowest'].includes(priority))
    errors.priority = `Priority name '${priority}' is not valid`;
  const properties: [string, unknown][] = [];
  if (b.properties !== undefined) {
    if (!Array.isArray(b.properties))
      throw new JiraError(400, [
        'Invalid request payload. Refer to the REST API documentation and try again.',
      ]);
    for (const p of b.properties as { key?: unknown; value?: unknown }[]) {
      if (typeof p?.key !== 'string' || !p.key || p.key.length > 255)
        errors.properties = 'The property key must be between 1 and 255 characters.';
      else if (JSON.stringify(p.value ?? null).length > 32_768)
        errors.properties = 'The property value is too long (32768 bytes).';
      else properties.push([p.key, p.value]);
    }
  }
  if (Object.keys(errors).length) throw new JiraError(400, [], errors);
  const extra: Record<string, unknown> = {};
  for (const k of Object.keys(fields))
    if (!['project', 'issuetype', 'summary', 'description', 'labels', 'priority'].includes(k))
      extra[k] = fields[k];
  return {
    project: project!,
    type: type!,
    summary: summary as string,
    description,
    labels: (fields.labels as string[] | undefined) ?? [],
    priority,
    extra,
    properties,
  };
}

/** The JSON of a user as Jira embeds it. */
export function userJson(base: string, name = JIRA_ACCOUNT.displayName) {
  return {
    self: `${base}/rest/api/3/user?accountId=${encodeURIComponent(JIRA_ACCOUNT.accountId)}`,
    accountId: JIRA_ACCOUNT.accountId,
    displayName: name,
    active: true,
    accountType: 'atlassian',
  };
}

/** A comment's JSON; with `withProperties` (`expand=properties`) its entity properties as `[{ key, value }]`. */
export function commentJson(base: string, issue: JiraIssue, c: JiraComment, withProperties = false) {
  return {
    ...(withProperties
      ? { properties: [...(c.properties ?? new Map())].map(([key, value]) => ({ key, value })) }
      : {}),
    self: `${base}/rest/api/3/issue/${issue.id}/comment/${c.id}`,
    id: c.id,
    author: userJson(base, c.author),
    updateAuthor: userJson(base, c.author),
    body: c.body,
    created: c.created,
    updated: c.created,
    jsdPublic: true,
  };
}

/** A project's JSON. */
export function projectJson(base: string, p: JiraProject) {
  return {
    self: `${base}/rest/api/3/project/${p.id}`,
    id: p.id,
    key: p.key,
    name: p.name,
    projectTypeKey: 'software',
    simplified: false,
    style: 'classic',
    isPrivate: false,
  };
}

/** An issue type's JSON. */
export function issueTypeJson(base: string, name: string) {
  const t = ISSUE_TYPES[name]!;
  return {
    self: `${base}/rest/api/3/issuetype/${t.id}`,
    id: t.id,
    name: t.name,
    description: t.description,
    subtask: false,
    hierarchyLevel: 0,
    iconUrl: `${base}/images/icons/issuetypes/${t.name.toLowerCase()}.svg`,
  };
}

/** The create metadata fields of an issue type. */
export function createFields(name: string) {
  const t = ISSUE_TYPES[name]!;
  const schema: Record<string, { type: string; items?: string; system: string }> = {
    project: { type: 'project', system: 'project' },
    issuetype: { type: 'issuetype', system: 'issuetype' },
    summary: { type: 'string', system: 'summary' },
    description: { type: 'doc', system: 'description' },
    labels: { type: 'array', items: 'string', system: 'labels' },
    priority: { type: 'priority', system: 'priority' },
    duedate: { type: 'date', system: 'duedate' },
    assignee: { type: 'user', system: 'assignee' },
    environment: { type: 'doc', system: 'environment' },
  };
  return [...ALWAYS, ...t.fields].map((k) => ({
    fieldId: k,
    key: k,
    name: k[0]!.toUpperCase() + k.slice(1),
    required: ALWAYS.includes(k),
    schema: schema[k],
    operations: k === 'labels' ? ['add', 'set', 'remove'] : ['set'],
    hasDefaultValue: k === 'priority',
  }));
}

/** An issue's JSON with its fields, filtered by `fields` (`*all` or `*navigable` = all) and `properties`. */
export function issueJson(
  base: string,
  projects: JiraProject[],
  i: JiraIssue,
  fields?: string[],
  props?: string[],
) {
  const project = projects.find((p) => p.key === i.project)!;
  const all: Record<string, unknown> = {
    summary: i.summary,
    description: i.description,
    issuetype: issueTypeJson(base, i.issueType),
    project: projectJson(base, project),
    labels: i.labels,
    priority: {
      name: i.priority,
      id: String(['Highest', 'High', 'Medium', 'Low', 'Lowest'].indexOf(i.priority) + 1),
    },
    status: { name: i.status, id: '10000', statusCategory: { id: 2, key: 'new', name: 'To Do' } },
    created: i.created,
    updated: i.updated,
    reporter: userJson(base),
    comment: {
      comments: i.comments.map((c) => commentJson(base, i, c)),
      maxResults: i.comments.length,
      total: i.comments.length,
      startAt: 0,
    },
    ...i.extra,
  };
  const want =
    fields?.length && !fields.includes('*all') && !fields.includes('*navigable') ? fields : undefined;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(all)) if (!want || want.includes(k)) out[k] = v;
  const json: Record<string, unknown> = {
    expand: 'renderedFields,names,schema,operations,editmeta,changelog',
    id: i.id,
    self: `${base}/rest/api/3/issue/${i.id}`,
    key: i.key,
    fields: out,
  };
  if (props?.length) {
    const p: Record<string, unknown> = {};
    for (const k of props) if (i.properties.has(k)) p[k] = i.properties.get(k);
    json.properties = p;
  }
  return json;
}

/** The entity properties a comment is created with (`properties: [{ key, value }]`), checked as Jira does. */
export function commentProperties(body: unknown): [string, unknown][] {
  const props = (body as { properties?: unknown } | undefined)?.properties;
  if (props === undefined) return [];
  if (!Array.isArray(props)) throw new JiraError(400, [], { properties: 'Properties must be a list.' });
  return props.map((p: { key?: unknown; value?: unknown }) => {
    if (typeof p?.key !== 'string' || p.key.length < 1 || p.key.length > 255)
      throw new JiraError(400, [], { properties: 'The property key must be between 1 and 255 characters.' });
    return [p.key, p.value];
  });
}

/**
 * One page of an issue's comments as Jira pages them: oldest first (newest first with `newestFirst`,
 * orderBy=-created), from `startAt` (default 0), at most `maxResults` (default and cap 5000).
 */
export function commentPage(
  base: string,
  i: JiraIssue,
  newestFirst: boolean,
  withProperties: boolean,
  q: { startAt?: unknown; maxResults?: unknown },
) {
  const ordered = newestFirst ? [...i.comments].reverse() : i.comments;
  const startAt = Math.max(0, Math.trunc(Number(q.startAt) || 0));
  const maxResults = Math.min(5000, Math.max(1, Math.trunc(Number(q.maxResults) || 5000)));
  return {
    comments: ordered
      .slice(startAt, startAt + maxResults)
      .map((c) => commentJson(base, i, c, withProperties)),
    maxResults,
    total: i.comments.length,
    startAt,
  };
}
