// The verdict of a load run, from the fleet's own records: each call's audit record is found by its
// marker (the `x-request-id` the load sent, stored as details.clientRequestId in `audit_records`).
// - every call the fleet answered (a result, a refusal or a JSON-RPC error) has exactly one record;
// - a call without any answer (transport error) or refused before MCP (an HTTP status without a
//   JSON-RPC body, or the bearer check's 401/403) may have none, never two;
// - an accepted mutation (a write or an approval answered ok) always has one;
// - the record says what the client was told: an ok answer has an `ok` record without an error code,
//   (or `cached`/`replayed`), a refusal or error with a code has a record with that code
//   (details.errorCode) and not one of those, an error without a code (tool_error, rpc_<n>) a record
//   that is not one of those.
import pg from 'pg';
import type { CallResult } from './traffic.js';

export interface Verdict {
  calls: number;
  /** Audit records found for the calls' markers. */
  records: number;
  /** Answered calls with no record. */
  missing: CallResult[];
  /** Calls with more than one record. */
  duplicated: CallResult[];
  /** Writes and approvals answered ok with no record. */
  acceptedMutationsWithoutRecord: CallResult[];
  /** Calls whose record says otherwise than the answer the client got (see {@link disagreement}). */
  misrecorded: { call: CallResult; outcome: string; errorCode: string | null; why: string }[];
  ok: boolean;
  /** Calls by code. */
  codes: Record<string, number>;
  /** Records per marker (0 when none). */
  recordsOf: (marker: string) => number;
}

/**
 * Whether the fleet answered the call at the MCP level (so its pipeline or host left a record): not a
 * call without an answer, nor one refused by HTTP before MCP (no JSON-RPC body, or a 401/403 of the
 * bearer check).
 */
export function answered(r: CallResult): boolean {
  return (
    r.code !== 'transport_error' &&
    !r.code.startsWith('http_') &&
    r.httpStatus !== 401 &&
    r.httpStatus !== 403
  );
}

/** Whether the call changed something upstream: a write or a resumed approval answered ok. */
export function acceptedMutation(r: CallResult): boolean {
  return (r.kind === 'write' || r.kind === 'approval') && r.code === 'ok';
}

/** A final audit record's outcome and the error code it says the client was sent. */
export interface FinalRecord {
  outcome: string;
  errorCode: string | null;
}

/** Final audit records per marker for the given markers (a row still \`started\` is not counted). */
export async function finalRecords(
  fleetDbUrl: string,
  markers: readonly string[],
): Promise<Map<string, FinalRecord[]>> {
  const out = new Map<string, FinalRecord[]>();
  if (markers.length === 0) return out;
  const client = new pg.Client({ connectionString: fleetDbUrl });
  await client.connect();
  try {
    const { rows } = await client.query<FinalRecord & { marker: string }>(
      `SELECT details->>'clientRequestId' AS marker, outcome, details->>'errorCode' AS "errorCode"
         FROM audit_records
        WHERE method = 'tools/call' AND details->>'clientRequestId' = ANY($1::text[])
          -- A mutation's record stored before it ran, never completed: not the record of an answered call.
          AND outcome <> 'started'`,
      [markers],
    );
    for (const { marker, ...r } of rows) out.set(marker, [...(out.get(marker) ?? []), r]);
  } finally {
    await client.end();
  }
  return out;
}

/** Final audit records per marker for the given markers (a row still \`started\` is not counted). */
export async function recordCounts(
  fleetDbUrl: string,
  markers: readonly string[],
): Promise<Map<string, number>> {
  const records = await finalRecords(fleetDbUrl, markers);
  return new Map([...records].map(([m, rs]) => [m, rs.length]));
}

/** The outcomes of a call answered ok: run, answered from the cache, or an earlier call's answer replayed. */
const OK_OUTCOMES = ['ok', 'cached', 'replayed'];

/**
 * Why the record disagrees with the answer the client got, or undefined when it agrees: an ok answer
 * needs an `ok` (`cached`, `replayed`) record with no error code; an answer with a fleet code (rate_limited,
 * awaiting_approval, audit_unavailable...) a record with that code that is not `ok`; an error without
 * a code (tool_error, a JSON-RPC error without one) a record that is not `ok`.
 */
export function disagreement(r: CallResult, rec: FinalRecord): string | undefined {
  if (r.code === 'ok')
    return OK_OUTCOMES.includes(rec.outcome) && rec.errorCode === null
      ? undefined
      : `answered ok, recorded ${rec.outcome}${rec.errorCode ? ` ${rec.errorCode}` : ''}`;
  if (OK_OUTCOMES.includes(rec.outcome)) return `answered ${r.code}, recorded ${rec.outcome}`;
  const coded = r.code !== 'tool_error' && !/^rpc_-?\d+$/.test(r.code);
  if (coded && rec.errorCode !== r.code) return `answered ${r.code}, recorded code ${rec.errorCode}`;
  return undefined;
}

/** Reads the fleet's audit records for `results` and says what is missing, duplicated or unrecorded. */
export async function auditVerdict(fleetDbUrl: string, results: CallResult[]): Promise<Verdict> {
  const records = await finalRecords(
    fleetDbUrl,
    results.map((r) => r.marker),
  );
  const counts = new Map([...records].map(([m, rs]) => [m, rs.length]));
  const n = (r: CallResult) => counts.get(r.marker) ?? 0;
  const missing = results.filter((r) => answered(r) && n(r) === 0);
  const duplicated = results.filter((r) => n(r) > 1);
  const acceptedMutationsWithoutRecord = results.filter((r) => acceptedMutation(r) && n(r) === 0);
  // Only calls the fleet answered at the MCP level: a transport error or an HTTP refusal told the
  // client nothing its record could contradict.
  const misrecorded = results.filter(answered).flatMap((call) =>
    (records.get(call.marker) ?? []).flatMap((rec) => {
      const why = disagreement(call, rec);
      return why ? [{ call, ...rec, why }] : [];
    }),
  );
  const codes: Record<string, number> = {};
  for (const r of results) codes[r.code] = (codes[r.code] ?? 0) + 1;
  return {
    calls: results.length,
    records: [...counts.values()].reduce((s, c) => s + c, 0),
    missing,
    duplicated,
    acceptedMutationsWithoutRecord,
    misrecorded,
    ok:
      missing.length === 0 &&
      duplicated.length === 0 &&
      acceptedMutationsWithoutRecord.length === 0 &&
      misrecorded.length === 0,
    codes,
    recordsOf: (marker) => counts.get(marker) ?? 0,
  };
}

/**
 * Waits (bounded) until every answered call's record is durable — the fleet writes records in
 * batches, and after an outage it flushes its queue — then returns the verdict.
 */
export async function settledVerdict(
  fleetDbUrl: string,
  results: CallResult[],
  timeoutMs = 30_000,
): Promise<Verdict> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await auditVerdict(fleetDbUrl, results).catch(() => undefined);
    if (v && (v.missing.length === 0 || Date.now() >= until)) return v;
    if (!v && Date.now() >= until) return auditVerdict(fleetDbUrl, results);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** A short, readable account of a verdict for assertion messages. */
export function verdictText(v: Verdict): string {
  const few = (rs: CallResult[]) =>
    rs
      .slice(0, 5)
      .map((r) => `${r.server}/${r.tool} ${r.kind} ${r.code} ${r.marker}`)
      .join('; ');
  return [
    `calls ${v.calls}, records ${v.records}, codes ${JSON.stringify(v.codes)}`,
    `missing ${v.missing.length} [${few(v.missing)}]`,
    `duplicated ${v.duplicated.length} [${few(v.duplicated)}]`,
    `accepted mutations without record ${v.acceptedMutationsWithoutRecord.length} [${few(v.acceptedMutationsWithoutRecord)}]`,
    `recorded otherwise than answered ${v.misrecorded.length} [${v.misrecorded
      .slice(0, 5)
      .map((m) => `${m.call.server}/${m.call.tool} ${m.call.marker}: ${m.why} (${m.outcome})`)
      .join('; ')}]`,
  ].join('\n');
}

/** What a call's audit record says (for a scenario's own expectations). */
export interface AuditRow {
  marker: string;
  server: string;
  tool: string | null;
  decision: string;
  outcome: string;
  policyVersion: string | null;
}

/** The audit records of the given markers (a marker's records, in the order they were written). */
export async function auditRows(fleetDbUrl: string, markers: readonly string[]): Promise<AuditRow[]> {
  if (markers.length === 0) return [];
  const client = new pg.Client({ connectionString: fleetDbUrl });
  await client.connect();
  try {
    const { rows } = await client.query<AuditRow>(
      `SELECT details->>'clientRequestId' AS marker, server, tool, decision, outcome,
              policy_version AS "policyVersion"
         FROM audit_records
        WHERE method = 'tools/call' AND details->>'clientRequestId' = ANY($1::text[])
        ORDER BY ts`,
      [markers],
    );
    return rows;
  } finally {
    await client.end();
  }
}
