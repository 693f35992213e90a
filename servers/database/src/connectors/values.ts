// How warehouse values become JSON for a model: exact where JSON can be exact, text otherwise.
import pg from 'pg';

const INT8 = 20;
const NUMERIC = 1700;
const JSON_OID = 114;
const JSONB = 3802;
/** Deepest json/jsonb value turned into structure; deeper ones stay text (the caller sees them as such). */
export const MAX_JSON_DEPTH = 64;
/** Largest json/jsonb text parsed into structure (the result's byte cap is far below it anyway). */
export const MAX_JSON_PARSE_BYTES = 1024 * 1024;
// Dates and times stay as PostgreSQL prints them: no time-zone shifts through JS Date.
const TEXT_AS_IS = new Set([1082, 1083, 1114, 1184, 1266, 1186, 1115, 1182, 1185, 1183, 1270, 1187]);

/** Nesting depth of JSON text, strings skipped: one linear pass, no recursion. */
function jsonDepth(text: string): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92 /* \\ */) i++;
      else if (c === 34 /* " */) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 91 /* [ */ || c === 123 /* { */) max = Math.max(max, ++depth);
    else if (c === 93 /* ] */ || c === 125 /* } */) depth--;
  }
  return max;
}

/**
 * json and jsonb become structure only while that is cheap and shallow: a value nested thousands deep
 * (PostgreSQL accepts it) would overflow every recursive walker after it (JSON.stringify, the
 * result's conversion), and a huge one would become millions of objects only to be cut by the byte
 * cap. Those stay the text PostgreSQL sent.
 */
function parseJson(text: string): unknown {
  if (text.length > MAX_JSON_PARSE_BYTES || jsonDepth(text) > MAX_JSON_DEPTH) return text;
  return JSON.parse(text);
}

function parseInt8(text: string): number | string {
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : text;
}

/**
 * Type parsers for warehouse results (per pool, never the process-global pg types): bigint
 * becomes a number while it is exact, numeric stays a string (exact decimals), dates and
 * timestamps stay text, json/jsonb become structure only when shallow and small (parseJson),
 * everything else uses node-postgres' defaults.
 */
export const warehouseTypes: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: string) => {
    if (format === 'binary') return pg.types.getTypeParser(oid, 'binary');
    if (oid === INT8) return parseInt8;
    if (oid === JSON_OID || oid === JSONB) return parseJson;
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
