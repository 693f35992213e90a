// Attack round 2 on the outbound step (whole server, Teams simulator, PostgreSQL): a secret whose label
// and value, or whose key header and body, sit in different card fields is refused with nothing sent,
// and no field of the refused call keeps any part of it in the audit record.
import { clientAs, type TestClient } from '@mcp-fleet/testkit';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootCommunication, type CommunicationFleet, call } from './governance-fleet.js';

let f: CommunicationFleet;
let admin: TestClient;

beforeAll(async () => {
  f = await bootCommunication('comm_xfield');
  admin = await clientAs(f.s, 'modern', 'admin', 'admin-x');
}, 60_000);

afterAll(async () => {
  await f?.close(admin);
});

const chars = (alphabet: string, min: number, max: number) =>
  fc.array(fc.constantFrom(...alphabet), { minLength: min, maxLength: max }).map((a) => a.join(''));
const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** [facts, the secret part that must appear nowhere]: a label in one field, its value in the next. */
const split = fc.oneof(
  fc
    .tuple(fc.constantFrom('password', 'Password', 'DB password', 'api_key'), chars(ALNUM, 10, 20))
    .map(([t, v]) => [[{ title: t, value: `Tr0${v}` }], `Tr0${v}`] as const),
  fc
    .tuple(fc.constantFrom('AWS Secret Access Key', 'aws_secret_access_key'), chars(`${ALNUM}/+`, 36, 36))
    .map(([t, v]) => [[{ title: t, value: `wJ${v}aZ` }], `wJ${v}aZ`] as const),
  fc
    .tuple(
      fc.constantFrom('RSA ', 'EC ', ''),
      fc.array(chars(`${ALNUM}+/`, 64, 64), { minLength: 3, maxLength: 5 }),
    )
    .map(
      ([k, lines]) =>
        [
          [
            { title: `-----BEGIN ${k}PRIVATE KEY-----`, value: lines.join('\n') },
            { title: 'end', value: `-----END ${k}PRIVATE KEY-----` },
          ],
          lines[1]!,
        ] as const,
    ),
);

describe('secrets split across card fields', () => {
  it('are refused with nothing sent, and every content field of the refused call is withheld in the audit record', async () => {
    const samples = fc.sample(split, 6);
    for (const [i, [facts, secret]] of samples.entries()) {
      const before = f.hub.teams.posts.length;
      const card = {
        type: 'AdaptiveCard',
        version: '1.4',
        body: [
          { type: 'TextBlock', text: `xfield case ${i}` },
          { type: 'FactSet', facts },
        ],
      };
      const r = await call(admin, 'teams_post_message', { channel: 'ops-alerts', card });
      expect(r.isError, r.text).toBe(true);
      expect(r.code, r.text).toBe('outbound_secret');
      expect(f.hub.teams.posts.length).toBe(before);
      const rows = await f.audit(`tool = 'teams_post_message' AND outcome = 'denied'`, [], i + 1);
      expect(rows.length).toBe(i + 1);
      for (const row of rows) {
        expect(JSON.stringify(row)).not.toContain(secret);
        expect(JSON.stringify(row)).not.toContain(secret.slice(0, 12));
      }
    }
  });
});
