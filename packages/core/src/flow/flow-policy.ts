// The policy's `flow` section (issue 17): what data carries which labels, which destinations are the
// company's, and the rules that hold or refuse a call because of what its agent session read before.
// Labels are lower-case words chosen by the security team (`pii`, `financial`, `confidential`,
// `untrusted`...); the fleet gives none a meaning except `untrusted`, which every result marked as
// written outside the fleet (`ToolResult.untrusted`) carries.
import { z } from 'zod';

const label = z
  .string()
  .regex(
    /^[a-z][a-z0-9_-]{0,39}$/,
    'labels are lower-case words (a-z, 0-9, "_", "-"), at most 40 characters',
  );
const labels = z.array(label);
/** A tool key as elsewhere in the policy: `tool_name` or `server/tool_name`, globs allowed in the tool part. */
const TOOL_PATTERN = /^([a-z0-9_-]+\/)?[a-z*?[\]{}][a-z0-9_*?[\]{},-]*$/;
/** A source key: `<server>.<kind>` (e.g. `database.schema`, `files.path`, `vendor-apis.object`). */
const SOURCE_KEY = /^[a-z0-9][a-z0-9_-]*\.[a-z][a-z0-9_]*$/;

/**
 * One flow rule. A call is matched when (1) the agent session earlier read data carrying any of
 * `after`, and (2) the call is of the kind `to` names:
 * - `external`: it sends to at least one destination outside the company (an email domain not in
 *   `internal.emailDomains`, an externally shared Slack channel, a vendor);
 * - `internal`: it sends, and every destination is the company's;
 * - `send`: it sends anywhere;
 * - `destructive`: the tool is declared destructive;
 * - `mutating`: the tool changes something (any tool that is not read-only).
 * `tools` narrows the rule to those tools (patterns, `server/tool` or `tool`). `action` says what then
 * happens: `approval` holds the call for a person (the approval binds the exact arguments, as any
 * other), `deny` refuses it. The reason names the earlier reads (tool, time, source).
 */
export const flowRuleSchema = z
  .object({
    name: z.string().regex(/^[a-z][a-z0-9_-]{0,62}$/, 'rule names are lower-case words'),
    description: z.string().default(''),
    after: labels.min(1),
    to: z.enum(['external', 'internal', 'send', 'destructive', 'mutating']),
    tools: z.array(z.string().regex(TOOL_PATTERN, 'tool patterns are `tool` or `server/tool`')).optional(),
    /** Roles the rule applies to (default: every role). */
    roles: z.array(z.string()).optional(),
    action: z.enum(['approval', 'deny']).default('approval'),
  })
  .strict();

/**
 * Copy detection: outbound content that contains values returned to this session by reads labelled
 * with any of `of` (fingerprints of the returned values, never the values, kept in the shared store).
 */
export const flowCopySchema = z
  .object({
    of: labels.min(1),
    /** Which sends are checked: `any` (default: internal destinations too), `internal` or `external`. */
    to: z.enum(['any', 'internal', 'external']).default('any'),
    /**
     * Distinct returned values that must be found in the outbound content (default 2): values, not
     * fingerprints — non-overlapping copied spans, so one value in several forms counts once.
     */
    minMatches: z.number().int().min(1).max(1000).default(2),
    action: z.enum(['approval', 'deny']).default('approval'),
    roles: z.array(z.string()).optional(),
  })
  .strict();

/** Anomaly scores: a Markov chain over (server, tool) transitions per role and per agent. */
export const flowAnomalySchema = z
  .object({
    /**
     * Calls that change or send something (not read-only, or a send) scoring above this (surprise in
     * bits, -log2 p) are held for approval. Reads are scored, never held by it, and never wait for the
     * session store: scored if its load is back when the call finishes, else from the last call this
     * process knows for the session, else recorded as unknown (score null). Unset: scored only.
     */
    holdAbove: z.number().positive().max(64).optional(),
    /** Transitions out of a tool needed before a baseline is trusted for it (default 30). */
    minBaseline: z.number().int().min(1).max(1_000_000).default(30),
    /** Days of audit trail the baseline is learned from (default 14). */
    learnDays: z.number().int().min(1).max(365).default(14),
    /** Roles whose calls may be held for their score (default: every role). */
    roles: z.array(z.string()).optional(),
  })
  .strict();

export const flowPolicySchema = z
  .object({
    /** How long an agent session's reads are remembered (hours, default 24). */
    sessionHours: z
      .number()
      .int()
      .positive()
      .max(24 * 30)
      .default(24),
    /** What counts as the company's own: email domains (and their subdomains). */
    internal: z
      .object({
        emailDomains: z.array(z.string().regex(/^[a-z0-9.-]+$/, 'lower-case domain names')).default([]),
      })
      .strict()
      .default({ emailDomains: [] }),
    labels: z
      .object({
        /** Labels of every result of a tool: keys `tool` or `server/tool` (globs in the tool part). */
        tools: z
          .record(z.string().regex(TOOL_PATTERN, 'keys are `tool` or `server/tool`'), labels)
          .default({}),
        /**
         * Labels of results by the sources a tool names (`ctx.source(kind, name)`): keyed
         * `<server>.<kind>` (`database.schema`, `files.path`, `vendor-apis.object`), then a name or glob.
         */
        sources: z
          .record(
            z.string().regex(SOURCE_KEY, 'keys are `<server>.<kind>`, e.g. database.schema'),
            z.record(z.string().min(1), labels),
          )
          .default({}),
      })
      .strict()
      .default({ tools: {}, sources: {} }),
    rules: z.array(flowRuleSchema).default([]),
    copy: flowCopySchema.optional(),
    anomaly: flowAnomalySchema.optional(),
  })
  .strict()
  .superRefine((flow, ctx) => {
    const names = new Set<string>();
    flow.rules.forEach((r, i) => {
      if (names.has(r.name))
        ctx.addIssue({
          code: 'custom',
          path: ['rules', i, 'name'],
          message: `rule "${r.name}" is named twice`,
        });
      names.add(r.name);
    });
  });

/** A parsed flow rule. */
export type FlowRule = z.output<typeof flowRuleSchema>;
/** The parsed copy-detection settings. */
export type FlowCopy = z.output<typeof flowCopySchema>;
/** The parsed anomaly settings. */
export type FlowAnomaly = z.output<typeof flowAnomalySchema>;
/** The parsed `flow` section. */
export type FlowPolicy = z.output<typeof flowPolicySchema>;

/** Where one send goes, as the sending server's step resolved it. */
export interface OutboundDestination {
  /** Canonical destination: `email:bob@partner.example`, `slack:C0SUPPORT1`, `teams:ops-alerts`, `vendor:hubspot`. */
  id: string;
  to: 'internal' | 'external';
}

/** What a sending call declares (`GovernedCall.outbound`): where it goes and every text that leaves. */
export interface OutboundDeclaration {
  destinations: readonly OutboundDestination[];
  content: readonly string[];
}

/** A data source a handler named (`ctx.source(kind, name)`): policy maps it to labels. */
export interface DataSource {
  kind: string;
  name: string;
}
