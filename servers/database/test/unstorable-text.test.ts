// Text PostgreSQL cannot store — a NUL character (U+0000) or an unpaired UTF-16 surrogate — anywhere
// in a tool's arguments (a dashboard's title, a panel's title, a parameter's name or value) is bad
// input: refused by core for every tool as `invalid_arguments`, never passed on to fail as `internal`.
import type { BootedServer, TestClient } from '@mcp-fleet/testkit';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootDatabase, connectAs, createWarehouse, data, type TestWarehouse, textOf } from './helpers.js';

let wh: TestWarehouse;
let s: BootedServer;
let analyst: TestClient;

beforeAll(async () => {
  wh = await createWarehouse(0.01);
  s = await bootDatabase(wh);
  analyst = await connectAs(s, { sub: 'analyst-nul', roles: ['analyst'], tenant: 'acme' });
});
afterAll(async () => {
  await analyst?.close();
  await s?.close();
  await wh?.cleanup();
});

type Result = Awaited<ReturnType<TestClient['callTool']>> & { _meta?: Record<string, unknown> };
const codeOf = (r: Result) => (r._meta?.['io.mcp-fleet/error'] as { code?: string } | undefined)?.code;

/** A valid dashboard, with `bad` spliced into one of its strings (at `at`, a fraction of its length). */
function dashboard(where: number, bad: string, at: number) {
  const splice = (s: string) => {
    const i = Math.floor(at * (s.length + 1));
    return s.slice(0, i) + bad + s.slice(i);
  };
  const d = {
    name: 'nul-board',
    title: 'Support overview',
    panels: [
      {
        title: 'Customers named Ada',
        query: 'find_customers',
        params: { query: 'Ada' } as Record<string, string>,
      },
    ],
  };
  const p = d.panels[0]!;
  if (where === 0) d.title = splice(d.title);
  else if (where === 1) p.title = splice(p.title);
  else if (where === 2) p.params = { query: splice('Ada') };
  else p.params = { [splice('query')]: 'Ada' };
  return d;
}
const WHERE = ['the title', 'a panel title', 'a parameter value', 'a parameter name'];

describe('save_dashboard with text PostgreSQL cannot store', () => {
  it('is refused as invalid_arguments wherever the NUL or unpaired surrogate is (never internal), and nothing is saved', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 3 }),
        fc.constantFrom('\u0000', '\ud800', '\udfff', 'a\u0000b', '\u0000\u0000'),
        fc.double({ min: 0, max: 1, noNaN: true }),
        async (where, bad, at) => {
          const r = (await analyst.callTool('save_dashboard', dashboard(where, bad, at))) as Result;
          expect(r.isError, `${WHERE[where]}: ${textOf(r)}`).toBe(true);
          expect(codeOf(r), `${WHERE[where]}: ${textOf(r)}`).toBe('invalid_arguments');
          expect(textOf(r)).toMatch(/NUL character|unpaired UTF-16 surrogate/);
        },
      ),
      { numRuns: 40 },
    );
    const list = (await analyst.callTool('list_dashboards', {})) as Result;
    expect((data(list).dashboards as { name: string }[]).map((d) => d.name)).not.toContain('nul-board');
    // The same dashboard without the bad text saves.
    const ok = (await analyst.callTool('save_dashboard', dashboard(0, '', 0))) as Result;
    expect(ok.isError, textOf(ok)).toBeFalsy();
  });
});
