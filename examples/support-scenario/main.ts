// A scripted support scenario across all five servers of the local fleet, with no model: the steps an
// LLM agent would take, written out, through a real MCP client (@modelcontextprotocol/client). Each
// step prints the server, the tool, what was sent, what came back and what the fleet's governance did
// with it (cached, replayed, awaiting_approval, approved...).
//
//   npx -y pnpm@10.33.0 start                      # one terminal: the fleet
//   npx -y pnpm@10.33.0 example                    # another: this scenario; the refund waits for you
//   npx -y pnpm@10.33.0 example --auto-approve     # ...or alice approves it through the approvals API
//
// Options: --auto-approve, --json (one JSON object per step instead of text), --run <id> (the run's
// idempotency keys are built from it; default: a fresh one, so every run sends its own messages).
// Tokens come from the local dev issuer through `fleet token` (as a user would mint them); the fleet's
// ports and folder follow the same FLEET_* variables as `pnpm start`.
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createInterface } from 'node:readline/promises';
import { parseArgs, promisify } from 'node:util';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { discoverServers, ROOT } from '../../packages/cli/src/layout.js';

const run = promisify(execFile);

const { values: opts } = parseArgs({
  options: {
    'auto-approve': { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
    run: { type: 'string' },
  },
});
const RUN = opts.run ?? randomUUID().slice(0, 8);
const AGENT = 'example-support-agent';
/** What the customer was charged twice, in cents: the amount refunded. */
const FEE = 500;
/** The customer who writes in: acme's customer 1 in the demo data (warehouse, Stripe, HubSpot). */
const EMAIL = 'billing@customer1.example.com';

const urls = Object.fromEntries(discoverServers().map((s) => [s.name, `http://127.0.0.1:${s.port}/mcp`]));
for (const name of ['database', 'communication', 'files', 'vendor-apis', 'admin'])
  if (!urls[name]) throw new Error(`no server "${name}" in this checkout`);

/** `pnpm fleet <args>` (the same CLI, the same environment), its stdout trimmed. */
async function fleet(...args: string[]): Promise<string> {
  const { stdout } = await run(
    process.execPath,
    ['--conditions=mcp-fleet-source', '--import', 'tsx', 'packages/cli/src/main.ts', ...args],
    { cwd: ROOT, env: process.env },
  );
  return stdout.trim();
}

async function connect(url: string, token: string): Promise<Client> {
  const client = new Client(
    { name: 'support-scenario', version: '1.0.0' },
    { versionNegotiation: { mode: 'auto' } },
  );
  await client.connect(
    new StreamableHTTPClientTransport(new URL(url), {
      requestInit: { headers: { authorization: `Bearer ${token}` } },
    }),
  );
  return client;
}

/** One printed step. */
export interface Step {
  step: number;
  server: string;
  tool: string;
  sent: Record<string, unknown>;
  /** A short line of what came back. */
  got: string;
  /** ok, cached, replayed, awaiting_approval, approved, or the refusal code the fleet answered. */
  outcome: string;
  data?: Record<string, unknown>;
  approvalId?: string;
}

let n = 0;
function print(s: Omit<Step, 'step'>): Step {
  const step = { step: ++n, ...s };
  if (opts.json) process.stdout.write(`${JSON.stringify(step)}\n`);
  else
    process.stdout.write(
      `\n${String(step.step).padStart(2)}. ${s.server} · ${s.tool}\n` +
        `    sent     ${JSON.stringify(s.sent)}\n` +
        `    got      ${s.got}\n` +
        `    outcome  ${s.outcome}\n`,
    );
  return step;
}
function say(text: string): void {
  if (!opts.json) process.stdout.write(`${text}\n`);
}

interface Answer {
  isError?: boolean;
  content?: { type: string; text?: string }[];
  structuredContent?: Record<string, unknown>;
  _meta?: Record<string, unknown>;
}

/** Calls a tool and prints the step; `summary` turns structured content into a short line. */
async function call(
  client: Client,
  server: string,
  tool: string,
  args: Record<string, unknown>,
  summary: (d: Record<string, unknown>) => string,
): Promise<Step> {
  const r = (await client.callTool({ name: tool, arguments: args })) as Answer;
  const meta = r._meta ?? {};
  const text = (r.content ?? []).map((c) => c.text ?? '').join(' ');
  const governance = meta['io.mcp-fleet/governance'] as { approvalId?: string } | undefined;
  if (r.isError) {
    const code = (meta['io.mcp-fleet/error'] as { code?: string } | undefined)?.code ?? 'error';
    return print({
      server,
      tool,
      sent: args,
      got: short(text),
      outcome: code,
      ...(governance?.approvalId ? { approvalId: governance.approvalId } : {}),
    });
  }
  const data = r.structuredContent ?? {};
  const outcome = meta['io.mcp-fleet/replayed']
    ? 'replayed (the stored answer of the first send: nothing sent again)'
    : (meta['io.mcp-fleet/cache'] as { hit?: boolean } | undefined)?.hit
      ? 'cached (served from the fleet cache: no upstream call)'
      : 'ok';
  return print({ server, tool, sent: args, got: short(summary(data)), outcome, data });
}

function short(text: string): string {
  const one = text.replace(/\s+/g, ' ').trim();
  return one.length > 160 ? `${one.slice(0, 157)}...` : one;
}

function first<T = Record<string, unknown>>(d: Record<string, unknown>, key: string): T {
  const list = d[key] as T[] | undefined;
  if (!list?.length) throw new Error(`expected at least one item in "${key}": ${JSON.stringify(d)}`);
  return list[0]!;
}

async function main(): Promise<void> {
  say(`Support scenario (run ${RUN}), agent "${AGENT}" of tenant acme, against ${urls.database}...`);
  say(
    `A customer (${EMAIL}) writes in: "The 5.00 USD card fee was charged twice on our last payment. Please refund one."`,
  );

  // Tokens, as a user mints them: one support token for the four servers a support agent uses, and an
  // admin token for the admin server (acting for carol, the support person the agent works for).
  const [support, admin] = await Promise.all([
    fleet('token', '--agent', AGENT, '--role', 'support', '--all'),
    fleet('token', ...['--agent', AGENT, '--role', 'admin', '--server', 'admin', '--user', 'carol']),
  ]);
  const db = await connect(urls.database!, support);
  const vendors = await connect(urls['vendor-apis']!, support);
  const files = await connect(urls.files!, support);
  const comm = await connect(urls.communication!, support);
  const billing = await connect(urls.admin!, admin);
  try {
    // 1. Who is it? The warehouse (database), then Stripe and HubSpot (vendor-apis).
    const found = await call(db, 'database', 'find_customers', { query: EMAIL }, (d) => {
      const [id, name, email] = first<unknown[]>(d, 'rows');
      return `warehouse customer ${String(id)}: ${String(name)} <${String(email)}>`;
    });
    const customerId = first<unknown[]>(found.data!, 'rows')[0];
    await call(db, 'database', 'list_customer_tickets', { customer_id: customerId }, (d) => {
      const rows = (d.rows as unknown[]) ?? [];
      return `${rows.length} earlier ticket(s)`;
    });
    const stripeArgs = { email: EMAIL };
    const customer = await call(vendors, 'vendor-apis', 'stripe_search_customers', stripeArgs, (d) => {
      const c = first<{ id: string; name: string }>(d, 'customers');
      return `Stripe customer ${c.id} (${c.name})`;
    });
    // The same read again: the fleet answers it from its cache (vendor reads are cacheable).
    await call(
      vendors,
      'vendor-apis',
      'stripe_search_customers',
      stripeArgs,
      (d) => `Stripe customer ${first<{ id: string }>(d, 'customers').id}`,
    );
    const stripeCustomer = first<{ id: string }>(customer.data!, 'customers').id;
    const payments = await call(
      vendors,
      'vendor-apis',
      'stripe_list_payments',
      { customer_id: stripeCustomer, limit: 3 },
      (d) => {
        const p = first<{ id: string; amount: number; currency: string; status: string }>(d, 'payments');
        return `newest payment ${p.id}: ${p.amount} ${p.currency} (${p.status})`;
      },
    );
    const listed = (payments.data!.payments as { id: string; amount: number; currency: string }[]) ?? [];
    const payment = listed[0]!;
    await call(vendors, 'vendor-apis', 'hubspot_search_contacts', { email: EMAIL }, (d) => {
      const c = first<{ id: string; firstName?: string; lastName?: string }>(d, 'contacts');
      return `HubSpot contact ${c.id} (${c.firstName ?? ''} ${c.lastName ?? ''})`;
    });

    // 2. What does the runbook say? (files)
    await call(files, 'files', 'read_document', { path: 'docs/support/refund-policy.md' }, (d) =>
      String(d.content ?? d.text ?? JSON.stringify(d)),
    );

    // 3. Open a ticket and tell the team (communication), each with an idempotency key; the Slack
    //    post is sent twice, as an agent retrying after a lost answer would: the second is replayed.
    const ticket = await call(
      comm,
      'communication',
      'create_ticket',
      {
        project: 'SUP',
        issue_type: 'Task',
        summary: `Refund request from ${EMAIL}`,
        description: `Card fee (${FEE} ${payment.currency}) charged twice; payment ${payment.id}.`,
        idempotency_key: `example-${RUN}-ticket`,
      },
      (d) => `ticket ${String(d.key)}`,
    );
    const post = {
      channel: '#support-escalations',
      text: `${String(ticket.data?.key)}: refund of ${(FEE / 100).toFixed(2)} ${payment.currency.toUpperCase()} requested for ${EMAIL} (payment ${payment.id})`,
      idempotency_key: `example-${RUN}-slack`,
    };
    const summary = (d: Record<string, unknown>) => `posted, ts ${String(d.ts)}`;
    await call(comm, 'communication', 'slack_post_message', post, summary);
    await call(comm, 'communication', 'slack_post_message', post, summary);

    // 4. The refund (admin): held for a person; nothing reaches Stripe until someone approves. (When
    //    earlier runs on this fleet have refunded the newest payment in full, the next one is used.)
    let refund: Record<string, unknown> = {};
    let held: Step | undefined;
    for (const p of listed) {
      refund = {
        payment_intent: p.id,
        amount: FEE,
        currency: p.currency,
        reason: 'duplicate',
        idempotency_key: `example-${RUN}-refund`,
      };
      held = await call(billing, 'admin', 'issue_refund', refund, (d) => JSON.stringify(d));
      if (held.outcome === 'awaiting_approval') break;
    }
    if (held?.outcome !== 'awaiting_approval' || !held.approvalId)
      throw new Error(
        `expected the refund to wait for an approval, got ${held?.outcome} (restart the fleet for fresh demo data)`,
      );
    const approvalsUrl = urls.admin!.replace(/\/mcp$/, '');
    if (opts['auto-approve']) {
      // alice, a demo approver (not carol, for whom the agent acts), approves through the approvals API.
      const approver = await fleet('token', '--approver', 'alice', '--server', 'admin');
      const res = await fetch(`${approvalsUrl}/approvals/${encodeURIComponent(held.approvalId)}/approve`, {
        method: 'POST',
        headers: { authorization: `Bearer ${approver}`, 'content-type': 'application/json' },
        body: JSON.stringify({ note: `support scenario ${RUN}: duplicate charge confirmed` }),
      });
      const body = (await res.json()) as { status?: string; error?: string };
      print({
        server: 'admin',
        tool: `POST /approvals/${held.approvalId}/approve (as alice)`,
        sent: { note: `support scenario ${RUN}: duplicate charge confirmed` },
        got: `${res.status} ${body.status ?? body.error ?? ''}`,
        outcome: res.ok ? String(body.status) : `refused: ${body.error}`,
      });
      if (!res.ok) throw new Error(`the approval was refused: ${JSON.stringify(body)}`);
    } else {
      say(
        `\nThe refund waits for a person. Open ${approvalsUrl}/console, sign in as alice / dev and approve\n` +
          `request ${held.approvalId} (or: pnpm fleet approvals approve ${held.approvalId} --token "$(pnpm --silent fleet token --approver alice)").`,
      );
      if (!process.stdin.isTTY || opts.json) {
        say('Run again with --auto-approve to have alice approve it through the approvals API.');
        return;
      }
      const rl = createInterface({ input: process.stdin, output: process.stdout });
      await rl.question('Press Enter once it is approved... ');
      rl.close();
    }
    // 5. The agent asks again with the approval id: the refund runs, once.
    const done = await call(
      billing,
      'admin',
      'issue_refund',
      { ...refund, approval_id: held.approvalId },
      (d) => {
        const r = d.refund as { id: string; amount: number; currency: string; status: string } | undefined;
        return r ? `refund ${r.id}: ${r.amount} ${r.currency} (${r.status})` : JSON.stringify(d);
      },
    );
    if (done.outcome !== 'ok') throw new Error(`the approved refund did not run: ${done.got}`);
    say(`\nDone. The audit trail of this run: ${approvalsUrl}/console (agent ${AGENT}).`);
  } finally {
    await Promise.all([db, vendors, files, comm, billing].map((c) => c.close()));
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`support scenario failed: ${(err as Error).message}\n`);
  process.exitCode = 1;
});
