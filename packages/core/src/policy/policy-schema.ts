// The policy file's shape: roles, each with grants of tools on servers. Anything not granted is denied.
import { z } from 'zod';

const patterns = z.array(z.string().min(1)).min(1);

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
    except: z.array(z.string().min(1)).default([]),
    /** Per-tool argument constraints, keyed by exact tool name; values are checked by the tool's declaration. */
    constraints: z.record(z.string(), z.unknown()).default({}),
    /** Tools (patterns) that need human approval when used through this grant. */
    approval: z.array(z.string().min(1)).default([]),
  })
  .strict();

/** A role: a description and its grants. */
export const roleSchema = z
  .object({
    description: z.string().default(''),
    grants: z.array(grantSchema).default([]),
  })
  .strict();

/** The whole policy document. */
export const policySchema = z
  .object({
    version: z.literal(1),
    roles: z.record(z.string().regex(/^[a-z][a-z0-9_-]*$/, 'role names are lowercase'), roleSchema),
  })
  .strict();

/** A parsed grant. */
export type Grant = z.output<typeof grantSchema>;
/** A parsed role. */
export type Role = z.output<typeof roleSchema>;
/** A parsed policy document. */
export type PolicyDocument = z.output<typeof policySchema>;
