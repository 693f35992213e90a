// What the user tools accept as a user name or a group name (A7, A14). A user name is looked up in a
// SCIM filter, never put in a URL path, but it is still refused when it could mean more than one
// person or a path: no `/`, no `..`, no `*` (or any wildcard), no whitespace, no control or invisible
// format characters (zero-width, bidi overrides), at most 128 characters, well-formed Unicode. `"` and
// `\` are allowed (the filter quotes them). A group name is an exact displayName: no wildcards or filter
// syntax (`*`, `?`, `"`, `\`, `[`, `]`), no control/format characters, no leading or trailing spaces.
import { z } from 'zod';

export const MAX_USER_NAME = 128;
export const MAX_GROUP_NAME = 128;
/** Most groups one set_user_groups call names (A7: a bounded list). */
export const MAX_GROUPS = 25;

// biome-ignore lint/suspicious/noControlCharactersInRegex: the check is for control characters
const INVISIBLE = /[\p{Cc}\p{Cf}\p{Co}\p{Cs}\p{Zl}\p{Zp}\u0000-\u001f\u007f-\u009f]/u;

/** Why `v` is not an acceptable user name, or undefined. */
export function userNameProblem(v: string): string | undefined {
  if (v.length === 0) return 'is empty';
  if (v.length > MAX_USER_NAME) return `is longer than ${MAX_USER_NAME} characters`;
  if (!v.isWellFormed()) return 'is not well-formed Unicode';
  if (INVISIBLE.test(v)) return 'contains a control or invisible character';
  if (/\s|\p{Zs}/u.test(v)) return 'contains whitespace';
  if (v.includes('/')) return 'contains "/"';
  if (v.includes('..')) return 'contains ".."';
  if (/[*?%]/.test(v)) return 'contains a wildcard ("*", "?" or "%")';
  return undefined;
}

/** Why `v` is not an acceptable group name, or undefined. */
export function groupNameProblem(v: string): string | undefined {
  if (v.length === 0) return 'is empty';
  if (v.length > MAX_GROUP_NAME) return `is longer than ${MAX_GROUP_NAME} characters`;
  if (!v.isWellFormed()) return 'is not well-formed Unicode';
  if (INVISIBLE.test(v)) return 'contains a control or invisible character';
  if (v.trim() !== v) return 'starts or ends with a space';
  if (/[^\S ]|\p{Zs}/u.test(v.replaceAll(' ', ''))) return 'contains whitespace other than single spaces';
  if (/ {2}/.test(v)) return 'contains consecutive spaces';
  if (/[*?"\\[\]%]/.test(v)) return 'contains a wildcard or filter character (* ? " \\ [ ] %)';
  return undefined;
}

/** The `user_name` argument of every user tool. */
export const userNameArg = z
  .string()
  .max(MAX_USER_NAME)
  .superRefine((v, ctx) => {
    const why = userNameProblem(v);
    if (why) ctx.addIssue({ code: 'custom', message: `user_name ${why}` });
  })
  .describe('The person\'s login name in the directory (SCIM userName), exactly, e.g. "dave". No wildcards.');

/** One group name of set_user_groups. */
export const groupNameArg = z
  .string()
  .max(MAX_GROUP_NAME)
  .superRefine((v, ctx) => {
    const why = groupNameProblem(v);
    if (why) ctx.addIssue({ code: 'custom', message: `group name ${why}` });
  });

/** The `groups` argument: the complete list after the call, exact names, no duplicates, at most MAX_GROUPS. */
export const groupListArg = z
  .array(groupNameArg)
  .max(MAX_GROUPS)
  .superRefine((list, ctx) => {
    const seen = new Set<string>();
    for (const g of list) {
      const k = g.toLowerCase();
      if (seen.has(k)) ctx.addIssue({ code: 'custom', message: `groups names "${g}" twice` });
      seen.add(k);
    }
  })
  .describe(
    `The complete list of the person's groups after the call (exact SCIM displayNames, at most ${MAX_GROUPS}); ` +
      'groups not listed are left. [] removes the person from every group. Groups are never created.',
  );
