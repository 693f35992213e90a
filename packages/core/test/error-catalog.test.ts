// The error catalogue holds no dead codes: every code it declares is named somewhere in core's source
// outside the catalogue itself (a code nothing can produce is a promise clients cannot rely on).
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { CALL_ERRORS, FLEET_ERRORS } from '../src/kernel/errors.js';

const SRC = join(dirname(fileURLToPath(import.meta.url)), '../src');
/** The catalogue file without the catalogues themselves (the rest of it, e.g. ToolError's default, counts). */
const catalogueRest = (text: string) =>
  text.replace(/export const (FLEET|CALL)_ERRORS = \{[\s\S]*?\} as const/g, '');

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

/** The codes no source text names as a string literal. */
export function unusedCodes(codes: readonly string[], texts: readonly string[]): string[] {
  return codes.filter((code) => !texts.some((t) => t.includes(`'${code}'`) || t.includes(`"${code}"`)));
}

describe('error catalogue', () => {
  const texts = sources(SRC).map((f) => catalogueRest(readFileSync(f, 'utf8')));

  it('strips exactly the two catalogues from kernel/errors.ts', () => {
    const rest = catalogueRest(readFileSync(join(SRC, 'kernel/errors.ts'), 'utf8'));
    expect(rest).not.toContain('FLEET_ERR_CONFIG');
    expect(rest).toContain('class ToolError');
  });

  it('every FleetErrorCode is thrown or sent somewhere in core', () => {
    expect(unusedCodes(Object.keys(FLEET_ERRORS), texts)).toEqual([]);
  });

  it('every call error code is produced somewhere in core', () => {
    expect(unusedCodes(Object.keys(CALL_ERRORS), texts)).toEqual([]);
  });

  it('fails for a code nothing uses', () => {
    expect(
      unusedCodes(['FLEET_ERR_USED', 'FLEET_ERR_NEVER'], ["throw new FleetError('FLEET_ERR_USED', 'x')"]),
    ).toEqual(['FLEET_ERR_NEVER']);
  });
});
