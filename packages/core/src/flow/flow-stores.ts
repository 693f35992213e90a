// What the flow guard keeps between calls (GovernanceStores.flow), as the step uses it: the session
// taint store (taint-store.ts), the anomaly baseline (anomaly.ts) and the flow metrics. Interfaces
// only, so the stores layer and the pipeline's step share them without importing each other.
import type { CopySource, FlowAnomalyScore, SessionTaint, TaintRead } from './engine.js';
import type { FlowMetrics } from './flow-metrics.js';

/** One fingerprint of a value a sensitive read returned (the taint store's StoredFingerprint). */
export interface FlowFingerprint extends CopySource {
  fp: string;
  auditId: string;
}

/** Options of a record (taint-store.ts's RecordOptions). */
export interface FlowRecordOptions {
  /**
   * The read's values were cut before fingerprinting (fingerprints.ts readFingerprints: R2a-5): the
   * session is marked capped as when it reaches its fingerprint cap, so copy detection's sends are held.
   */
  capped?: boolean;
}

/** The session taint store as the step uses it (taint-store.ts's TaintStore). */
export interface FlowTaintStore {
  load(session: string): Promise<SessionTaint>;
  record(
    session: string,
    reads: readonly TaintRead[],
    fingerprints: readonly FlowFingerprint[],
    ttlSeconds: number,
    opts?: FlowRecordOptions,
  ): Promise<void>;
  setLast(session: string, last: string, ttlSeconds: number): Promise<void>;
  /** Only the session's last call (a read's anomaly score needs nothing else); else load() is used. */
  lastCall?(session: string): Promise<string | undefined>;
  matchFingerprints(session: string, fps: readonly string[]): Promise<ReadonlyMap<string, FlowFingerprint>>;
  fingerprintKey(): Promise<Uint8Array>;
}

/** The anomaly baseline as the step uses it (anomaly.ts's AnomalyBaseline). */
export interface FlowBaseline {
  readonly model: {
    score(
      i: { roles: readonly string[]; agentId: string; from: string; to: string },
      minBaseline: number,
    ): FlowAnomalyScore;
  };
}

/** What the flow step needs between calls (GovernanceStores.flow). */
export interface FlowStores {
  taint: FlowTaintStore;
  baseline?: FlowBaseline | undefined;
  metrics: FlowMetrics;
}
