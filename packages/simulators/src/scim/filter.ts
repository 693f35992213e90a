// The SCIM filter subset the simulator answers (RFC 7644 §3.4.2.2), parsed strictly: one comparison
// `<attrPath> eq <compValue>` (what Okta and Entra send to look a user or group up), or two joined
// by `and`. compValue is a JSON string (its escapes `\"` and `\\` decoded), `true`, `false` or `null`.
// Anything else — other operators, `or`, `not`, brackets, a bare word, an unterminated string,
// trailing text — is refused, and the simulator answers 400 invalidFilter.

/** Attributes a filter may name, per resource (lower case: attribute names are case-insensitive). */
export const FILTERABLE = {
  User: ['username', 'externalid', 'id', 'emails.value', 'active', 'displayname'],
  Group: ['displayname', 'externalid', 'id', 'members.value'],
} as const;

/** One comparison. */
export interface ScimComparison {
  /** Lower-cased attribute path (`username`, `emails.value`...). */
  attr: string;
  value: string | boolean | null;
}

/** Why a filter was refused (the simulator answers 400 invalidFilter with this detail). */
export class ScimFilterError extends Error {}

/** Parses `filter` for `resource`; throws ScimFilterError when it is outside the supported grammar. */
export function parseScimFilter(filter: string, resource: keyof typeof FILTERABLE): ScimComparison[] {
  const out: ScimComparison[] = [];
  let i = 0;
  const s = filter;
  const skipSpaces = (min: number) => {
    const start = i;
    while (s[i] === ' ') i++;
    if (i - start < min) throw new ScimFilterError(`expected a space at position ${i}`);
  };
  for (;;) {
    skipSpaces(out.length === 0 ? 0 : 1);
    const attr = /^[A-Za-z][A-Za-z0-9_-]*(\.[A-Za-z][A-Za-z0-9_-]*)?/.exec(s.slice(i))?.[0];
    if (!attr) throw new ScimFilterError(`expected an attribute name at position ${i}`);
    i += attr.length;
    const lower = attr.toLowerCase();
    if (!(FILTERABLE[resource] as readonly string[]).includes(lower))
      throw new ScimFilterError(`filtering on "${attr}" is not supported for ${resource}s`);
    skipSpaces(1);
    const op = /^[A-Za-z]+/.exec(s.slice(i))?.[0] ?? '';
    if (op.toLowerCase() !== 'eq') throw new ScimFilterError(`operator "${op}" is not supported (only eq)`);
    i += op.length;
    skipSpaces(1);
    let value: string | boolean | null;
    if (s[i] === '"') {
      const start = i;
      i++;
      let text = '';
      for (;;) {
        const ch = s[i];
        if (ch === undefined) throw new ScimFilterError(`unterminated string starting at position ${start}`);
        if (ch === '"') {
          i++;
          break;
        }
        if (ch === '\\') {
          const next = s[i + 1];
          if (next === '"' || next === '\\' || next === '/') text += next;
          else if (next === 'n') text += '\n';
          else if (next === 't') text += '\t';
          else if (next === 'u' && /^[0-9A-Fa-f]{4}$/.test(s.slice(i + 2, i + 6))) {
            text += String.fromCharCode(Number.parseInt(s.slice(i + 2, i + 6), 16));
            i += 4;
          } else throw new ScimFilterError(`bad escape at position ${i}`);
          i += 2;
          continue;
        }
        if (ch.charCodeAt(0) < 0x20)
          throw new ScimFilterError(`control character in string at position ${i}`);
        text += ch;
        i++;
      }
      value = text;
    } else {
      const word = /^[A-Za-z]+/.exec(s.slice(i))?.[0] ?? '';
      if (word === 'true') value = true;
      else if (word === 'false') value = false;
      else if (word === 'null') value = null;
      else throw new ScimFilterError(`expected a quoted string, true, false or null at position ${i}`);
      i += word.length;
    }
    out.push({ attr: lower, value });
    if (i === s.length) return out;
    skipSpaces(1);
    const join = /^[A-Za-z]+/.exec(s.slice(i))?.[0] ?? '';
    if (join.toLowerCase() !== 'and' || out.length >= 2)
      throw new ScimFilterError(`unexpected "${s.slice(i, i + 20)}" at position ${i}`);
    i += join.length;
  }
}

/** Quotes `value` as a SCIM filter string (JSON string rules: `"` and `\` escaped). */
export function scimString(value: string): string {
  return JSON.stringify(value);
}
