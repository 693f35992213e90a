// Section 5: the database server's query tool against the same SELECT through `pg` directly.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { DevIssuer } from '@mcp-fleet/testkit';
import type { BenchDatabase } from './lib/fleet-db.js';
import { ROOT } from './lib/processes.js';
import type { Row, TargetVerdict } from './lib/report.js';

/** Inputs of the db section. */
export interface DatabaseSectionOptions {
  db: BenchDatabase;
  issuer: DevIssuer;
  levels: number[];
  warmupS: number;
  durationS: number;
  say: (s: string) => void;
}

/** What the db section produced. */
export interface DatabaseSectionResult {
  rows: Row[];
  failures: string[];
  verdict: TargetVerdict;
  summary: Record<string, unknown>;
  note?: string;
}

const DEFINITION = 'servers/database/src/definition.ts';

export async function runDatabaseSection(o: DatabaseSectionOptions): Promise<DatabaseSectionResult> {
  if (!existsSync(join(ROOT, DEFINITION))) {
    const why = `not yet available: ${DEFINITION} does not exist in this checkout`;
    o.say(`\n5 database query tool vs direct pg: ${why}`);
    return {
      rows: [
        {
          id: 'db',
          section: '5',
          label: 'db query tool vs direct pg',
          era: null,
          connections: null,
          unavailable: why,
        },
      ],
      failures: [],
      verdict: { target: 'db query tool vs direct pg (p50)', goal: '≤ 1.3×', measured: why, met: null },
      summary: { available: false, reason: why },
      note: `section 5 ${why}; it runs automatically once the database server lands`,
    };
  }
  throw new Error('database section: servers/database exists but its bench wiring is not written yet');
}
