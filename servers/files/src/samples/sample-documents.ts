// Realistic sample documents for the local fleet (`pnpm start`): a small company's handbook,
// support runbooks, product data, a finance summary and a PDF, under `docs/`. Reports go to the empty `reports/`.
import { makePdf } from './make-pdf.js';

/** Path (relative to the root) → content. */
export function sampleDocuments(): Record<string, string | Buffer> {
  return {
    'docs/README.md': `# Company documents

This tree is served by the **files** MCP server. Support agents may read \`docs/\`; analysts may
also read and write \`reports/\`.

- \`handbook/\` — how we work
- \`support/\` — policies and runbooks for the support team
- \`products/\` — price list and catalogue
- \`security/\` — the incident response plan (PDF)
- \`finance/\` — board summaries (confidential: the example policy labels them \`financial\`)
`,
    'docs/finance/q3-2026-board-summary.md': `# Q3 2026 board summary (confidential)

| Metric                  | Q2 2026     | Q3 2026     |
|-------------------------|-------------|-------------|
| Monthly recurring rev.  | 412,800 EUR | 447,300 EUR |
| Net revenue retention   | 108%        | 111%        |
| Gross margin            | 78.2%       | 79.0%       |
| Cash runway             | 26 months   | 25 months   |

Largest accounts by MRR: Initech (18,400 EUR), Acme (15,900 EUR), Globex (12,250 EUR).
Refunds issued in Q3: 31,120 EUR (0.7% of revenue). Not for distribution outside the company.
`,
    'docs/handbook/employee-handbook.md': `# Employee handbook

## Working hours
Core hours are 10:00–16:00 in your local time zone. Outside core hours, work when it suits you.

## Time off
Everyone has 27 days of paid leave per year, plus public holidays. Request leave in the HR portal
at least two weeks ahead for anything longer than three days.

## Expenses
Submit receipts within 30 days. Travel over 500 EUR needs approval from your manager first.
`,
    'docs/handbook/remote-work-policy.md': `# Remote work policy

Employees may work remotely up to four days a week. Fully remote contracts are approved by the
head of department. A home-office allowance of 40 EUR per month covers internet and equipment.

Security: use the company VPN on public networks and lock your screen when you step away.
`,
    'docs/support/refund-policy.md': `# Refund policy

1. Annual plans can be refunded in full within **30 days** of purchase.
2. After 30 days, refunds are pro-rated for the unused months.
3. Monthly plans are not refunded; cancel any time to stop the next charge.
4. Refunds above 1,000 EUR need approval from a support lead.

Refunds are issued to the original payment method within 5–10 business days.
`,
    'docs/support/escalation-runbook.md': `# Escalation runbook

| Severity | Example                              | Respond within | Escalate to        |
|----------|--------------------------------------|----------------|--------------------|
| SEV1     | Checkout down for all customers      | 15 minutes     | On-call engineer   |
| SEV2     | Invoices delayed, workaround exists  | 2 hours        | Team lead          |
| SEV3     | Cosmetic bug, single customer        | 1 business day | Product backlog    |

Always open a ticket first, then page. Include the customer id, the time the problem started and
what the customer already tried.
`,
    'docs/support/faq.txt': `Frequently asked questions
==========================

Q: How do I reset my password?
A: Use "Forgot password" on the sign-in page. The link is valid for 60 minutes.

Q: Can I change my billing currency?
A: Yes, once per year, from Settings > Billing. The change applies from the next invoice.

Q: Where do I find my invoices?
A: Settings > Billing > Invoices. Each invoice can be downloaded as a PDF.
`,
    'docs/products/pricing-2026.csv': `plan,monthly_eur,annual_eur,seats_included,support
Starter,19,190,3,email
Team,49,490,10,email+chat
Business,129,1290,50,priority
Enterprise,custom,custom,unlimited,dedicated manager
`,
    'docs/products/catalog.json': `${JSON.stringify(
      {
        updated: '2026-10-01',
        products: [
          { sku: 'CRM-STARTER', name: 'CRM Starter', category: 'crm', active: true },
          { sku: 'CRM-TEAM', name: 'CRM Team', category: 'crm', active: true },
          { sku: 'ANALYTICS-ADDON', name: 'Analytics add-on', category: 'addon', active: true },
          { sku: 'LEGACY-SYNC', name: 'Legacy sync connector', category: 'addon', active: false },
        ],
      },
      null,
      2,
    )}\n`,
    'docs/release-notes.txt': `Release notes

2026.11 - Dashboards can be shared with read-only links. CSV export is 3x faster.
2026.10 - Two-factor authentication is required for all admin accounts.
2026.09 - New Analytics add-on with cohort retention charts.
`,
    'docs/security/incident-response-plan.pdf': makePdf(
      [
        [
          'Incident Response Plan',
          '',
          '1. Detect: alerts page the on-call engineer; anyone may declare an incident.',
          '2. Contain: isolate affected systems; rotate exposed credentials within one hour.',
          '3. Communicate: the incident lead posts updates every 30 minutes.',
        ],
        [
          'Post-incident review',
          '',
          'A blameless review is held within five business days.',
          'Customer notification follows the data protection policy: within 72 hours.',
        ],
      ],
      'Incident Response Plan',
    ),
  };
}
