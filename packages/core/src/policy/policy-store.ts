// Loads the policy file, validates it against this server's tools, and swaps in changes without restart.
import { createHash } from 'node:crypto';
import { readFileSync, unwatchFile, watchFile } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { FleetError } from '../errors.js';
import type { Logger } from '../observability/logger.js';
import type { ToolRegistry } from '../tools/registry.js';
import { type PolicyDocument, policySchema } from './policy-schema.js';

/** An empty policy: every call is denied. */
export const DENY_ALL: PolicyDocument = { version: 1, roles: {} };

/**
 * Parses and validates policy text. With `server` + `registry`, also checks every constraint this
 * server's tools will receive, so a policy that would break a tool is refused before it is in force.
 */
export function parsePolicy(text: string, server?: string, registry?: ToolRegistry): PolicyDocument {
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (err) {
    throw new FleetError('FLEET_ERR_POLICY_INVALID', `policy is not valid YAML: ${(err as Error).message}`);
  }
  const parsed = policySchema.safeParse(raw);
  if (!parsed.success) {
    const detail = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new FleetError('FLEET_ERR_POLICY_INVALID', `policy is invalid: ${detail}`);
  }
  const doc = parsed.data;
  if (server && registry) validateConstraints(doc, registry);
  return doc;
}

function validateConstraints(doc: PolicyDocument, registry: ToolRegistry): void {
  for (const [roleName, role] of Object.entries(doc.roles)) {
    role.grants.forEach((grant, i) => {
      for (const [toolName, value] of Object.entries(grant.constraints)) {
        const reg = registry.get(toolName);
        if (!reg) continue; // a constraint for another server's tool
        const where = `roles.${roleName}.grants.${i}.constraints.${toolName}`;
        if (!reg.tool.constraint) {
          throw new FleetError(
            'FLEET_ERR_POLICY_INVALID',
            `${where}: tool ${toolName} declares no constraints`,
          );
        }
        const ok = reg.tool.constraint.schema.safeParse(value);
        if (!ok.success) {
          const detail = ok.error.issues.map((x) => `${x.path.join('.')}: ${x.message}`).join('; ');
          throw new FleetError('FLEET_ERR_POLICY_INVALID', `${where}: ${detail}`);
        }
        grant.constraints[toolName] = ok.data;
      }
    });
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

/** Holds the policy in force. Reads are a field access; reloads happen off the request path. */
export class PolicyStore {
  #current: PolicyDocument;
  #hash = '';
  readonly #opts: PolicyStoreOptions;

  constructor(opts: PolicyStoreOptions, initial?: PolicyDocument) {
    this.#opts = opts;
    if (initial) {
      this.#current = initial;
    } else if (opts.file) {
      const text = readFileSync(opts.file, 'utf8');
      this.#current = parsePolicy(text, opts.server, opts.registry);
      this.#hash = createHash('sha256').update(text).digest('hex');
    } else {
      opts.logger.warn('no POLICY_FILE configured: every tool call will be denied');
      this.#current = DENY_ALL;
    }
  }

  /** The policy in force now. */
  get current(): PolicyDocument {
    return this.#current;
  }

  /** Short hash of the policy text in force (for the audit record and /readyz). */
  get version(): string {
    return this.#hash.slice(0, 12);
  }

  /** Re-reads the file; applies a valid change, keeps the previous policy on any error. */
  reload(): 'applied' | 'unchanged' | 'rejected' {
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
      this.#opts.onReload?.('rejected');
      return 'rejected';
    }
    const hash = createHash('sha256').update(text).digest('hex');
    if (hash === this.#hash) return 'unchanged';
    try {
      this.#current = parsePolicy(text, this.#opts.server, this.#opts.registry);
      this.#hash = hash;
      logger.info({ policyVersion: this.version }, 'policy reloaded');
      this.#opts.onReload?.('applied');
      return 'applied';
    } catch (err) {
      this.#hash = hash; // do not log the same broken file every poll
      logger.error(
        { err: (err as Error).message, file },
        'policy change refused; previous policy stays in force',
      );
      this.#opts.onReload?.('rejected');
      return 'rejected';
    }
  }

  /** Starts watching the file (stat polling follows ConfigMap symlink swaps, unlike inotify on the file). */
  watch(): void {
    const { file, pollMs } = this.#opts;
    if (!file) return;
    watchFile(file, { interval: pollMs ?? 2000, persistent: false }, () => this.reload());
  }

  /** Stops watching. */
  close(): void {
    if (this.#opts.file) unwatchFile(this.#opts.file);
  }
}
