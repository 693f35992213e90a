// The flow guard for an agent signed in through the local IdP (attack finding F5 of issue 17): a
// client such as mcp-remote authorises each server separately (each server is its own protected
// resource, so each gets its own registration, grant and token), but the person signed in once in
// their browser — every token of that sign-in carries one `sid`, so the billing read on the database
// server and the external send on the communication server are one flow session and the send is held.
// The reproduction was /tmp/i17/a1-oauth.py: DCR + PKCE + alice's login + code exchange per server.
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CookieJar, signIn } from '../../packages/idp/test/login-driver.js';
import {
  type AgentSession,
  auditOf,
  callAt,
  emailsWithSubject,
  type FlowFleet,
  findPartnerTicket,
  PARTNER_ADDRESS,
  smtpRequests,
  startFlowFleet,
} from './flow/harness.js';

const RUN = randomUUID().slice(0, 8);
let f: FlowFleet;
let comm: string;
let db: string;
let ticketKey: string;

beforeAll(async () => {
  f = await startFlowFleet({ only: ['database', 'communication'] });
  comm = f.fleet.urls.communication!;
  db = f.fleet.urls.database!;
  ticketKey = await findPartnerTicket(f, comm);
}, 300_000);
afterAll(async () => {
  if (f) expect(await f.close()).toBe(0);
}, 60_000);

const claimsOf = (jwt: string) =>
  JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;

/**
 * What mcp-remote does for one server URL, in the browser `jar` (one person's browser): find the IdP
 * from the server's protected-resource metadata, register a client of its own, authorise with PKCE
 * and the server's resource indicator (signing in if the browser is not signed in yet), exchange the
 * code. Returns the access token for that server.
 */
async function oauthToken(serverUrl: string, jar: CookieJar, user = 'alice'): Promise<string> {
  const challenge = await fetch(serverUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{}',
  });
  expect(challenge.status).toBe(401);
  const metadataUrl = /resource_metadata="([^"]+)"/.exec(challenge.headers.get('www-authenticate')!)![1]!;
  const prm = (await (await fetch(metadataUrl)).json()) as { authorization_servers: string[] };
  const issuer = prm.authorization_servers[0]!;
  const as = (await (await fetch(`${issuer}/.well-known/oauth-authorization-server`)).json()) as Record<
    string,
    string
  >;
  const redirect = 'http://127.0.0.1:47012/oauth/callback';
  const reg = await fetch(as.registration_endpoint!, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      client_name: `mcp-remote ${new URL(serverUrl).port}`,
      redirect_uris: [redirect],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    }),
  });
  expect(reg.status).toBe(201);
  const { client_id } = (await reg.json()) as { client_id: string };
  const verifier = randomBytes(32).toString('base64url');
  const auth = new URL(as.authorization_endpoint!);
  auth.search = new URLSearchParams({
    client_id,
    response_type: 'code',
    redirect_uri: redirect,
    scope: 'mcp:tools',
    resource: serverUrl,
    state: 'x',
    code_challenge: createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: 'S256',
  }).toString();
  const { redirect: back } = await signIn(auth.toString(), user, 'dev', jar);
  const code = back.searchParams.get('code');
  expect(code, String(back)).toBeTruthy();
  const res = await fetch(as.token_endpoint!, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code: code!,
      redirect_uri: redirect,
      code_verifier: verifier,
      client_id,
      resource: serverUrl,
    }),
  });
  const body = (await res.json()) as { access_token: string };
  expect(res.status, JSON.stringify(body)).toBe(200);
  return body.access_token;
}

describe('an admin agent signed in through the IdP, one client per server (mcp-remote)', () => {
  it('reads the ticket and the billing rows, then the external send of those rows is held: nothing reaches SMTP', async () => {
    const browser = new CookieJar();
    const dbToken = await oauthToken(db, browser);
    const commToken = await oauthToken(comm, browser);
    const d = claimsOf(dbToken);
    const c = claimsOf(commToken);
    // Two registrations, two grants, two audiences; one person, one agent, one sign-in.
    expect(d.aud).toBe(db);
    expect(c.aud).toBe(comm);
    expect(d.client_id).not.toBe(c.client_id);
    expect(d).toMatchObject({ sub: 'alice', user: 'alice', roles: ['admin'] });
    expect(c).toMatchObject({ sub: 'alice', user: 'alice', roles: ['admin'] });
    expect(typeof d.sid).toBe('string');
    expect(c.sid).toBe(d.sid);
    const sid = String(d.sid);
    const onDb: AgentSession = { agent: 'alice', session: sid, token: dbToken };
    const onComm: AgentSession = { agent: 'alice', session: sid, token: commToken };

    const ticket = await callAt(comm, onComm, 'get_ticket', { issue_key: ticketKey });
    expect(ticket.isError, ticket.text).toBe(false);
    const rows = await callAt(db, onDb, 'run_query', {
      sql: 'SELECT c.name, c.email, s.plan, s.mrr_cents FROM sales.customers c JOIN billing.subscriptions s ON s.customer_id = c.id ORDER BY c.id LIMIT 3',
    });
    expect(rows.isError, rows.text).toBe(false);
    const pasted = ((rows.data?.rows ?? []) as unknown[][]).map((r) => r.join(', ')).join('; ');
    expect(pasted.split('; ')).toHaveLength(3);

    const subject = `Customer records ${RUN}`;
    const smtpBefore = await smtpRequests(f);
    const held = await callAt(comm, onComm, 'send_email', {
      to: [PARTNER_ADDRESS],
      subject,
      text: pasted,
      idempotency_key: `oauth-${RUN}`,
    });
    expect(held.code, held.text).toBe('awaiting_approval');
    expect(held.text).toContain('has NOT run');

    // The audit record of the held send names the billing read made with the other server's token.
    const [rec] = await auditOf(f, sid, 'send_email');
    expect(rec!.outcome).toBe('awaiting_approval');
    const reason = rec!.decision_reason ?? '';
    expect(reason).toMatch(/flow rule "[a-z0-9_-]+"/);
    expect(reason).toContain('database/run_query');
    expect(reason).toContain('schema billing');
    expect(reason).toContain(`email:${PARTNER_ADDRESS}`);
    expect(await smtpRequests(f)).toBe(smtpBefore);
    expect(await emailsWithSubject(f, subject)).toHaveLength(0);
  }, 180_000);

  it('a sign-in in another browser is another agent session (another sid)', async () => {
    const one = claimsOf(await oauthToken(comm, new CookieJar()));
    const two = claimsOf(await oauthToken(comm, new CookieJar()));
    expect(one.sub).toBe('alice');
    expect(two.sub).toBe('alice');
    expect(one.sid).not.toBe(two.sid);
  }, 60_000);
});
