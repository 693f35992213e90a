// fileGlob for search_documents: a small glob language over file names with a matcher whose cost
// is bounded by construction. picomatch compiles globs to backtracking regular expressions, and
// `*a*a*a*a*a*a*a*a*Q` against a 40-character name froze the event loop for seconds; here a glob
// is at most MAX_ALTERNATIVES brace alternatives of at most MAX_STARS stars each, and each is
// matched with the two-pointer wildcard algorithm (no recursion, no regular expression): at most
// (name length + 1) × (pattern length + 1) steps per alternative.

/** Refusal of a glob outside the accepted grammar; the message is for the model. */
export class GlobRefusal extends Error {}

export const MAX_GLOB_LENGTH = 100;
export const MAX_STARS = 3;
export const MAX_ALTERNATIVES = 8;

type Token =
  | { t: 'lit'; c: string }
  | { t: 'any' }
  | { t: 'star' }
  | { t: 'class'; neg: boolean; set: string[]; ranges: [string, string][] };

/** A compiled name glob. */
export interface NameGlob {
  /** Whether `name` matches (case-insensitive). */
  matches(name: string): boolean;
  /** The same, with the number of matcher steps taken (for tests of the bound). */
  matchSteps(name: string): { matched: boolean; steps: number };
  /** The most steps a match against a name of `length` characters can take. */
  stepBound(length: number): number;
  alternatives: number;
}

const LITERAL = /^[\p{L}\p{N} _.\-+=~#%&',;@$]$/u;

function refuse(why: string): never {
  throw new GlobRefusal(
    `fileGlob ${why}. Use a simple name pattern: letters, digits, * (at most ${MAX_STARS}), ?, [abc] or [a-z], and one {x,y} list (at most ${MAX_ALTERNATIVES} choices), e.g. "*.md", "report-*.{csv,json}".`,
  );
}

/** Splits one level of `{a,b,…}`; nested or unbalanced braces are refused. */
function expandBraces(glob: string): string[] {
  const open = glob.indexOf('{');
  if (open === -1) {
    if (glob.includes('}')) refuse('has an unbalanced "}"');
    return [glob];
  }
  const close = glob.indexOf('}', open);
  if (close === -1) refuse('has an unbalanced "{"');
  const inner = glob.slice(open + 1, close);
  const rest = glob.slice(close + 1);
  if (inner.includes('{') || rest.includes('{') || rest.includes('}'))
    refuse('may have only one {…} list, not nested');
  const choices = inner.split(',');
  if (choices.length > MAX_ALTERNATIVES) refuse(`has more than ${MAX_ALTERNATIVES} choices in {…}`);
  return choices.map((c) => glob.slice(0, open) + c + rest);
}

function tokenize(alt: string): Token[] {
  const chars = [...alt.toLowerCase()];
  const out: Token[] = [];
  let stars = 0;
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i] as string;
    if (c === '*') {
      if (out.at(-1)?.t === 'star') continue; // `**` is `*`
      if (++stars > MAX_STARS) refuse(`has more than ${MAX_STARS} *`);
      out.push({ t: 'star' });
    } else if (c === '?') out.push({ t: 'any' });
    else if (c === '[') {
      let j = i + 1;
      let neg = false;
      if (chars[j] === '!' || chars[j] === '^') {
        neg = true;
        j++;
      }
      const set: string[] = [];
      const ranges: [string, string][] = [];
      let closed = false;
      for (; j < chars.length; j++) {
        const d = chars[j] as string;
        if (d === ']' && (set.length > 0 || ranges.length > 0)) {
          closed = true;
          break;
        }
        if (!/^[\p{L}\p{N}_.]$/u.test(d)) refuse(`has "${d}" inside [...]`);
        if (chars[j + 1] === '-' && chars[j + 2] !== undefined && chars[j + 2] !== ']') {
          const e = chars[j + 2] as string;
          if (!/^[\p{L}\p{N}]$/u.test(e) || e < d) refuse('has an invalid range inside [...]');
          ranges.push([d, e]);
          j += 2;
        } else set.push(d);
      }
      if (!closed) refuse('has an unclosed or empty [...]');
      out.push({ t: 'class', neg, set, ranges });
      i = j;
    } else if (LITERAL.test(c)) out.push({ t: 'lit', c });
    else refuse(`may not contain "${c}"`);
  }
  return out;
}

function one(tok: Token, ch: string): boolean {
  switch (tok.t) {
    case 'lit':
      return tok.c === ch;
    case 'any':
      return true;
    case 'class': {
      const inSet = tok.set.includes(ch) || tok.ranges.some(([a, b]) => ch >= a && ch <= b);
      return tok.neg ? !inSet : inSet;
    }
    default:
      return false;
  }
}

/** Two-pointer wildcard match: on a mismatch, retry from the last star, one character further. */
function matchTokens(p: Token[], s: string[]): { matched: boolean; steps: number } {
  let i = 0;
  let j = 0;
  let star = -1;
  let mark = 0;
  let steps = 0;
  while (j < s.length) {
    steps++;
    const tok = p[i];
    if (tok && tok.t !== 'star' && one(tok, s[j] as string)) {
      i++;
      j++;
    } else if (tok?.t === 'star') {
      star = i++;
      mark = j;
    } else if (star !== -1) {
      i = star + 1;
      j = ++mark;
    } else return { matched: false, steps };
  }
  while (p[i]?.t === 'star') {
    i++;
    steps++;
  }
  return { matched: i === p.length, steps };
}

/** Compiles `glob`, or throws {@link GlobRefusal} when it is outside the accepted grammar. */
export function compileNameGlob(glob: string): NameGlob {
  if (glob.length === 0) refuse('is empty');
  if (glob.length > MAX_GLOB_LENGTH) refuse(`is longer than ${MAX_GLOB_LENGTH} characters`);
  const alts = expandBraces(glob).map(tokenize);
  const longest = Math.max(...alts.map((a) => a.length));
  const matchSteps = (name: string) => {
    const s = [...name.toLowerCase()];
    let steps = 0;
    for (const a of alts) {
      const r = matchTokens(a, s);
      steps += r.steps;
      if (r.matched) return { matched: true, steps };
    }
    return { matched: false, steps };
  };
  return {
    matches: (name) => matchSteps(name).matched,
    matchSteps,
    // Each step advances j, or advances i (at most p.length times between two advances of mark).
    stepBound: (length) => alts.length * ((length + 1) * (longest + 1) + longest + 1),
    alternatives: alts.length,
  };
}
