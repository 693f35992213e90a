// Policies for tests that exercise a real policy file (the example one) with many calls per minute.
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';

/**
 * Reads a policy YAML and lifts its rate limits and budgets out of the way, keeping every grant,
 * constraint and approval rule as written. For corpus tests that make hundreds of calls a minute
 * and test access rules, not throttling (the governance tests cover throttling).
 */
export function policyWithoutThrottling(file: string | URL): Record<string, unknown> {
  const doc = parse(readFileSync(file, 'utf8')) as {
    defaults?: unknown;
    tools?: Record<string, Record<string, unknown>>;
    roles?: Record<string, Record<string, unknown>>;
  };
  delete doc.defaults;
  for (const role of Object.values(doc.roles ?? {})) {
    delete role.limits;
    delete role.budget;
  }
  for (const tool of Object.values(doc.tools ?? {})) {
    delete tool.globalPerMinute;
    delete tool.perCallerPerMinute;
  }
  return doc as Record<string, unknown>;
}

/** deploy/policies/example.yaml: the policy the local fleet loads. */
export const EXAMPLE_POLICY_FILE = new URL('../../../deploy/policies/example.yaml', import.meta.url);

/** The example policy the local fleet loads (its grants and constraints, without its rate limits). */
export function examplePolicy(): Record<string, unknown> {
  return policyWithoutThrottling(EXAMPLE_POLICY_FILE);
}
