// A search over many PDFs, cancelled while extractions are in flight, ends as one `cancelled` call:
// the other files' extractions fail at the same moment, and none of those failures may escape as an
// unhandled rejection (which ends the process: every caller loses the server, and the audit records
// still queued are lost with it). Found by the second round of adversarial testing.
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { BootedServer, TestClient } from '@mcp-fleet/testkit';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootFleet, call, clientAs, type FilesFleet } from './helpers.js';

const PDFS = 64;
let s: BootedServer;
let db: FilesFleet['db'];
let fleet: FilesFleet | undefined;
let support: TestClient;

beforeAll(async () => {
  fleet = await bootFleet('files_search_cancel', {
    seed: ({ root }) => {
      const many = join(root, 'docs', 'many-pdfs');
      mkdirSync(many);
      const pdf = join(root, 'docs', 'security', 'incident-response-plan.pdf');
      for (let i = 0; i < PDFS; i++) copyFileSync(pdf, join(many, `plan-${String(i).padStart(2, '0')}.pdf`));
    },
  });
  ({ s, db } = fleet);
  support = await clientAs(s, 'modern', 'support');
});
afterAll(async () => {
  await fleet?.close(support);
});

async function post(token: string, body: unknown): Promise<Response> {
  return fetch(s.url, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${token}`,
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      'mcp-protocol-version': '2025-11-25',
    },
    body: JSON.stringify(body),
  });
}

describe('search_documents cancelled mid-flight', () => {
  it('ends as one cancelled call and the server keeps answering', async () => {
    const token = await s.token({ sub: 'canceller', roles: ['support'] });
    const id = 4242;
    const pending = post(token, {
      jsonrpc: '2.0',
      id,
      method: 'tools/call',
      params: { name: 'search_documents', arguments: { path: 'docs/many-pdfs', query: 'no-such-words' } },
    });
    let settled = false;
    void pending.finally(() => {
      settled = true;
    });
    // One round trip of another call first (the search has begun its walk by then), then cancel until
    // the call answers: a cancel that arrives before the call is registered is ignored, so one of them
    // lands while the extractions run.
    expect((await call(support, 'list_folder', { path: 'docs' })).isError).toBe(false);
    while (!settled) {
      await post(token, { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: id } });
      await new Promise((r) => setImmediate(r));
    }
    const res = await pending;
    const body = (await res.json()) as { result?: { isError?: boolean; content?: { text?: string }[] } };
    const requestId = res.headers.get('x-request-id');
    expect(requestId).toBeTruthy();

    // The same process still serves: a plain call from another caller answers.
    const after = await call(support, 'list_folder', { path: 'docs' });
    expect(after.isError).toBe(false);

    // Exactly one record for the cancelled call (it reaches the fleet database once flushed).
    const audit = new pg.Client({ connectionString: db.url });
    await audit.connect();
    try {
      let rows: { outcome: string }[] = [];
      while (rows.length === 0) {
        rows = (await audit.query('SELECT outcome FROM audit_records WHERE request_id = $1', [requestId]))
          .rows;
        if (rows.length === 0) await new Promise((r) => setTimeout(r, 50));
      }
      expect(rows).toHaveLength(1);
      // Either the cancel landed mid-flight (the case this test is for) or the search finished first.
      expect(['cancelled', 'ok']).toContain(rows[0]!.outcome);
      if (rows[0]!.outcome === 'cancelled') expect(body.result?.content?.[0]?.text).toMatch(/cancelled/);
    } finally {
      await audit.end();
    }
  });
});
