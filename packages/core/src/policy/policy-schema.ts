// The policy file's shape: roles, each with grants of tools on servers. Anything not granted is denied.
import { z } from 'zod';
import { flowPolicySchema } from '../flow/flow-policy.js';

/**
 * Why a server/tool glob can never do what it says, or undefined. Names are lowercase, without
 * commas or spaces; a leading `!` would be a negation, which inside a list excludes nothing (the
 * list is an OR of its patterns), so the exclusion is written in `except`.
 */
export function patternProblem(pattern: string): string | undefined {
  if (pattern.startsWith('!'))
    return `"${pattern}" is a negation, which excludes nothing in a list of patterns; list the name under "except" instead`;
  if (/[A-Z]/.test(pattern))
    return `"${pattern}" has uppercase letters, and server and tool names are lowercase: it can never match`;
  if (/\s/.test(pattern)) return `"${pattern}" contains whitespace, so it can never match a name`;
  if (/,/.test(pattern.replace(/\{[^{}]*\}/g, '')))
    return `"${pattern}" contains a comma, so it can never match a name; write one name per list item`;
  // Everything else outside the names' alphabet and the plain globs: look-alikes (fullwidth, Cyrillic),
  // invisible characters (U+200B) and extglobs (`@(!(x))`, a negation in disguise). A reviewer would
  // read such a pattern as the name it resembles while it matches nothing, or everything but it.
  const odd = [...pattern].find((ch) => !/[a-z0-9_*?{},[\]-]/.test(ch));
  if (odd !== undefined) {
    const cp = `U+${odd.codePointAt(0)?.toString(16).toUpperCase().padStart(4, '0')}`;
    return `"${pattern}" contains ${cp}, which no server or tool name has (names are a-z, 0-9, "_" and "-"; globs use * ? [ ] { }), so it can never match what it looks like`;
  }
  return undefined;
}

const pattern = z
  .string()
  .min(1)
  .superRefine((p, ctx) => {
    const problem = patternProblem(p);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });
const patterns = z.array(pattern).min(1);
/** `server.dimension` (a dimension's value) or `server/tool_name` (an override for one tool). */
const CONSTRAINT_KEY = /^[a-z0-9][a-z0-9_-]*(\.[a-z][a-z0-9_]*|\/[a-z][a-z0-9_]*)$/;
const BARE_TOOL = /^[a-z][a-z0-9_]*$/;

/** One grant: which tools of which servers a role may use, and under what constraints. */
export const grantSchema = z
  .object({
    /** Server names or glob patterns (`*` for all). */
    servers: patterns,
    /** Tool names or glob patterns; default all tools of those servers. */
    tools: patterns.default(['*']),
    /** `read` restricts the grant to tools declared read-only. */
    access: z.enum(['read', 'all']).default('all'),
    /** Tool names or patterns excluded from this grant. */
    except: z.array(pattern).default([]),
    /**
     * Values of constraint dimensions, keyed `"<server>.<dimension>"` (e.g. `database.schemas`): every
     * tool declaring that dimension is constrained by it. `"*"` = explicitly unconstrained. A key that
     * is `"<server>/<tool>"` overrides the dimension's value for that one tool of that one server (a
     * bare tool name is refused: it would apply to a same-named tool on every server). A grant that leaves a
     * constrained tool's dimension unset does not grant that tool (fail closed; its approval list still applies).
     */
    constraints: z
      .record(z.string(), z.unknown())
      .superRefine((rec, ctx) => {
        for (const key of Object.keys(rec)) {
          if (BARE_TOOL.test(key)) {
            ctx.addIssue({
              code: 'custom',
              path: [key],
              message: `"${key}" is a bare tool name, which would apply to a tool of that name on every server; name the server: "<server>/${key}"`,
            });
          } else if (!CONSTRAINT_KEY.test(key)) {
            ctx.addIssue({
              code: 'custom',
              path: [key],
              message:
                'keys are "<server>.<dimension>" (e.g. database.schemas) or "<server>/<tool>" (an override for one tool)',
            });
          }
        }
      })
      .default({}),
    /** Tools (patterns) that need human approval when used through this grant. */
    approval: z.array(pattern).default([]),
  })
  .strict();

const perMinute = z.number().int().positive();
const TOOL_KEY = /^([a-z0-9_-]+\/)?[a-z][a-z0-9_]*$/;
/** A record keyed by `tool_name`, or `server/tool_name` to single out one server's tool. */
function byToolName<T extends z.ZodType>(value: T) {
  return z.record(z.string(), value).superRefine((rec, ctx) => {
    for (const key of Object.keys(rec)) {
      if (!TOOL_KEY.test(key)) {
        ctx.addIssue({
          code: 'custom',
          path: [key],
          message: 'keys are tool names, optionally "server/tool_name"',
        });
      }
    }
  });
}

/** Rate limits of a role, per caller (agent + tenant) on one server, in calls per minute. */
export const limitsSchema = z
  .object({
    /** All tools of a server together. */
    perMinute: perMinute.optional(),
    /** One tool, per caller; overrides `tools.<tool>.perCallerPerMinute`. */
    perTool: byToolName(perMinute).default({}),
  })
  .strict();

/** Spending caps of a role, in cost units (each call costs its tool's `cost`, default 1). */
export const budgetSchema = z
  .object({
    /** Cost units one agent session (token `sid`) may spend on a server. */
    perSession: z.number().int().positive().optional(),
    /** How long a session's spending is remembered (default 24 h). */
    sessionHours: z
      .number()
      .int()
      .positive()
      .max(24 * 30)
      .default(24),
    /** Cost units one caller (agent + tenant) may spend per window, across its sessions. */
    perWindow: z
      .object({
        cost: z.number().int().positive(),
        minutes: z
          .number()
          .int()
          .positive()
          .max(24 * 60),
      })
      .strict()
      .optional(),
  })
  .strict();

/** Per-tool settings that apply to every caller. */
export const toolSettingsSchema = z
  .object({
    /** Ceiling for all callers together, across replicas (calls per minute). */
    globalPerMinute: perMinute.optional(),
    /** Per-caller limit for this tool when no role of the caller sets `limits.perTool` for it. */
    perCallerPerMinute: perMinute.optional(),
    /** Budget weight of one call; overrides the tool's declared `governance.cost`. */
    cost: z.number().int().positive().optional(),
    /** Caps the tool's declared cache TTL (policy tightens, never loosens); 0 turns caching off. */
    cacheTtlSeconds: z.number().int().min(0).optional(),
    /**
     * Dual control: how many distinct people must approve a call of this tool that needs approval
     * (1..3, default 1). Fixed on the request when it is opened; has no effect on calls that need none.
     */
    approvers: z.number().int().min(1).max(3).optional(),
  })
  .strict();

/** A role: a description, its grants, and optionally its rate limits and budget. */
export const roleSchema = z
  .object({
    description: z.string().default(''),
    grants: z.array(grantSchema).default([]),
    limits: limitsSchema.optional(),
    budget: budgetSchema.optional(),
  })
  .strict();

/** The whole policy document. */
export const policySchema = z
  .object({
    version: z.literal(1),
    roles: z.record(z.string().regex(/^[a-z][a-z0-9_-]*$/, 'role names are lowercase'), roleSchema),
    /** Limits and budget for callers none of whose roles sets one. */
    defaults: z
      .object({ limits: limitsSchema.optional(), budget: budgetSchema.optional() })
      .strict()
      .optional(),
    /** Per-tool settings keyed by `tool_name` or `server/tool_name` (the latter wins). */
    tools: byToolName(toolSettingsSchema).optional(),
    /** The flow guard (issue 17): data labels, flow rules, copy detection, anomaly scores. */
    flow: flowPolicySchema.optional(),
  })
  .strict();

/** A parsed grant. */
export type Grant = z.output<typeof grantSchema>;
/** A parsed role. */
export type Role = z.output<typeof roleSchema>;
/** Parsed role limits. */
export type Limits = z.output<typeof limitsSchema>;
/** A parsed role budget. */
export type Budget = z.output<typeof budgetSchema>;
/** Parsed per-tool settings. */
export type ToolSettings = z.output<typeof toolSettingsSchema>;
/** A parsed policy document. */
export type PolicyDocument = z.output<typeof policySchema>;
