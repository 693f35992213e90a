// The Jira simulator through the real jira.js cloud client: projects, create metadata, create with
// properties, read back with ADF and comments, JQL search by property, refusals and the fault knobs.
import { createCloudClient, isApiError } from 'jira.js';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { adf, JIRA_INJECTION_TEXT, JiraSimulator } from '../src/index.js';

let sim: JiraSimulator;
const jira = (apiToken = sim.apiToken) =>
  createCloudClient({
    host: sim.url,
    auth: { type: 'basic', email: sim.email, apiToken },
    onSchemaMismatch: 'throw',
  });

beforeAll(async () => {
  sim = new JiraSimulator();
  await sim.start();
});
afterAll(() => sim.close());
afterEach(() => {
  sim.clearFaults();
  sim.revokeToken(false);
});

describe('Jira simulator (jira.js)', () => {
  it('answers myself, projects and create metadata', async () => {
    const j = jira();
    expect((await j.myself.getCurrentUser()).emailAddress).toBe('agents@example.com');
    const projects = await j.projects.searchProjects();
    expect(projects.values?.map((p) => p.key)).toEqual(['SUP', 'OPS', 'SEC']);
    const types = await j.issues.getCreateIssueMetaIssueTypes({ projectIdOrKey: 'OPS' });
    expect(types.issueTypes?.map((t) => t.name)).toEqual(['Task', 'Incident']);
    const fields = await j.issues.getCreateIssueMetaIssueTypeId({
      projectIdOrKey: 'SUP',
      issueTypeId: '10004',
    });
    expect(fields.fields?.filter((f) => f.required).map((f) => f.fieldId)).toEqual([
      'project',
      'issuetype',
      'summary',
    ]);
  });

  it('creates an issue with properties, reads it back, comments, and finds it by property in JQL', async () => {
    const j = jira();
    const created = await j.issues.createIssue({
      fields: {
        project: { key: 'SUP' },
        issuetype: { name: 'Task' },
        summary: 'acme: follow up on exports',
        description: adf('Customer acme needs a fix.'),
        labels: ['customer-acme'],
      },
      properties: [{ key: 'mcp-fleet', value: { idempotencyKey: 'k-123', tool: 'create_ticket' } }],
    });
    expect(created.key).toBe('SUP-5');
    const issue = await j.issues.getIssue({ issueIdOrKey: created.key });
    expect(issue.fields?.summary).toBe('acme: follow up on exports');
    expect(issue.fields?.description).toEqual(adf('Customer acme needs a fix.'));
    const comment = await j.issueComments.addComment({
      issueIdOrKey: created.key,
      body: adf('Working on it'),
    });
    expect(comment.body).toEqual(adf('Working on it'));
    const again = await j.issues.getIssue({ issueIdOrKey: created.key });
    expect(again.fields?.comment.comments).toHaveLength(1);
    const found = await j.issueSearch.searchAndReconsileIssuesUsingJqlPost({
      jql: 'project = SUP AND issue.property[mcp-fleet].idempotencyKey = "k-123"',
      fields: ['summary'],
    });
    expect(found.issues?.map((i) => i.key)).toEqual(['SUP-5']);
    const none = await j.issueSearch.searchAndReconsileIssuesUsingJql({
      jql: 'issue.property[mcp-fleet].idempotencyKey = "other"',
    });
    expect(none.issues).toEqual([]);
    const prop = await j.issueProperties.getIssueProperty({
      issueIdOrKey: created.key,
      propertyKey: 'mcp-fleet',
    });
    expect(prop.value).toEqual({ idempotencyKey: 'k-123', tool: 'create_ticket' });
    await j.issueProperties.setIssueProperty({ issueIdOrKey: 'SUP-1', propertyKey: 'p', body: { a: 1 } });
    expect(
      (await j.issueProperties.getIssueProperty({ issueIdOrKey: 'SUP-1', propertyKey: 'p' })).value,
    ).toEqual({ a: 1 });
    expect(sim.outbox.map((e) => [e.kind, e.upstreamId])).toEqual([
      ['issue', 'SUP-5'],
      ['comment', expect.stringMatching(/^SUP-5#/)],
    ]);
  });

  it('keeps the demo issues (SUP-3 holds the injection text)', async () => {
    const sup3 = await jira().issues.getIssue({ issueIdOrKey: 'SUP-3' });
    expect(JSON.stringify(sup3.fields?.description)).toContain(JIRA_INJECTION_TEXT.slice(0, 30));
    const sec = await jira().issueSearch.searchAndReconsileIssuesUsingJql({
      jql: 'project = SEC',
      fields: ['summary'],
    });
    expect(sec.issues?.map((i) => i.key)).toEqual(['SEC-1']);
  });

  it('refuses what Jira refuses, with Jira-shaped bodies', async () => {
    const j = jira();
    const fail = (p: Promise<unknown>) =>
      p.then(
        () => undefined,
        (e: unknown) => (isApiError(e) ? e : undefined),
      );
    const unknownField = await fail(
      j.issues.createIssue({
        fields: { project: { key: 'SUP' }, issuetype: { name: 'Task' }, summary: 's', customfield_1: 'x' },
      }),
    );
    expect(unknownField?.status).toBe(400);
    expect(unknownField?.body).toMatchObject({
      errorMessages: [],
      errors: { customfield_1: expect.any(String) },
    });
    const wrongType = await fail(
      j.issues.createIssue({ fields: { project: { key: 'SEC' }, issuetype: { name: 'Bug' }, summary: 's' } }),
    );
    expect(wrongType?.body).toMatchObject({ errors: { issuetype: expect.any(String) } });
    const badJql = await fail(
      j.issueSearch.searchAndReconsileIssuesUsingJql({ jql: 'summary ~ "x" OR key = SUP-1' }),
    );
    expect(badJql?.status).toBe(400);
    const noProject = await fail(j.issueSearch.searchAndReconsileIssuesUsingJql({ jql: 'project = NOPE' }));
    expect(noProject?.status).toBe(400);
    expect((await fail(j.issues.getIssue({ issueIdOrKey: 'SUP-999' })))?.status).toBe(404);
    expect((await fail(jira('wrong').myself.getCurrentUser()))?.status).toBe(401);
    sim.revokeToken();
    expect((await fail(j.myself.getCurrentUser()))?.status).toBe(401);
  });

  it('shows each fault knob to the client', async () => {
    const j = jira();
    const count = sim.issues.length;
    const create = () =>
      j.issues.createIssue({
        fields: { project: { key: 'OPS' }, issuetype: { name: 'Incident' }, summary: 'x' },
      });
    sim.failNext('issue.create', { rateLimit: 9 });
    expect(await create().catch((e) => e)).toMatchObject({ status: 429, retryAfterMs: 9000 });
    sim.failNext('issue.create', { status: 503 });
    expect(await create().catch((e) => e)).toMatchObject({ status: 503 });
    sim.failNext('*', { error: 'token expired' });
    expect(await j.myself.getCurrentUser().catch((e) => e)).toMatchObject({ status: 401 });
    sim.failNext('issue.create', { drop: true });
    expect(await create().catch((e) => e)).toBeInstanceOf(Error);
    expect(sim.issues.length).toBe(count);
    // jira.js 6 has no timeout option; a hang is observed with fetch and an AbortSignal.
    sim.failNext('myself', { hang: true });
    const hung = fetch(`${sim.url}/rest/api/3/myself`, { signal: AbortSignal.timeout(200) });
    await expect(hung).rejects.toThrow();
    expect((await create()).key).toBe('OPS-1');
  });

  it('after-commit faults: the issue or comment lands, then the answer is dropped or late', async () => {
    const auth = `Basic ${Buffer.from(`${sim.email}:${sim.apiToken}`).toString('base64')}`;
    const post = (path: string, body: unknown, signal?: AbortSignal) =>
      fetch(`${sim.url}${path}`, {
        method: 'POST',
        headers: { authorization: auth, 'content-type': 'application/json' },
        body: JSON.stringify(body),
        signal,
      });
    const count = sim.issues.length;
    sim.failNext('issue.create', { dropAfterCommit: true });
    const fields = { project: { key: 'OPS' }, issuetype: { name: 'Task' }, summary: 'lost answer' };
    await expect(post('/rest/api/3/issue', { fields })).rejects.toThrow();
    expect(sim.issues.length).toBe(count + 1);
    sim.failNext('issue.create', { delayAfterCommit: 60_000 });
    await expect(post('/rest/api/3/issue', { fields }, AbortSignal.timeout(300))).rejects.toThrow();
    await vi.waitFor(() => expect(sim.issues.length).toBe(count + 2));
    const key = sim.issues.at(-1)!.key;
    sim.failNext('comment.add', { dropAfterCommit: true });
    const body = { body: adf('c'), properties: [{ key: 'io.mcp-fleet', value: { idempotencyKey: 'ck' } }] };
    await expect(post(`/rest/api/3/issue/${key}/comment`, body)).rejects.toThrow();
    const page = await jira().issueComments.getComments({ issueIdOrKey: key, expand: 'properties' });
    expect(sim.issue(key)!.comments).toHaveLength(1);
    expect(JSON.parse(JSON.stringify(page.comments))[0].properties).toEqual([
      { key: 'io.mcp-fleet', value: { idempotencyKey: 'ck' } },
    ]);
  });
  it('pages the comment list with startAt and maxResults, newest first with orderBy -created', async () => {
    const j = jira();
    const { key } = await j.issues.createIssue({
      fields: { project: { key: 'SUP' }, issuetype: { name: 'Task' }, summary: 'paged comments' },
    });
    for (let n = 0; n < 7; n++) await j.issueComments.addComment({ issueIdOrKey: key, body: adf(`c${n}`) });
    const texts = async (startAt: number, maxResults: number) => {
      const page = await j.issueComments.getComments({
        issueIdOrKey: key,
        orderBy: '-created',
        startAt,
        maxResults,
      });
      expect(page).toMatchObject({ startAt, maxResults, total: 7 });
      return page.comments?.map((c) => JSON.stringify(c.body).match(/c\d/)?.[0]);
    };
    expect(await texts(0, 3)).toEqual(['c6', 'c5', 'c4']);
    expect(await texts(3, 3)).toEqual(['c3', 'c2', 'c1']);
    expect(await texts(6, 3)).toEqual(['c0']);
  });

  it('moveIssue gives the next key of the new project and keeps the old key answering', async () => {
    const j = jira();
    const { key } = await j.issues.createIssue({
      fields: { project: { key: 'SUP' }, issuetype: { name: 'Task' }, summary: 'to be moved' },
    });
    const moved = sim.moveIssue(key, 'OPS');
    expect(moved).toMatch(/^OPS-\d+$/);
    const byOld = await j.issues.getIssue({ issueIdOrKey: key, fields: ['project'] });
    expect(byOld.key).toBe(moved);
    expect(byOld.fields?.project?.key).toBe('OPS');
  });

  it('holdNext: a held create lands after its client gave up, and says when it has', async () => {
    const count = sim.issues.length;
    const landed = sim.holdNext('issue.create', 400);
    const auth = `Basic ${Buffer.from(`${sim.email}:${sim.apiToken}`).toString('base64')}`;
    const fields = { project: { key: 'OPS' }, issuetype: { name: 'Task' }, summary: 'held' };
    const gaveUp = fetch(`${sim.url}/rest/api/3/issue`, {
      method: 'POST',
      headers: { authorization: auth, 'content-type': 'application/json' },
      body: JSON.stringify({ fields }),
      signal: AbortSignal.timeout(50),
    });
    await expect(gaveUp).rejects.toThrow();
    expect(sim.issues.length).toBe(count);
    await landed;
    expect(sim.issues.length).toBe(count + 1);
  });
});
