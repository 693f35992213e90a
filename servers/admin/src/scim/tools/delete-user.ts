// delete_user: deletes a person's directory account (SCIM DELETE). Destructive: held for a human
// approval (scimSteps checks the rules before a human is asked) and checked again under the directory
// lock right before the write, since the directory may have changed while the call waited.
import { z } from 'zod';
import { userNameArg } from '../names.js';
import { planUserChange } from '../plans.js';
import { directory, directoryCall, readBounds, tool, UNTRUSTED, writeBounds } from './shared.js';

export const deleteUser = tool({
  name: 'delete_user',
  title: 'Delete a directory user',
  description:
    "Deletes one person's account from the company directory (SCIM). Irreversible: it waits for a human " +
    'approval (call again with the approval_id once approved). Give the exact login name (user_name; check ' +
    'it with get_user); prefer disable_user when unsure. Refused for protected accounts, for yourself or the ' +
    'person you act for, and for the last active admin.',
  input: z.strictObject({ user_name: userNameArg }),
  output: z.object({ user_name: z.string(), id: z.string(), deleted: z.literal(true) }),
  governance: { readOnly: false, destructive: true, commits: true },
  handler: async (args, ctx) =>
    directoryCall(async () => {
      const scim = directory(ctx.connectors);
      return scim.withDirectoryLock(async () => {
        const { user } = await planUserChange(
          scim,
          ctx.identity,
          'delete_user',
          args.user_name,
          readBounds(ctx),
        );
        ctx.detail('scimUserId', user.id);
        ctx.commit();
        await scim.client.deleteUser(user, writeBounds());
        return {
          data: { user_name: user.userName, id: user.id, deleted: true as const },
          untrusted: UNTRUSTED,
        };
      });
    }),
});
