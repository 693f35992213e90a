// Loads the policy file, validates it against this server's tools, and swaps in changes without restart.
import { createHash } from 'node:crypto';
import { readFileSync, unwatchFile, watchFile } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { FleetError } from '../errors.js';
import type { Logger } from '../observability/logger.js';
import type { ToolRegistry } from '../tools/registry.js';
import { type ConstraintDimension, UNCONSTRAINED } from '../tools/tool.js';
import { constraintKeyOf, dimensionKey, grantCovers, toolFacts } from './decide.js';
import { type PolicyDocument, policySchema } from './policy-schema.js';

/** An empty policy: every call is denied. */
export const DENY_ALL: PolicyDocument = { version: 1, roles: {} };

/**
 * Parses and validates policy text. With `server` + `registry`, also parses every constraint value
 * this server's tools will receive with its dimension's schema (once, here), so a policy that would
 * break a tool is refused before it is in force: a bad value, a `"<server>.<x>"` key naming no
 * dimension of this server, or a tool-name key for a tool that declares no constraint.
 */
export function parsePolicy(text: string, server?: string, registry?: ToolRegistry): PolicyDocument {
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (err) {
    throw new FleetError('FLEET_ERR_POLICY_INVALID', `policy is not valid YAML: ${(err as Error).message}`);
  }
  return validatePolicy(raw, server, registry);
}

/**
 * Validates a policy given as an object (a document built in code, or one parsed without a server)
 * exactly as {@link parsePolicy} validates text: the schema, then, with `server` + `registry`, every
 * constraint value with its dimension's schema. Returns a new document; `raw` is not modified. Every
 * path by which a document enters a {@link PolicyStore} or `fleet policy explain` goes through here.
 */
export function validatePolicy(raw: unknown, server?: string, registry?: ToolRegistry): PolicyDocument {
  const parsed = policySchema.safeParse(raw);
  if (!parsed.success) {
    const detail = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new FleetError('FLEET_ERR_POLICY_INVALID', `policy is invalid: ${detail}`);
  }
  const doc = parsed.data;
  if (server && registry) parseConstraints(doc, server, registry);
  return doc;
}

function parseConstraints(doc: PolicyDocument, server: string, registry: ToolRegistry): void {
  const prefix = `${server}.`;
  const own = `${server}/`;
  for (const [roleName, role] of Object.entries(doc.roles)) {
    role.grants.forEach((grant, i) => {
      for (const [key, value] of Object.entries(grant.constraints)) {
        const where = `roles.${roleName}.grants.${i}.constraints.${key}`;
        const refuse = (why: string): never => {
          throw new FleetError('FLEET_ERR_POLICY_INVALID', `${where}: ${why}`);
        };
        let dimension: ConstraintDimension<unknown> | undefined;
        if (key.includes('.')) {
          if (!key.startsWith(prefix)) continue; // another server's dimension
          dimension = registry.dimension(key.slice(prefix.length));
          if (!dimension) {
            const known = [...registry.dimensions().keys()].map((d) => `${prefix}${d}`);
            refuse(
              `server ${server} declares no constraint dimension "${key.slice(prefix.length)}" (it declares ${known.join(', ') || 'none'})`,
            );
          }
        } else {
          if (!key.startsWith(own)) continue; // another server's tool
          const reg = registry.get(key.slice(own.length));
          if (!reg) continue; // not a tool here (e.g. a saved query of another environment): `fleet policy check` warns
          dimension = reg.tool.constraint?.dimension;
          if (!dimension) refuse(`tool ${key} declares no constraints`);
        }
        if (value === UNCONSTRAINED) continue;
        const ok = (dimension as ConstraintDimension<unknown>).schema.safeParse(value);
        if (!ok.success) {
          const detail = ok.error.issues.map((x) => `${x.path.join('.')}: ${x.message}`).join('; ');
          refuse(`${detail} (a value of ${prefix}${dimension?.name}, or "*" for unconstrained)`);
        }
        grant.constraints[key] = ok.data;
      }
    });
  }
}

/** A grant that matches a constrained tool of a server but leaves its dimension unset. */
export interface PolicyGap {
  role: string;
  /** Index of the grant in the role's `grants` (0-based). */
  grant: number;
  server: string;
  tool: string;
  /** The dimension key the grant lacks, e.g. `database.schemas`. */
  dimension: string;
}

/**
 * Every gap of `doc` on `server`: (role, grant, tool) where the grant matches a tool that declares a
 * constraint dimension but gives neither the dimension (`"<server>.<name>"`) nor the tool a value.
 * Such a grant does not grant the tool (fail closed; its approval list still applies when another
 * grant grants it); a gap is usually a policy line someone forgot.
 */
export function policyGaps(doc: PolicyDocument, server: string, registry: ToolRegistry): PolicyGap[] {
  const gaps: PolicyGap[] = [];
  for (const [roleName, role] of Object.entries(doc.roles)) {
    role.grants.forEach((grant, i) => {
      for (const reg of registry.all()) {
        const facts = toolFacts(reg.tool);
        if (facts.dimension === null || !grantCovers(grant, server, facts)) continue;
        if (constraintKeyOf(grant, server, facts) !== undefined) continue;
        gaps.push({
          role: roleName,
          grant: i,
          server,
          tool: reg.tool.name,
          dimension: dimensionKey(server, facts.dimension),
        });
      }
    });
  }
  return gaps;
}

/** One line describing a gap, for logs and `fleet policy check`. */
export function describeGap(g: PolicyGap): string {
  return `role ${g.role}, grant #${g.grant}: matches ${g.server}/${g.tool} but leaves constraint ${g.dimension} unset, so it does not grant ${g.tool} (its approval list still applies when another grant grants it; set "${g.dimension}" to a value, or "*" for unconstrained)`;
}

function warnGaps(doc: PolicyDocument, opts: PolicyStoreOptions): void {
  for (const gap of policyGaps(doc, opts.server, opts.registry)) {
    opts.logger.warn({ ...gap }, `policy gap: ${describeGap(gap)}`);
  }
}

/** Options for {@link PolicyStore}. */
export interface PolicyStoreOptions {
  server: string;
  registry: ToolRegistry;
  logger: Logger;
  file?: string | undefined;
  pollMs?: number;
  onReload?: (result: 'applied' | 'rejected') => void;
}

/**
 * The last reload was refused and the file on disk is still not the policy in force: what /readyz
 * (`policy_reload`) and `mcp_policy_reload_failed` report. `reason` is a short category safe for an
 * unauthenticated endpoint (the detail, which can name paths and roles, goes to the logs).
 */
export interface PolicyRefusal {
  /** Short hash of the refused text; absent when the file could not be read. */
  version?: string;
  reason: 'file unreadable' | 'policy invalid (not YAML)' | 'policy invalid';
}

/** What one poll of the policy file did. `pending`: a change was read once; it is applied (or refused) only when the next poll reads the same text. */
export type PollResult = 'applied' | 'unchanged' | 'rejected' | 'pending';

/** Holds the policy in force. Reads are a field access; reloads happen off the request path. */
export class PolicyStore {
  #current: PolicyDocument;
  /** Hash of the text last handled (applied, or refused: a refused text is not re-read every poll). */
  #hash = '';
  /** Hash of the policy in force: a refused file never changes it. */
  #version = '';
  /** Hash of a changed text read once and not yet confirmed by a second identical read. */
  #pending: string | undefined;
  #refusal: PolicyRefusal | undefined;
  #confirm: NodeJS.Timeout | undefined;
  readonly #opts: PolicyStoreOptions;

  constructor(opts: PolicyStoreOptions, initial?: PolicyDocument) {
    this.#opts = opts;
    if (initial) {
      // Validated like a file: a document built in code gets no looser checks.
      this.#current = validatePolicy(initial, opts.server, opts.registry);
      this.#version = createHash('sha256').update(JSON.stringify(initial)).digest('hex');
      warnGaps(this.#current, opts);
    } else if (opts.file) {
      const text = readFileSync(opts.file, 'utf8');
      this.#current = parsePolicy(text, opts.server, opts.registry);
      this.#hash = createHash('sha256').update(text).digest('hex');
      this.#version = this.#hash;
      warnGaps(this.#current, opts);
      opts.logger.info({ policyVersion: this.version, file: opts.file }, 'policy loaded');
    } else {
      opts.logger.warn('no POLICY_FILE configured: every tool call will be denied');
      this.#current = DENY_ALL;
    }
  }

  /** The policy in force now. */
  get current(): PolicyDocument {
    return this.#current;
  }

  /** Short hash of the policy in force (for the audit record and /readyz); a refused file never changes it. */
  get version(): string {
    return this.#version.slice(0, 12);
  }

  /** Set while the last reload was refused and the file still differs from the policy in force. */
  get refusal(): PolicyRefusal | undefined {
    return this.#refusal;
  }

  /**
   * One poll of the file. A changed text is applied only when two consecutive polls read it
   * identically (a file caught half-written is never applied, even when its prefix parses): the first
   * read returns `pending`, the next identical one applies a valid change or keeps the previous policy
   * on any error.
   */
  poll(): PollResult {
    const { file, logger } = this.#opts;
    if (!file) return 'unchanged';
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      logger.error(
        { err: (err as Error).message, file },
        'policy file unreadable; previous policy stays in force',
      );
      this.#refusal = { reason: 'file unreadable' };
      this.#opts.onReload?.('rejected');
      return 'rejected';
    }
    const hash = createHash('sha256').update(text).digest('hex');
    if (hash === this.#hash) {
      this.#pending = undefined;
      // Readable again and still the text in force (an unreadable spell): nothing is refused any more.
      if (hash === this.#version) this.#refusal = undefined;
      return 'unchanged';
    }
    if (hash !== this.#pending) {
      this.#pending = hash;
      return 'pending';
    }
    this.#pending = undefined;
    try {
      this.#current = parsePolicy(text, this.#opts.server, this.#opts.registry);
      this.#hash = hash;
      this.#version = hash;
      this.#refusal = undefined;
      warnGaps(this.#current, this.#opts);
      logger.info({ policyVersion: this.version }, 'policy reloaded');
      this.#opts.onReload?.('applied');
      return 'applied';
    } catch (err) {
      this.#hash = hash; // do not log the same broken file every poll
      this.#refusal = {
        version: hash.slice(0, 12),
        reason: /not valid YAML/.test((err as Error).message)
          ? 'policy invalid (not YAML)'
          : 'policy invalid',
      };
      logger.error(
        { err: (err as Error).message, file, policyVersion: this.version, refused: hash.slice(0, 12) },
        'policy change refused; previous policy stays in force',
      );
      this.#opts.onReload?.('rejected');
      return 'rejected';
    }
  }

  /** Polls until a change settles: a `pending` read is confirmed (or superseded) by the next poll. */
  reload(): PollResult {
    const result = this.poll();
    if (result === 'pending') this.#scheduleConfirm();
    return result;
  }

  #scheduleConfirm(): void {
    if (this.#confirm) clearTimeout(this.#confirm);
    this.#confirm = setTimeout(() => {
      this.#confirm = undefined;
      this.reload();
    }, this.#opts.pollMs ?? 2000);
    this.#confirm.unref();
  }

  /** Starts watching the file (stat polling follows ConfigMap symlink swaps, unlike inotify on the file). */
  watch(): void {
    const { file, pollMs } = this.#opts;
    if (!file) return;
    watchFile(file, { interval: pollMs ?? 2000, persistent: false }, () => this.reload());
  }

  /** Stops watching. */
  close(): void {
    if (this.#confirm) clearTimeout(this.#confirm);
    this.#confirm = undefined;
    if (this.#opts.file) unwatchFile(this.#opts.file);
  }
}
