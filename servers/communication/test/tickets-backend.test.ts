// The Jira backend and its text handling alone: ADF round trips any text verbatim, JQL literals never
// end early, and the io.mcp-fleet property finds a create whose first attempt's record was lost.
import { JiraSimulator } from '@mcp-fleet/simulators';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adfToText, textToAdf } from '../src/tickets/adf.js';
import { JiraBackend } from '../src/tickets/jira-backend.js';
import { jqlString } from '../src/tickets/keys.js';
import { UpstreamBreaker } from '../src/upstream/breaker.js';

const text = () => fc.string({ unit: 'grapheme', maxLength: 200 }).filter((s) => !s.includes('\u0000'));

describe('plain text <-> ADF', () => {
  it('any text survives the round trip verbatim, as text nodes only (no markup parsed)', () => {
    fc.assert(
      fc.property(text(), (t) => {
        const doc = textToAdf(t);
        expect(adfToText(doc)).toBe(t);
        const kinds = JSON.stringify(doc).match(/"type":"[a-z]+"/gi) ?? [];
        for (const k of kinds) expect(['"type":"doc"', '"type":"paragraph"', '"type":"text"']).toContain(k);
      }),
      { numRuns: 300 },
    );
  });
});

describe('JQL string literals (C17)', () => {
  it('quote any text into exactly one literal', () => {
    fc.assert(
      fc.property(text(), (t) => {
        const q = jqlString(t);
        // biome-ignore lint/suspicious/noControlCharactersInRegex: no raw control character may be in a literal
        expect(q).toMatch(/^"(?:[^"\\\u0000-\u001f]|\\.)*"$/su);
      }),
      { numRuns: 300 },
    );
  });
});

describe('JiraBackend exactly once', () => {
  let sim: JiraSimulator;
  let url: string;
  const make = () =>
    new JiraBackend({
      url,
      email: 'agents@example.com',
      apiToken: 'jira-sim-api-token',
      timeoutMs: 2_000,
      breaker: new UpstreamBreaker('tickets'),
    });
  beforeAll(async () => {
    sim = new JiraSimulator();
    url = await sim.start();
  });
  afterAll(() => sim?.close());

  it('a retry in another process (no shared memory, no fleet record) finds the first issue by its property', async () => {
    const t = {
      project: 'SUP',
      issueType: 'Task',
      summary: 'exactly once',
      description: 'body',
      fields: {},
      idempotencyKey: 'k-"quoted"\\-1',
    };
    const opts = { signal: AbortSignal.timeout(10_000) };
    const before = sim.issues.length;
    const a = await make().createTicket(t, opts);
    const b = await make().createTicket(t, opts);
    expect(a.created).toBe(true);
    expect(b).toEqual({ id: a.id, project: 'SUP', created: false });
    expect(sim.issues.length - before).toBe(1);
    // Found in whatever project it is now (the tool checks that project before showing it).
    const moved = sim.moveIssue(a.id, 'OPS');
    expect(await make().findByIdempotencyKey(t.idempotencyKey, opts)).toEqual({ key: moved, project: 'OPS' });
  });

  it('an early retry after a create without an answer sends nothing when the settle wait does not fit', async () => {
    const backend = make();
    const t = {
      project: 'SUP',
      issueType: 'Task',
      summary: 'held past the timeout',
      description: '',
      fields: {},
      idempotencyKey: 'k-held-early',
    };
    const landed = sim.holdNext('issue.create', 2_500);
    const first = backend.createTicket(t, { signal: AbortSignal.timeout(10_000) });
    await expect(first).rejects.toMatchObject({ name: 'UpstreamFailure', kind: 'timeout' });
    const sent = sim.requests.filter((r) => r.operation === 'issue.create').length;
    // The settle time is 2 × 2 s; a call with 3 s left cannot wait it out: refused, nothing sent.
    const early = backend.createTicket(t, {
      signal: AbortSignal.timeout(10_000),
      deadline: Date.now() + 3_000,
    });
    await expect(early).rejects.toMatchObject({
      name: 'ToolError',
      code: 'upstream_timeout',
      rerunSafe: true,
    });
    await early.catch((e: { retryAfterMs?: number; message: string }) => {
      expect(e.retryAfterMs).toBeGreaterThan(0);
      expect(e.message).toContain('Retry with the same idempotency_key after');
    });
    expect(sim.requests.filter((r) => r.operation === 'issue.create').length).toBe(sent);
    await landed;
    expect(sim.issues.filter((i) => i.summary === t.summary)).toHaveLength(1);
  });

  it('readiness passes with the right token and fails as upstream auth with a revoked one', async () => {
    await make().readiness();
    sim.revokeToken();
    try {
      await expect(make().readiness()).rejects.toMatchObject({ name: 'UpstreamFailure', kind: 'auth' });
    } finally {
      sim.revokeToken(false);
    }
  });
});
