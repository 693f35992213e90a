// Currencies as Stripe counts them: how many digits a minor unit has (JPY none: amount 1200 is
// ¥1,200; KWD three), amounts shown to people, and the refund cap per currency.

/** Stripe's zero-decimal currencies. */
const ZERO_DECIMAL: ReadonlySet<string> = new Set([
  'bif',
  'clp',
  'djf',
  'gnf',
  'jpy',
  'kmf',
  'krw',
  'mga',
  'pyg',
  'rwf',
  'ugx',
  'vnd',
  'vuv',
  'xaf',
  'xof',
  'xpf',
]);
/** Stripe's three-decimal currencies. */
const THREE_DECIMAL: ReadonlySet<string> = new Set(['bhd', 'jod', 'kwd', 'omr', 'tnd']);

/** Digits of a currency's minor unit (0, 2 or 3). */
export const exponentOf = (currency: string): number =>
  ZERO_DECIMAL.has(currency) ? 0 : THREE_DECIMAL.has(currency) ? 3 : 2;

/** `1,234.50 USD`, `12,000 JPY`: an amount in minor units as a person reads it. */
export function formatMinor(minor: number, currency: string): string {
  const exp = exponentOf(currency);
  const major = (minor / 10 ** exp).toLocaleString('en-US', {
    minimumFractionDigits: exp,
    maximumFractionDigits: exp,
  });
  return `${major} ${currency.toUpperCase()}`;
}

/** The refund cap: a default in two-decimal minor units, and exact caps of some currencies. */
export interface RefundCap {
  /** Minor units of a two-decimal currency; other exponents get the same number of major units. */
  default: number;
  /** Exact caps in the currency's own minor units. */
  byCurrency: Readonly<Record<string, number>>;
}

/** The default cap: 100000 (1,000.00 USD; 1,000 major units of any currency). */
export const DEFAULT_REFUND_CAP = 100_000;

/** Parses ADMIN_REFUND_MAX_MINOR; a string says why it is refused. */
export function parseRefundCap(v: string | undefined): RefundCap | string {
  const cap: { default: number; byCurrency: Record<string, number> } = {
    default: DEFAULT_REFUND_CAP,
    byCurrency: {},
  };
  if (v === undefined || v.trim() === '') return cap;
  for (const part of v.split(/[\s,]+/).filter(Boolean)) {
    const m = /^(?:([a-z]{3}):)?(\d{1,15})$/.exec(part.toLowerCase());
    if (!m) return 'must be an integer or entries <currency>:<integer> (e.g. usd:100000,jpy:150000)';
    const n = Number(m[2]);
    if (n < 1) return 'must be at least 1';
    if (m[1] === undefined) cap.default = n;
    else cap.byCurrency[m[1]] = n;
  }
  return cap;
}

/** The largest refund of one call in `currency`'s minor units. */
export function capFor(cap: RefundCap, currency: string): number {
  const exact = cap.byCurrency[currency];
  if (exact !== undefined) return exact;
  const exp = exponentOf(currency);
  return exp >= 2 ? cap.default * 10 ** (exp - 2) : Math.floor(cap.default / 10 ** (2 - exp));
}
