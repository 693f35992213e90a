// The user tools' step before a human is asked (`beforeApproval`): a held directory change (delete_user,
// or any user tool policy holds) is checked against the directory's current state — the target exists,
// is not protected, is not the caller, is not the last active admin, the groups exist — so an approver
// is never asked about a change that would be refused. The handler checks again under the directory
// lock at execution (the state may have changed while the call waited).
import type { Identity, ServerStep, Step } from '@mcp-fleet/core';
import { planGroups, planUserChange } from './plans.js';
import { directory, directoryCall, type ScimConnectors } from './tools/shared.js';

const CHANGES = new Set(['disable_user', 'delete_user', 'set_user_groups']);

const beforeApproval: Step = async (c, next) => {
  // Only a call about to be put up for approval: a resumed call is checked by its handler under the lock.
  if (!CHANGES.has(c.tool.name) || !c.decision.approvalRequired || c.approvalId !== undefined) return next();
  const scim = directory(c.rt.connectors as ScimConnectors);
  const signal = c.req.cancellation?.signal ?? AbortSignal.timeout(30_000);
  const o = { signal, deadline: Date.now() + c.timeoutMs - 1_000 };
  const identity: Identity = c.req.identity;
  await directoryCall(async () => {
    if (c.tool.name === 'set_user_groups')
      await planGroups(scim, identity, c.args as { user_name: string; groups: string[] }, o);
    else
      await planUserChange(
        scim,
        identity,
        c.tool.name as 'disable_user' | 'delete_user',
        (c.args as { user_name: string }).user_name,
        o,
      );
  });
  return next();
};

/** The admin server's SCIM steps (add to `steps` of the definition). */
export const scimSteps: readonly ServerStep[] = [{ at: 'beforeApproval', step: beforeApproval }];
