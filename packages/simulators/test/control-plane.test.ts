// Every HTTP simulator's control plane (for driving the local fleet by hand): what reached it, faults set
// and cleared over HTTP. Exercised with the real Stripe SDK so the fault lands on a real vendor call.
import Stripe from 'stripe';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { STRIPE_SIM, type StartedStripeSimulator, startStripeSimulator } from '../src/stripe/index.js';

let sim: StartedStripeSimulator;
let stripe: Stripe;
beforeAll(async () => {
  sim = await startStripeSimulator();
  const u = new URL(sim.url);
  stripe = new Stripe(STRIPE_SIM.restrictedKey, {
    host: u.hostname,
    port: Number(u.port),
    protocol: 'http',
    maxNetworkRetries: 0,
    httpClient: Stripe.createFetchHttpClient(),
  });
});
afterAll(async () => {
  await sim?.close();
});

const control = (path: string, init?: RequestInit) => fetch(`${sim.url}/_simulator/${path}`, init);
const setFault = (body: unknown) =>
  control('faults', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });

it('lists what reached the vendor API, not its own control calls', async () => {
  await stripe.customers.list({ limit: 1 }, { stripeAccount: STRIPE_SIM.tenants.acme.account });
  const out = (await (await control('requests')).json()) as { requests: { path: string }[] };
  expect(out.requests.map((r) => r.path)).toEqual(['/v1/customers']);
});

it('fails the next call of an operation once, every call until cleared, and refuses a malformed fault', async () => {
  const opts = { stripeAccount: STRIPE_SIM.tenants.acme.account };
  expect((await setFault({ operation: '*', fault: { status: 503 } })).status).toBe(200);
  await expect(stripe.customers.list({ limit: 1 }, opts)).rejects.toMatchObject({ statusCode: 503 });
  await expect(stripe.customers.list({ limit: 1 }, opts)).resolves.toMatchObject({ object: 'list' });

  expect((await setFault({ operation: '*', fault: { status: 500 }, once: false })).status).toBe(200);
  await expect(stripe.customers.list({ limit: 1 }, opts)).rejects.toMatchObject({ statusCode: 500 });
  await expect(stripe.customers.list({ limit: 1 }, opts)).rejects.toMatchObject({ statusCode: 500 });
  expect((await control('faults', { method: 'DELETE' })).status).toBe(200);
  await expect(stripe.customers.list({ limit: 1 }, opts)).resolves.toMatchObject({ object: 'list' });

  expect((await setFault({ fault: { status: 500 } })).status).toBe(400);
  await expect(stripe.customers.list({ limit: 1 }, opts)).resolves.toMatchObject({ object: 'list' });
});
