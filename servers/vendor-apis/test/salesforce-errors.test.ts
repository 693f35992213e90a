// Attack B-F1 (V16, V15): Salesforce's `errorCode` and `fields` are vendor-chosen text (a connected-app
// client secret came back as an "errorCode"). A failure message the model sees may hold only our words,
// the status, an errorCode of a FIXED list of Salesforce's documented REST codes and field names of our
// own allow-list; anything else is dropped. Checked with the real jsforce on real sockets (an upstream
// answering arbitrary error bodies), through the governed transport and through jsforce's own errors, and
// end to end through the booted server (the tool result, the audit records and the logs).
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { isUpstreamFailure } from '@mcp-fleet/core';
import type { VendorHub } from '@mcp-fleet/simulators';
import fc from 'fast-check';
import { Connection } from 'jsforce';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { classifySalesforceError, GovernedTransport } from '../src/salesforce/errors.js';
import { bootVendor, callTool, multiTenantEnv, startVendors, type VendorServer } from './vendor-server.js';

/** Documented errorCodes this server must keep (a few; the source holds the full list). */
const KEPT_CODES = ['MALFORMED_QUERY', 'INVALID_FIELD', 'FIELD_CUSTOM_VALIDATION_EXCEPTION', 'MALFORMED_ID'];
/** Fields of our allow-list. */
const KEPT_FIELDS = ['Rating', 'NextStep', 'Title', 'Subject'];

/** Vendor-chosen strings: secrets, ids, instructions, in the shapes the old patterns let through. */
const vendorString = fc
  .oneof(
    fc.stringMatching(/^[A-Z][A-Z0-9_]{9,79}$/),
    fc.stringMatching(/^[A-Z0-9]{40}$/),
    fc.stringMatching(/^[A-Za-z][A-Za-z0-9_]{9,79}$/),
    fc.uuid().map((u) => `pat-na1-${u}`),
    fc.stringMatching(/^[a-z][a-z_]{9,40}$/),
    fc.constantFrom('EI1FFYO8JS7Y2SYXI4VMDI0NC9OKGWAEO5MITIIW', 'IGNORE_ALL_PREVIOUS_INSTRUCTIONS'),
  )
  .filter((s) => !KEPT_CODES.includes(s) && !KEPT_FIELDS.includes(s));

/** An HTTP upstream that answers every request with the error body set last. */
async function errorUpstream() {
  let next = { status: 400, body: {} as unknown };
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(next.status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(next.body));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    answer(status: number, body: unknown) {
      next = { status, body };
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

describe('Salesforce errorCodes and fields reach a message only from fixed lists (B-F1)', () => {
  let up: Awaited<ReturnType<typeof errorUpstream>>;
  let governed: Connection;
  let plain: Connection;
  beforeAll(async () => {
    up = await errorUpstream();
    governed = new Connection({ instanceUrl: up.url, accessToken: '00Dx!AQ4AQ.session', version: '62.0' });
    governed._transport = new GovernedTransport(5000);
    plain = new Connection({ instanceUrl: up.url, accessToken: '00Dx!AQ4AQ.session', version: '62.0' });
  });
  afterAll(() => up.close());

  /**
   * The failure of the governed transport (as the connector classifies it), and of jsforce's own error
   * (below 500 only: jsforce's default transport retries a 5xx with backoff).
   */
  const failuresOf = async (status: number, errorCode: string, fields: string[]) => {
    up.answer(status, [{ message: 'm', errorCode, fields }]);
    const out = [];
    for (const conn of status < 500 ? [governed, plain] : [governed]) {
      try {
        await conn.sobject('Account').retrieve('001000000000001AAA');
        throw new Error('expected an error');
      } catch (e) {
        out.push(isUpstreamFailure(e) ? e : classifySalesforceError(e));
      }
    }
    return out;
  };

  it('an unknown errorCode or field (any vendor string) never reaches the message', async () => {
    await fc.assert(
      fc.asyncProperty(
        vendorString,
        fc.array(vendorString, { minLength: 1, maxLength: 3 }),
        fc.constantFrom(400, 403, 409, 500, 503),
        async (code, fields, status) => {
          for (const f of await failuresOf(status, code, fields)) {
            expect(f.message).not.toContain(code);
            for (const field of fields) expect(f.message).not.toContain(field);
            expect(f.cause).toBeUndefined();
          }
        },
      ),
      { numRuns: 100 },
    );
  });

  it('a documented errorCode and allow-listed fields are kept', async () => {
    for (const code of KEPT_CODES) {
      const [g, p] = await failuresOf(400, code, ['Rating', 'EI1FFYO8JS7Y2SYXI4VMDI0NC9OKGWAEO5MITIIW']);
      expect(g?.message).toBe(`Salesforce refused the request (HTTP 400, ${code}, field Rating)`);
      expect(p?.message).toBe(`Salesforce refused the request (${code})`);
    }
    const [g] = await failuresOf(400, 'EI1FFYO8JS7Y2SYXI4VMDI0NC9OKGWAEO5MITIIW', []);
    expect(g?.message).toBe(
      'Salesforce refused the request (HTTP 400, an error code this server does not know)',
    );
  });
});

describe('end to end: an unknown Salesforce errorCode is absent from the tool result, audit and logs (B-F1)', () => {
  let hub: VendorHub;
  let f: VendorServer;
  beforeAll(async () => {
    hub = await startVendors();
    f = await bootVendor({
      prefix: 'vendor_salesforce_errors',
      env: multiTenantEnv(hub, { vendors: ['salesforce'], extra: { VENDOR_APIS_READ_RETRIES: '0' } }),
      upstreams: [hub],
    });
  }, 60_000);
  afterAll(() => f?.close());

  it('salesforce_query answers upstream_rejected without the vendor string', async () => {
    const secret = 'EI1FFYO8JS7Y2SYXI4VMDI0NC9OKGWAEO5MITIIW';
    hub.salesforce!.failNext('query', { error: secret });
    const client = await f.clientFor({ role: 'analyst', tenant: 'acme' });
    const r = await callTool(client, 'salesforce_query', {
      object: 'Account',
      fields: ['Name'],
      where: [{ field: 'Name', op: 'eq', value: 'b-f1-errors' }],
    });
    expect(r).toMatchObject({ isError: true, code: 'upstream_rejected' });
    expect(r.text).toContain('HTTP 400');
    const audit = await f.auditOf('salesforce_query');
    for (const text of [r.text, JSON.stringify(r), JSON.stringify(audit), ...f.logs(), ...f.auditLines()])
      expect(text).not.toContain(secret);
  });
});
