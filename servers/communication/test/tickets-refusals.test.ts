// Generated refusals of the ticket tools (THREATS C15, C17): projects in many spellings, issue keys of
// other projects, forbidden issue types and fields. Each is refused and the simulator receives nothing.
import { clientAs, type TestClient } from '@mcp-fleet/testkit';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootTickets, call, type TicketFleet } from './tickets-fixture.js';

let f: TicketFleet;
let support: TestClient;
let split: TestClient;

beforeAll(async () => {
  f = await bootTickets();
  support = await clientAs(f.s, 'modern', 'support');
  split = await clientAs(f.s, 'legacy', 'split');
});
afterAll(async () => {
  await Promise.all([support?.close(), split?.close()]);
  await f?.close();
});

/** Text core accepts: no NUL, no lone surrogate. */
const text = (o: { minLength?: number; maxLength?: number } = {}) =>
  fc.string({ unit: 'grapheme', ...o }).filter((s) => !s.includes('\u0000'));

/** Spellings of projects that are not exactly "SUP". */
const badProject = fc.oneof(
  fc.constantFrom(
    'SEC',
    'sec',
    'Sec',
    'OPS',
    'ops',
    'sup',
    'Sup',
    ' SUP',
    'SUP ',
    'SUPX',
    'SU',
    'S_UP',
    'SUP\u200b',
    '\uFF33\uFF35\uFF30',
    '\u0405UP',
    'SU\u0420',
    'SUP\n',
    'SUP"',
    'SUP OR project is not EMPTY',
    'SUP" OR project = "SEC',
    'SECURITY',
    '*',
    '',
    'SUP,SEC',
    'SUP/../SEC',
  ),
  text({ maxLength: 24 }).filter((s) => s !== 'SUP'),
  fc.stringMatching(/^[A-Z][A-Z0-9_]{1,19}$/).filter((s) => s !== 'SUP'),
);

/** Issue keys that do not name an issue of SUP exactly. */
const badKey = fc.oneof(
  fc.constantFrom(
    'SEC-1',
    'sec-1',
    'sup-1',
    'Sup-1',
    'SUP-0',
    'SUP-01',
    ' SUP-1',
    'SUP-1 ',
    'SUP--1',
    'SUP-1\n',
    'SUP-1/../../SEC-1',
    'SUP-1?fields=*all',
    'SUP-1#x',
    'SUP-1%2F..%2FSEC-1',
    'SUPX-1',
    'OPS-1',
    '10100',
    'SUP-12345678901',
    'SUP-1 OR project = SEC',
    '\uFF33UP-1',
  ),
  text({ maxLength: 24 }).filter((s) => !/^SUP-[1-9][0-9]{0,9}$/.test(s)),
  fc
    .tuple(fc.stringMatching(/^[A-Z][A-Z0-9_]{1,19}$/), fc.integer({ min: 1, max: 99999 }))
    .filter(([p]) => p !== 'SUP')
    .map(([p, n]) => `${p}-${n}`),
);

const badType = fc.oneof(
  fc.constantFrom('Epic', 'task', 'TASK', 'Task ', ' Task', 'Incident', 'Sub-task', 'Bug\n', 'T\u0430sk'),
  text({ minLength: 1, maxLength: 30 }).filter((s) => s !== 'Task' && s !== 'Bug'),
);

/** Arguments no create may carry (C15): identity, security and custom fields, free-form JSON. */
const badField = fc.constantFrom<[string, unknown]>(
  ['reporter', { accountId: 'ceo' }],
  ['assignee', 'ceo@example.com'],
  ['security', { id: '10000' }],
  ['additional_fields', '{"reporter":{"accountId":"ceo"}}'],
  ['customfield_10010', 'x'],
  ['fields', { priority: { name: 'Highest' } }],
  ['priority', 'Highest'],
  ['labels', ['x']],
  ['components', ['Backend']],
  ['due_date', '2030-01-01'],
  ['issues', [{ summary: 'a' }, { summary: 'b' }]],
);

/** Runs `fn` and returns how many requests reached the simulator meanwhile. */
async function requestsDuring(fn: () => Promise<unknown>): Promise<{ out: unknown; n: number }> {
  const r0 = f.sim.requests.length;
  const out = await fn();
  return { out, n: f.sim.requests.length - r0 };
}

const RUNS = { numRuns: 40 };

describe('ticket refusals reach nothing (C15, C17)', () => {
  it('create_ticket in any project that is not exactly SUP', async () => {
    await fc.assert(
      fc.asyncProperty(badProject, async (project) => {
        const { out, n } = await requestsDuring(() =>
          call(support, 'create_ticket', { project, issue_type: 'Task', summary: 's', description: 'd' }),
        );
        expect((out as { isError: boolean }).isError).toBe(true);
        expect(n).toBe(0);
      }),
      RUNS,
    );
  });

  it('get_ticket and add_ticket_comment on any key that is not a SUP issue key', async () => {
    await fc.assert(
      fc.asyncProperty(badKey, fc.boolean(), async (issue_key, comment) => {
        const { out, n } = await requestsDuring(() =>
          comment
            ? call(support, 'add_ticket_comment', { issue_key, body: 'hello' })
            : call(support, 'get_ticket', { issue_key }),
        );
        expect((out as { isError: boolean }).isError).toBe(true);
        expect(n).toBe(0);
      }),
      RUNS,
    );
  });

  it('create_ticket with an issue type the rule does not list (names exact)', async () => {
    await fc.assert(
      fc.asyncProperty(badType, async (issue_type) => {
        const { out, n } = await requestsDuring(() =>
          call(support, 'create_ticket', { project: 'SUP', issue_type, summary: 's', description: 'd' }),
        );
        expect((out as { isError: boolean }).isError).toBe(true);
        expect(n).toBe(0);
      }),
      RUNS,
    );
  });

  it('create_ticket with any field beyond summary and description that the rule does not list', async () => {
    await fc.assert(
      fc.asyncProperty(badField, async ([name, value]) => {
        const { out, n } = await requestsDuring(() =>
          call(support, 'create_ticket', {
            project: 'SUP',
            issue_type: 'Task',
            summary: 's',
            description: 'd',
            [name]: value,
          }),
        );
        expect((out as { isError: boolean }).isError).toBe(true);
        expect(n).toBe(0);
      }),
      { numRuns: 22 },
    );
  });

  it('two grants never combine: SUP/Incident and OPS/Task are refused for a SUP/Task + OPS/Incident role', async () => {
    for (const [project, issue_type] of [
      ['SUP', 'Incident'],
      ['OPS', 'Task'],
    ]) {
      const { out, n } = await requestsDuring(() =>
        call(split, 'create_ticket', { project, issue_type, summary: 's', description: 'd' }),
      );
      expect((out as { isError: boolean; code?: string }).isError).toBe(true);
      expect(n).toBe(0);
    }
    const ok = await call(split, 'create_ticket', {
      project: 'OPS',
      issue_type: 'Incident',
      summary: 's',
      description: '',
    });
    expect(ok.isError, ok.text).toBe(false);
  });
});
