// Round 2 (D-4, D-5): salesforce_query's built SOQL has a total size cap (refused before any request),
// and every `limit` advertises its real range (1..vendor max) in the listed input schema while values
// above the max are still clamped silently, never refused; a negative limit is refused.
import type { AnyTool } from '@mcp-fleet/core';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { hubspotTools } from '../src/hubspot/tools/index.js';
import { buildQuery, MAX_SOQL_CHARS } from '../src/salesforce/soql.js';
import { salesforceTools } from '../src/salesforce/tools/index.js';
import { stripeTools } from '../src/stripe/tools/index.js';

const refusedAsInvalid = (fn: () => unknown) => {
  try {
    fn();
  } catch (e) {
    expect((e as { code?: string }).code).toBe('invalid_arguments');
    return (e as Error).message;
  }
  throw new Error('accepted');
};

describe('salesforce_query: total SOQL size (D-4)', () => {
  it('the documented maximum statement length is respected with margin', () => {
    expect(MAX_SOQL_CHARS).toBeLessThanOrEqual(100_000);
    expect(MAX_SOQL_CHARS).toBeGreaterThanOrEqual(5_000);
  });
  it('10 conditions × 100 values × 1000 chars are refused before any request', () => {
    const value = Array.from({ length: 100 }, (_, i) => `${i}`.padEnd(1000, 'x'));
    const where = Array.from({ length: 10 }, () => ({ field: 'Name', op: 'in' as const, value }));
    const msg = refusedAsInvalid(() => buildQuery({ object: 'Account', fields: ['Name'], where }));
    expect(msg).toMatch(/too long/);
  });
  it('one condition of 100 long values (≈100 kB) is refused too', () => {
    const value = Array.from({ length: 100 }, (_, i) => `${i}`.padEnd(1000, 'é'));
    refusedAsInvalid(() =>
      buildQuery({ object: 'Account', fields: ['Name'], where: [{ field: 'Name', op: 'in', value }] }),
    );
  });
  it('an ordinary query still builds (100 ids in a list)', () => {
    const value = Array.from({ length: 100 }, (_, i) => `001${String(i).padStart(15, '0')}`);
    const b = buildQuery({ object: 'Account', fields: ['Name'], where: [{ field: 'Id', op: 'in', value }] });
    expect(b.soql.length).toBeLessThan(MAX_SOQL_CHARS);
  });
});

const byName = (tools: AnyTool[], name: string) => tools.find((t) => t.name === name)!;
const LIMITED: [AnyTool[], string, number][] = [
  [hubspotTools, 'hubspot_search_contacts', 100],
  [hubspotTools, 'hubspot_list_deals', 100],
  [salesforceTools, 'salesforce_query', 2000],
  ...stripeTools
    .filter(
      (t) =>
        'limit' in
        ((z.toJSONSchema(t.input, { io: 'input', unrepresentable: 'any' }) as { properties?: object })
          .properties ?? {}),
    )
    .map((t) => [stripeTools, t.name, 100] as [AnyTool[], string, number]),
];

describe('limit: the real range is advertised, larger values clamped (D-5)', () => {
  it('covers the Stripe tools that take a limit', () => {
    expect(LIMITED.length).toBeGreaterThan(3);
  });
  for (const [tools, name, max] of LIMITED) {
    const t = byName(tools, name);
    it(`${name}: inputSchema says 1..${max}`, () => {
      const json = z.toJSONSchema(t.input, { io: 'input', unrepresentable: 'any' }) as {
        properties: Record<string, { minimum?: number; maximum?: number; description?: string }>;
      };
      expect(json.properties.limit).toMatchObject({ minimum: 1, maximum: max });
      expect(json.properties.limit?.description).toContain(String(max));
    });
    it(`${name}: a limit above ${max} is clamped, 0 and negatives refused`, () => {
      const base = Object.fromEntries(Object.entries(SAMPLE[name] ?? {}).map(([k, v]) => [k, v])) as Record<
        string,
        unknown
      >;
      const big = t.input.safeParse({ ...base, limit: 1e9 });
      expect(big.success).toBe(true);
      expect((big.data as { limit: number }).limit).toBe(max);
      for (const bad of [0, -5]) expect(t.input.safeParse({ ...base, limit: bad }).success).toBe(false);
    });
  }
});

/** Minimal valid arguments besides `limit`. */
const SAMPLE: Record<string, Record<string, unknown>> = {
  hubspot_search_contacts: { email: 'billing@customer1.example.com' },
  hubspot_list_deals: { stage: 'closedwon' },
  salesforce_query: { object: 'Account', fields: ['Name'] },
  stripe_search_customers: { email: 'billing@customer1.example.com' },
  stripe_list_invoices: { customer_id: 'cus_A1' },
  stripe_list_payments: { customer_id: 'cus_A1' },
};
