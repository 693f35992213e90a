// How warehouse values become JSON for a model: exact where JSON can be exact, text otherwise.
import pg from 'pg';

const INT8 = 20;
const NUMERIC = 1700;
// Dates and times stay as PostgreSQL prints them: no time-zone shifts through JS Date.
const TEXT_AS_IS = new Set([1082, 1083, 1114, 1184, 1266, 1186, 1115, 1182, 1185, 1183, 1270, 1187]);

function parseInt8(text: string): number | string {
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : text;
}

/**
 * Type parsers for warehouse results (per pool, never the process-global pg types): bigint
 * becomes a number while it is exact, numeric stays a string (exact decimals), dates and
 * timestamps stay text, everything else uses node-postgres' defaults.
 */
export const warehouseTypes: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: string) => {
    if (format === 'binary') return pg.types.getTypeParser(oid, 'binary');
    if (oid === INT8) return parseInt8;
    if (oid === NUMERIC || TEXT_AS_IS.has(oid)) return (v: string) => v;
    return pg.types.getTypeParser(oid, 'text');
  }) as pg.CustomTypesConfig['getTypeParser'],
};

/** Makes a parsed value JSON-safe (Buffers as \x hex, non-finite floats as text). */
export function toJsonValue(value: unknown): unknown {
  if (value === null || value === undefined) return null;
  if (typeof value === 'number') return Number.isFinite(value) ? value : String(value);
  if (typeof value === 'bigint') return value.toString();
  if (Buffer.isBuffer(value)) return `\\x${value.toString('hex')}`;
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? String(value) : value.toISOString();
  if (Array.isArray(value)) return value.map(toJsonValue);
  return value;
}

/** Rough JSON size of a row, for the byte cap. */
export function jsonBytes(row: unknown): number {
  return Buffer.byteLength(JSON.stringify(row) ?? 'null', 'utf8');
}
