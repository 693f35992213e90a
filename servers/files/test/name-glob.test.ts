// search_documents' fileGlob cannot freeze the server: globs outside a small grammar are refused
// with advice, and every accepted glob is matched in a number of steps bounded by the glob's and
// the name's length (checked by counting steps, never by timing).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BootedServer, TestClient } from '@mcp-fleet/testkit';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileNameGlob, GlobRefusal, MAX_GLOB_LENGTH } from '../src/search/name-glob.js';
import { bootFleet, call, clientAs, type FilesFleet, hitsOf } from './helpers.js';

const LONG_NAME = `${'a'.repeat(40)}.md`;

/** The textbook translation (backtracking, fine on 10-character names): the oracle for semantics. */
function referenceRegex(glob: string): RegExp {
  let re = '';
  let inClass = false;
  for (const c of glob) {
    if (inClass) {
      if (c === ']' && !re.endsWith('[') && !re.endsWith('[^')) {
        inClass = false;
        re += ']';
      } else if (c === '!' && re.endsWith('[')) re += '^';
      else re += c === '-' ? '-' : c.replace(/[\\^\]]/g, '\\$&');
      continue;
    }
    if (c === '*') re += '.*';
    else if (c === '?') re += '.';
    else if (c === '[') {
      inClass = true;
      re += '[';
    } else if (c === '{') re += '(?:';
    else if (c === '}') re += ')';
    else if (c === ',' && re.includes('(?:') && !re.slice(re.lastIndexOf('(?:')).includes(')')) re += '|';
    else re += c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`, 'iu');
}

let s: BootedServer;
let fleet: FilesFleet | undefined;
let support: TestClient;

beforeAll(async () => {
  fleet = await bootFleet('files_glob', {
    seed: ({ root }) => writeFileSync(join(root, 'docs', LONG_NAME), 'needle-5e1 in a long name\n'),
  });
  ({ s } = fleet);
  support = await clientAs(s, 'modern', 'support');
});
afterAll(async () => {
  await fleet?.close(support);
});

describe('fileGlob', () => {
  it('refuses the backtracking shapes the tester used, with advice; simple globs still work', async () => {
    for (const fileGlob of [
      '*a*a*a*a*a*a*a*a*Q',
      `${'*a'.repeat(10)}*Q`,
      '+(a|aa)*',
      '{a,{b,c}}*',
      '!(x)*',
    ]) {
      const r = await call(support, 'search_documents', { query: 'needle-5e1', fileGlob });
      expect(r.isError, fileGlob).toBe(true);
      expect(r.text).toMatch(/fileGlob .*Use a simple name pattern/);
    }
    for (const fileGlob of ['*.md', '*.{md,txt}', 'a*a*a*.md', 'A?A*.MD', '[a-b]*.md']) {
      const r = await call(support, 'search_documents', { query: 'needle-5e1', fileGlob });
      expect(
        hitsOf(r).map((h) => h.path),
        fileGlob,
      ).toEqual([`docs/${LONG_NAME}`]);
    }
  });

  const piece = fc.oneof(
    fc.constantFrom(
      '*',
      '**',
      '?',
      'a',
      'Q',
      '.',
      'md',
      '[a-c]',
      '[!a]',
      '{a,b}',
      '{',
      '}',
      '(',
      '|',
      '!',
      '\\',
    ),
    fc.string({ unit: fc.constantFrom('a', 'b', '*', '?', '.', ',', '-'), maxLength: 6 }),
  );
  const globShape = fc.array(piece, { minLength: 1, maxLength: 40 }).map((parts) => parts.join(''));
  const name = fc.string({ unit: fc.constantFrom('a', 'b', 'c', 'Q', '.', '-'), maxLength: 255 });

  it('every accepted glob matches any name within its step bound, and the bound is small', () => {
    fc.assert(
      fc.property(globShape, name, (glob, n) => {
        let g: ReturnType<typeof compileNameGlob>;
        try {
          g = compileNameGlob(glob);
        } catch (err) {
          expect(err).toBeInstanceOf(GlobRefusal);
          return;
        }
        const { steps } = g.matchSteps(n);
        expect(steps).toBeLessThanOrEqual(g.stepBound(n.length));
        // Whatever the glob, 255-character names cost at most a few hundred thousand steps.
        expect(g.stepBound(255)).toBeLessThanOrEqual(8 * (256 * (MAX_GLOB_LENGTH + 1) + MAX_GLOB_LENGTH + 1));
      }),
      { numRuns: 2000 },
    );
  });

  it('accepted globs mean what the usual glob-to-regex translation means on short names', () => {
    const short = fc.string({
      unit: fc.constantFrom('a', 'b', 'c', 'q', '-', '.'),
      minLength: 1,
      maxLength: 10,
    });
    fc.assert(
      fc.property(globShape, short, (glob, n) => {
        let g: ReturnType<typeof compileNameGlob>;
        try {
          g = compileNameGlob(glob);
        } catch {
          return;
        }
        if (n.startsWith('.')) return; // hidden names are never listed or searched
        expect(g.matches(n), `${glob} vs ${n}`).toBe(referenceRegex(glob).test(n));
      }),
      { numRuns: 2000 },
    );
  });
});
