// A tool handler's governed call of another tool of the same server (ctx.callTool), e.g. a dashboard
// running its panels' saved queries: the same caller, the same pipeline, its own audit record.

import { FleetError } from '../errors.js';
import type { CallToolResult, ToolCallRequest } from '../kernel/call.js';
import { CallCancellation } from '../kernel/cancellation.js';
import type { NestedCallResult, ToolContext } from '../tools/tool.js';
import type { FleetRuntime } from './runtime.js';

const PARENT_ENDED = new FleetError('FLEET_ERR_CANCELLED', 'the calling tool ended');

type CallTool = (rt: FleetRuntime, req: ToolCallRequest) => Promise<CallToolResult>;

function refused(text: string): NestedCallResult {
  return { outcome: 'denied', ok: false, text };
}

/**
 * The `ctx.callTool` of one call: runs `callTool` for the same identity, with a cancellation the
 * parent's cancels, no client `_meta` (no idempotency key or approval id is passed on) and the
 * parent's audit id in the child's record. Depth is bounded at one: a nested call's own
 * `ctx.callTool` refuses, so a tool cannot recurse through another. Mutating tools are refused: a
 * change must be asked for by the client itself, with its own approval and idempotency key.
 */
export function nestedCaller(
  callTool: CallTool,
  rt: FleetRuntime,
  parent: ToolCallRequest,
  parentCallId: string,
  parentRun: CallCancellation,
): ToolContext<unknown>['callTool'] {
  return async (name, args) => {
    // Both refusals are a server's programming error, not the caller's doing: logged, not audited
    // (the parent call's own record stands for the request).
    if (parent.nested) {
      rt.logger.warn({ tool: parent.name, nested: name }, 'nested call refused: a nested call cannot nest');
      return refused(`${name} was not run: a tool called by another tool cannot call tools itself.`);
    }
    const reg = rt.registry.get(name);
    if (reg && !reg.tool.governance.readOnly) {
      rt.logger.warn({ tool: parent.name, nested: name }, 'nested call refused: the tool is not read-only');
      return refused(`${name} was not run: it changes data, and only the client can call such a tool.`);
    }
    const child = new CallCancellation();
    const unlink = parentRun.onCancel((reason) =>
      child.cancel('parent', parentRun.source === 'finished' ? PARENT_ENDED : reason),
    );
    const nested: NonNullable<ToolCallRequest['nested']> = { parentCallId };
    try {
      const r = await callTool(rt, {
        identity: parent.identity,
        name,
        arguments: args,
        requestId: parent.requestId,
        rpcId: null,
        protocolVersion: parent.protocolVersion,
        cancellation: child,
        nested,
      });
      const text = r.content.map((c) => c.text).join('\n');
      const ok = r.isError !== true && (nested.outcome === 'ok' || nested.outcome === 'cached');
      return {
        outcome: nested.outcome ?? 'error',
        ok,
        text,
        ...(ok && r.structuredContent !== undefined ? { data: r.structuredContent } : {}),
      };
    } catch (err) {
      // Unknown and not granted are one answer, as for a client (the pipeline audited the denial).
      if (
        err instanceof FleetError &&
        err.code === 'FLEET_ERR_TOOL_NOT_AVAILABLE' &&
        nested.outcome === 'denied'
      )
        return refused(`${name} is not granted to this caller.`);
      throw err;
    } finally {
      unlink();
    }
  };
}
