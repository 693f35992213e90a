// An idempotency key is not burned by a write that was cancelled or timed out before its point of no
// return (write_report declares `commits`): nothing was written, so the key is given back (as the
// approval step gives an approval back) and a retry with the same key writes the report, exactly once.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AnyTool } from '@mcp-fleet/core';
import { type BootedServer, bootServer, createTestDatabase } from '@mcp-fleet/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import definition from '../src/definition.js';
import { examplePolicy, type Layout, makeLayout } from './helpers.js';

let layout: Layout;
let s: BootedServer;
let db: Awaited<ReturnType<typeof createTestDatabase>>;
/** Paths whose first write_report is held until the call is cancelled (then runs, too late to commit). */
const held = new Set<string>();

beforeAll(async () => {
  layout = await makeLayout();
  db = await createTestDatabase('files_idem_cancel');
  // write_report as shipped, except that a held path waits for its call's cancel (or timeout) before
  // the real handler runs: the cancel lands before the point of no return, every time.
  const tools = (definition.tools as readonly AnyTool<unknown>[]).map((t) =>
    t.name !== 'write_report'
      ? t
      : {
          ...t,
          governance: { ...t.governance, timeoutMs: 300 },
          handler: async (args: Record<string, unknown>, ctx: Parameters<typeof t.handler>[1]) => {
            if (held.delete(String(args.path)) && !ctx.signal.aborted)
              await new Promise((r) => ctx.signal.addEventListener('abort', r, { once: true }));
            return t.handler(args as never, ctx);
          },
        },
  );
  s = await bootServer({ ...definition, tools } as typeof definition, {
    policy: examplePolicy,
    databaseUrl: db.url,
    env: { FILES_ROOT: layout.root },
  });
});
afterAll(async () => {
  await s?.close();
  await db?.drop();
  layout?.cleanup();
});

type Answer = {
  result?: { isError?: boolean; content?: { text?: string }[]; _meta?: Record<string, unknown> };
};
async function post(token: string, body: unknown): Promise<Answer> {
  const res = await fetch(s.url, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${token}`,
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      'mcp-protocol-version': '2025-11-25',
    },
    body: JSON.stringify(body),
  });
  return res.status === 202 ? {} : ((await res.json()) as Answer);
}
const writeReport = (token: string, id: number, args: Record<string, unknown>) =>
  post(token, {
    jsonrpc: '2.0',
    id,
    method: 'tools/call',
    params: { name: 'write_report', arguments: args },
  });

describe('write_report cancelled before its point of no return', () => {
  it.each(['notification', 'timeout'] as const)(
    'interrupted by %s: nothing is written, and a retry with the same key writes the report exactly once',
    async (how) => {
      const token = await s.token({ sub: `idem-${how}`, roles: ['analyst'] });
      const path = `reports/idem-${how}.md`;
      const args = { path, content: `# ${how}\n`, idempotency_key: `key-${how}` };
      held.add(path);
      const first = writeReport(token, 1, args);
      if (how === 'notification') {
        let settled = false;
        void first.finally(() => {
          settled = true;
        });
        while (!settled) {
          await post(token, { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 1 } });
          await new Promise((r) => setTimeout(r, 5));
        }
      }
      const interrupted = await first;
      expect(interrupted.result?.isError).toBe(true);
      expect(interrupted.result?.content?.[0]?.text).toMatch(how === 'timeout' ? /timed out/ : /cancelled/);
      await new Promise((r) => setTimeout(r, 100)); // the held handler has run (and failed to commit)
      expect(existsSync(join(layout.root, path))).toBe(false);

      // The retry with the same key runs the write; the one after it is a replay of that result.
      const retry = await writeReport(token, 2, args);
      expect(retry.result?.isError).toBeFalsy();
      expect(retry.result?.content?.[0]?.text).toMatch(/^Saved /);
      expect(retry.result?._meta?.['io.mcp-fleet/replayed']).toBeUndefined();
      expect(readFileSync(join(layout.root, path), 'utf8')).toBe(`# ${how}\n`);
      const again = await writeReport(token, 3, args);
      expect(again.result?.content?.[0]?.text).toBe(retry.result?.content?.[0]?.text);
      expect(again.result?._meta?.['io.mcp-fleet/replayed']).toBe(true);
    },
  );
});
