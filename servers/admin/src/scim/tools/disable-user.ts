// disable_user: sets a person's directory account inactive (SCIM active=false), reversible by a human
// in the directory. Mutating and audited, not held. Never a protected account, never the caller or the
// person it acts for, never the last active admin — checked under the directory lock, right before
// the write. An account already inactive is left as it is.
import { z } from 'zod';
import { userNameArg } from '../names.js';
import { planUserChange } from '../plans.js';
import { directory, directoryCall, readBounds, tool, UNTRUSTED, writeBounds } from './shared.js';

export const disableUser = tool({
  name: 'disable_user',
  title: 'Disable a directory user',
  description:
    "Disables one person's account in the company directory (SCIM active=false): they can no longer sign in; " +
    'a human can re-enable it. Give the exact login name (user_name, e.g. "dave"; check it with get_user). ' +
    'Refused for protected accounts, for yourself or the person you act for, and for the last active admin.',
  input: z.strictObject({ user_name: userNameArg }),
  output: z.object({
    user_name: z.string(),
    id: z.string(),
    active: z.literal(false),
    changed: z.boolean().describe('false when the account was already disabled.'),
  }),
  governance: { readOnly: false, commits: true },
  handler: async (args, ctx) =>
    directoryCall(async () => {
      const scim = directory(ctx.connectors);
      return scim.withDirectoryLock(async () => {
        const { user } = await planUserChange(
          scim,
          ctx.identity,
          'disable_user',
          args.user_name,
          readBounds(ctx),
        );
        ctx.detail('scimUserId', user.id);
        if (user.active === false)
          return {
            data: { user_name: user.userName, id: user.id, active: false as const, changed: false },
            untrusted: UNTRUSTED,
          };
        ctx.commit();
        await scim.client.deactivate(user, writeBounds());
        return {
          data: { user_name: user.userName, id: user.id, active: false as const, changed: true },
          untrusted: UNTRUSTED,
        };
      });
    }),
});
