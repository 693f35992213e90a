// Stripe pieces without a server: the key posture (THREATS V4), the id schemas against smuggling
// (V6), the search query builder read back by the simulator's parser (no value adds a clause), and the
// error classification of real SDK errors (V16: nothing of the key, request log or body survives).

import { parseSearchQuery, SearchQueryError, STRIPE_SIM, startStripeSimulator } from '@mcp-fleet/simulators';
import fc from 'fast-check';
import Stripe from 'stripe';
import { describe, expect, it } from 'vitest';
import { chargeId, customerId, invoiceId, paymentIntentId, subscriptionId } from '../src/stripe/ids.js';
import {
  classifyStripeError,
  customerSearchQuery,
  quoteSearchValue,
  stripeKeyPosture,
} from '../src/stripe/index.js';

/** Strings the transport can carry: no NUL, no lone surrogates. */
const value = fc.string({ unit: 'grapheme', maxLength: 60 }).filter((s) => !s.includes('\u0000'));

describe('stripeKeyPosture (V4)', () => {
  it('accepts restricted keys, secret keys only when allowed, and refuses the rest without echoing them', () => {
    expect(stripeKeyPosture('rk_live_abcdefgh12345678', false)).toEqual({ ok: true, mode: 'restricted' });
    expect(stripeKeyPosture('rk_test_abcdefgh12345678', true)).toEqual({ ok: true, mode: 'restricted' });
    expect(stripeKeyPosture('sk_live_abcdefgh12345678', true)).toEqual({ ok: true, mode: 'secret' });
    const sk = stripeKeyPosture('sk_live_abcdefgh12345678', false);
    expect(sk.ok).toBe(false);
    expect(!sk.ok && sk.reason).toContain('STRIPE_ALLOW_SECRET_KEY');
    for (const k of [
      'pk_live_abcdefgh12345678',
      'whsec_abcdefgh12345678',
      'garbage-key-1234',
      'rk_live_x',
      'sk_live_a/b',
    ]) {
      const p = stripeKeyPosture(k, true);
      expect(p.ok, k).toBe(false);
      expect(!p.ok && p.reason).not.toContain(k.slice(3));
    }
    expect(stripeKeyPosture(undefined, true)).toEqual({ ok: false, reason: 'STRIPE_API_KEY is not set' });
  });
});

describe('Stripe ids (V6)', () => {
  const schemas = { cus: customerId, in: invoiceId, pi: paymentIntentId, sub: subscriptionId, ch: chargeId };
  it('accepts real-looking ids up to 255 characters', () => {
    for (const [p, s] of Object.entries(schemas)) {
      expect(s.safeParse(`${p}_1McpFleetAbc09`).success).toBe(true);
      expect(s.safeParse(`${p}_${'a'.repeat(254 - p.length)}`).success).toBe(true);
      expect(s.safeParse(`${p}_${'a'.repeat(255 - p.length)}`).success).toBe(false);
    }
    expect(customerId.safeParse('in_123').success).toBe(false);
  });

  it('refuses any id with a path, query, fragment, encoding, dot, space or non-ASCII character', () => {
    const hostile = fc.constantFrom(
      '/',
      '?',
      '#',
      '%',
      '%2F',
      '%2e%2e',
      '.',
      '..',
      '\\',
      '&',
      '=',
      ' ',
      '\t',
      '\n',
      '\u00e9',
      '\u2215',
      '\uff0f',
      '１',
      '[',
      ']',
    );
    fc.assert(
      fc.property(
        fc.constantFrom(...Object.keys(schemas)),
        fc.stringMatching(/^[A-Za-z0-9]{0,20}$/),
        hostile,
        value,
        (p, a, h, b) => {
          expect(schemas[p as keyof typeof schemas].safeParse(`${p}_${a}${h}${b}`).success).toBe(false);
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('customer search query (typed filters, quoted)', () => {
  it('reads back every value as exactly one clause with exactly that value', () => {
    fc.assert(
      fc.property(value, fc.constantFrom('email', 'name', 'nameContains'), (v, f) => {
        const q = customerSearchQuery({ [f]: v });
        let parsed: ReturnType<typeof parseSearchQuery>;
        try {
          parsed = parseSearchQuery(q);
        } catch (e) {
          // Only the substring length rule may refuse (Stripe's own minimum, checked by the tool first).
          expect(e).toBeInstanceOf(SearchQueryError);
          expect(f).toBe('nameContains');
          expect([...v].length).toBeLessThan(3);
          return;
        }
        expect(parsed.clauses).toEqual([
          {
            field: f === 'email' ? 'email' : 'name',
            op: f === 'nameContains' ? '~' : ':',
            value: v,
            negated: false,
          },
        ]);
      }),
      { numRuns: 1000 },
    );
  });

  it('keeps hostile values inside their clause when filters are combined', () => {
    fc.assert(
      fc.property(value, value, (a, b) => {
        const q = customerSearchQuery({ email: a, name: b });
        expect(parseSearchQuery(q)).toEqual({
          join: 'AND',
          clauses: [
            { field: 'email', op: ':', value: a, negated: false },
            { field: 'name', op: ':', value: b, negated: false },
          ],
        });
      }),
      { numRuns: 500 },
    );
    expect(quoteSearchValue('x" OR email:"y\\')).toBe('"x\\" OR email:\\"y\\\\"');
  });
});

describe('classifyStripeError (V16)', () => {
  it('turns real SDK errors into short kinds without the key, request id, log URL or body', async () => {
    const sim = await startStripeSimulator();
    const u = new URL(sim.url);
    const sdk = (key: string) =>
      new Stripe(key, {
        host: u.hostname,
        port: Number(u.port),
        protocol: 'http',
        httpClient: Stripe.createFetchHttpClient(),
        maxNetworkRetries: 0,
        stripeAccount: STRIPE_SIM.tenants.acme.account,
      });
    const failOf = async (p: Promise<unknown>) => {
      try {
        await p;
      } catch (e) {
        return e;
      }
      throw new Error('expected an error');
    };
    const secret = 'rk_test_SECRETsecretSECRET9999';
    try {
      const cases: [unknown, string, number | undefined][] = [];
      cases.push([await failOf(sdk(secret).customers.retrieve('cus_x')), 'auth', undefined]);
      cases.push([
        await failOf(sdk(STRIPE_SIM.restrictedKey).customers.retrieve('cus_nope')),
        'not_found',
        undefined,
      ]);
      cases.push([
        await failOf(sdk(STRIPE_SIM.restrictedKey).customers.update('cus_nope', {})),
        'auth',
        undefined,
      ]);
      sim.simulator.failNext('customers.retrieve', { rateLimit: 7 });
      cases.push([
        await failOf(sdk(STRIPE_SIM.restrictedKey).customers.retrieve('cus_x')),
        'rate_limited',
        7000,
      ]);
      sim.simulator.failNext('customers.retrieve', { status: 502, message: `upstream said ${secret}` });
      cases.push([
        await failOf(sdk(STRIPE_SIM.restrictedKey).customers.retrieve('cus_x')),
        'unavailable',
        undefined,
      ]);
      sim.simulator.failNext('customers.retrieve', { status: 400, message: `bad ${secret}` });
      cases.push([
        await failOf(sdk(STRIPE_SIM.restrictedKey).customers.retrieve('cus_x')),
        'rejected',
        undefined,
      ]);
      sim.simulator.failNext('customers.retrieve', { drop: true });
      cases.push([
        await failOf(sdk(STRIPE_SIM.restrictedKey).customers.retrieve('cus_x')),
        'unavailable',
        undefined,
      ]);
      for (const [err, kind, retry] of cases) {
        const f = classifyStripeError(err, 'customer cus_x');
        expect(f.kind).toBe(kind);
        expect(f.retryAfterMs).toBe(retry);
        expect(f.cause).toBeUndefined();
        const all = JSON.stringify({ m: f.message, s: f.stack, f });
        expect(all).not.toContain('SECRET');
        expect(all).not.toContain(STRIPE_SIM.restrictedKey.slice(8));
        expect(all).not.toMatch(/dashboard\.stripe\.com|req_[0-9a-z]{8}Sim|request_log_url/);
        expect(f.message.length).toBeLessThan(200);
      }
    } finally {
      await sim.close();
    }
  });
});
