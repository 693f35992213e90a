// set_user_groups: makes a person's groups exactly the given list (joining and leaving existing
// groups; groups are never created). Mutating and audited, not held. A bounded list of exact names —
// no wildcards, filters or empty names (A7); never the caller (no self-elevation), never a protected
// account, never the last active admin out of the admins group. Leaves are written before joins (a
// failure part-way leaves fewer rights, not more); a failure part-way says what was applied.
import { isUpstreamFailure, ToolError, upstreamToolError } from '@mcp-fleet/core';
import { z } from 'zod';
import { groupListArg, userNameArg } from '../names.js';
import { planGroups } from '../plans.js';
import { directory, directoryCall, readBounds, SCIM_NAMES, tool, UNTRUSTED, writeBounds } from './shared.js';

export const setUserGroups = tool({
  name: 'set_user_groups',
  title: "Set a directory user's groups",
  description:
    "Sets the complete list of one person's groups in the company directory (SCIM): groups not listed are " +
    'left, listed ones joined. Exact existing group names only (e.g. ["support"]); groups are never created; ' +
    '[] removes every group. Check the current groups with get_user first. Refused for yourself or the ' +
    'person you act for, protected accounts, and removing the last active admin from the admins group.',
  input: z.strictObject({ user_name: userNameArg, groups: groupListArg }),
  output: z.object({
    user_name: z.string(),
    id: z.string(),
    added: z.array(z.string()),
    removed: z.array(z.string()),
    changed: z.boolean(),
  }),
  governance: { readOnly: false, commits: true },
  handler: async (args, ctx) =>
    directoryCall(async () => {
      const scim = directory(ctx.connectors);
      return scim.withDirectoryLock(async () => {
        const plan = await planGroups(scim, ctx.identity, args, readBounds(ctx));
        const { user } = plan;
        ctx.detail('scimUserId', user.id);
        const added = plan.add.map((g) => g.displayName);
        const removed = plan.remove.map((g) => g.display);
        if (!added.length && !removed.length)
          return {
            data: { user_name: user.userName, id: user.id, added, removed, changed: false },
            untrusted: UNTRUSTED,
          };
        ctx.commit();
        const applied: string[] = [];
        const steps = [
          ...plan.remove.map((g) => ({
            label: `left ${g.display}`,
            run: () =>
              scim.client.changeMembership(
                plan.admins?.id === g.id ? plan.admins : { id: g.id },
                user.id,
                'remove',
                { ...writeBounds(), ifMatch: plan.admins?.id === g.id },
              ),
          })),
          ...plan.add.map((g) => ({
            label: `joined ${g.displayName}`,
            run: () => scim.client.changeMembership(g, user.id, 'add', writeBounds()),
          })),
        ];
        for (const step of steps) {
          try {
            await step.run();
            applied.push(step.label);
          } catch (err) {
            ctx.detail('applied', applied);
            if (applied.length === 0 || !isUpstreamFailure(err)) throw err;
            const e = upstreamToolError(err, SCIM_NAMES);
            throw new ToolError(
              `${e.message} Applied before the failure: ${applied.join(', ')}; not applied: ${step.label} and what followed. Check with get_user before calling again.`,
              e.code,
              { outcomeUnknown: true },
            );
          }
        }
        ctx.detail('applied', applied);
        return {
          data: { user_name: user.userName, id: user.id, added, removed, changed: true },
          untrusted: UNTRUSTED,
        };
      });
    }),
});
