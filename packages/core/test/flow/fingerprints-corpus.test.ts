// Copy detection on a realistic case: `SELECT name, email, plan, mrr FROM billing.customers` as the
// database server returns it (structuredContent columns/rows and an aligned text table), then pasted
// into a Slack post or an e-mail as a markdown table, as CSV, or reworded into a sentence. Each paste
// is found with >= 2 distinct values (the policy's default minMatches); ordinary support replies are not.
import { describe, expect, it } from 'vitest';
import { contentWindows, copiedValues, resultFingerprints } from '../../src/flow/fingerprints.js';

const KEY = new TextEncoder().encode('corpus-test-key-0123456789abcdef');

/** Distinct values of a read copied into a text, as copy detection counts them (copiedValues). */
const values = (fps: ReadonlySet<string>, content: string) =>
  copiedValues(contentWindows([content], KEY), (f) => fps.has(f)).length;

const ROWS: [string, string, string, number][] = [
  ['Acme Corp', 'jane@acme.io', 'enterprise', 1200],
  ['Globex Industries', 'hank.scorpio@globex.example', 'business', 4875.5],
  ['Initech LLC', 'bill.lumbergh@initech.example', 'team', 990],
  ['Vandelay Imports', 'art@vandelay-imports.example', 'starter', 29],
  ['Kowalczyk & Petrova GmbH', 'finance@kp-gmbh.example', 'enterprise', 12_450.75],
];

/** The result as the database server's run_query returns it (structuredContent and text). */
const structured = {
  columns: [
    { name: 'name', type: 'text' },
    { name: 'email', type: 'text' },
    { name: 'plan', type: 'text' },
    { name: 'mrr', type: 'numeric' },
  ],
  rows: ROWS,
  rowCount: ROWS.length,
  truncated: false,
  truncatedBy: null,
  elapsedMs: 14,
};
const text = [
  'name                     | email                         | plan       | mrr',
  '-------------------------+-------------------------------+------------+---------',
  ...ROWS.map((r) => `${r[0].padEnd(24)} | ${r[1].padEnd(29)} | ${r[2].padEnd(10)} | ${r[3]}`),
  `(${ROWS.length} rows, 14 ms)`,
].join('\n');

const money = (n: number) => `$${n.toLocaleString('en-US', { minimumFractionDigits: 2 })}`;

const PASTES: Record<string, string> = {
  'markdown table': [
    'Here are our top accounts for the QBR:',
    '',
    '| Customer | Contact | Plan | MRR |',
    '|---|---|---|---:|',
    ...ROWS.map((r) => `| ${r[0]} | ${r[1]} | ${r[2]} | ${money(r[3])} |`),
  ].join('\n'),
  csv: ['customer,contact,plan,mrr', ...ROWS.map((r) => `"${r[0]}",${r[1]},${r[2]},${r[3]}`)].join('\n'),
  'prose sentence': 'Quick update: Acme Corp — jane@acme.io — $1,200/mo is renewing, ping me if questions.',
  'disguised prose':
    'FYI g1obex is fine but GLOBEX   INDUSTRIES (HANK.SCORPIO@GLOBEX.EXAMPLE) pays $4,875.50 a month.',
  'e-mail with one row reworded':
    'Hi team,\n\nthe account Kowalczyk and Petrova GmbH (finance@kp‑gmbh.example) is at 12450.75 per month.\n\nBest,\nSam',
};

const NORMAL_REPLIES = [
  "Thanks, I've reset your password; the invoice is attached",
  'Hi Jane, thanks for reaching out! I have reset your password and the invoice for this month is attached. Let me know if anything else comes up.',
  'Our enterprise plan includes SSO and a 99.9% uptime SLA; the business plan starts at $299 per month.',
  'The incident on 2024-11-03 was resolved within 45 minutes; we have published a postmortem.',
  'Reminder: the team standup moves to 10:30 on Monday. Please update your tickets before then.',
];

describe('copy detection corpus: billing.customers', () => {
  for (const [label, result] of [
    ['structuredContent', { structured }],
    ['text table', { text }],
    ['both', { structured, text }],
  ] as const) {
    const fps = new Set(resultFingerprints(result, KEY));
    const matches = (content: string) => values(fps, content);

    for (const [how, pasted] of Object.entries(PASTES))
      it(`${label}: a paste as ${how} is found with >= 2 distinct values`, () => {
        expect(matches(pasted)).toBeGreaterThanOrEqual(2);
      });

    it(`${label}: ordinary support replies are not`, () => {
      expect(matches(NORMAL_REPLIES[0] as string)).toBe(0);
      for (const reply of NORMAL_REPLIES) expect(matches(reply)).toBeLessThan(2);
    });

    it(`${label}: column names and the footer are not values`, () => {
      expect(matches('name email plan mrr rows ms numeric text')).toBe(0);
    });
  }
});

describe('copy detection corpus: amounts in cents and timestamps', () => {
  const result = {
    structured: {
      columns: [
        { name: 'customer', type: 'text' },
        { name: 'mrr_cents', type: 'integer' },
        { name: 'started_at', type: 'timestamptz' },
      ],
      rows: [
        ['Granite Health 117', 120050, '2024-03-15T10:22:01.000Z'],
        ['Lumen Retail 42', 4_587_599, '2025-07-01T00:00:00.000Z'],
      ],
      rowCount: 2,
      truncated: false,
      truncatedBy: null,
      elapsedMs: 3,
    },
  };
  const fps = new Set(resultFingerprints(result, KEY));
  const matches = (content: string) => values(fps, content);

  it('an amount read in cents is found as dollars, a timestamp as its date', () => {
    expect(matches('Granite Health 117 pays $1,200.50 a month, customer since 2024-03-15.')).toBe(3);
    expect(matches('Lumen Retail 42: $45,875.99')).toBe(2);
    expect(matches('renewal at 2025-07-01T00:00:00.000Z')).toBeGreaterThanOrEqual(1);
  });

  it('the column names are not values', () => {
    expect(matches('customer mrr_cents started_at')).toBe(0);
  });
});

describe('copy detection corpus: text-only results', () => {
  const count = (result: { text: string }, content: string) =>
    values(new Set(resultFingerprints(result, KEY)), content);
  const card =
    'Contact\nName: Marguerite Fairweather\nEmail: m.fairweather@wonka.example\nPhone: +1 415 555 0142\nTier: gold';
  const record =
    'Found 1 customer: Wonka Industries (m.fairweather@wonka.example) - balance $12,345.67 - since 2021-04-09';
  const json = JSON.stringify({
    data: [{ id: 'cus_Q8xT2mLp9', customer_name: 'Wonka Industries', balance: 1_234_567 }],
  });

  it('"key: value" lines, a record written out, and JSON text are found when pasted', () => {
    // (The phone number written without its +1 is not one of them: a known gap.)
    expect(
      count({ text: card }, 'Reach Marguerite Fairweather at m.fairweather@wonka.example or 415-555-0142.'),
    ).toBeGreaterThanOrEqual(2);
    expect(
      count({ text: record }, 'wonka industries owes 12345.67, contact M.Fairweather@Wonka.example'),
    ).toBeGreaterThanOrEqual(3);
    expect(
      count({ text: json }, 'Customer cus_Q8xT2mLp9 (Wonka Industries) has $12,345.67 outstanding'),
    ).toBe(3);
  });

  it('their field names and ordinary replies are not', () => {
    expect(count({ text: card }, 'Name, email, phone and tier are required fields.')).toBe(0);
    expect(count({ text: json }, 'customer_name and balance are in the export; the id column too')).toBe(0);
    for (const reply of NORMAL_REPLIES) expect(count({ text: record }, reply)).toBe(0);
  });
});
