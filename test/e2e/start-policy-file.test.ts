// `pnpm start` loads the policy named by POLICY_FILE, the variable every server and the README use
// (issue 16, defect 6: it read only FLEET_POLICY_FILE, which nothing documented, and silently ran
// the example policy); FLEET_POLICY_FILE stays an alias.
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXAMPLE_POLICY } from '../../packages/cli/src/layout.js';
import { startLocalFleet } from './local-fleet.js';

/** A copy of the example policy with its own text, hence its own version (sha256 of the text). */
function ownPolicy(tag: string): { file: string; version: string } {
  const text = `${readFileSync(EXAMPLE_POLICY, 'utf8')}\n# ${tag}\n`;
  const file = join(mkdtempSync(join(tmpdir(), 'fleet-policy-')), 'policy.yaml');
  writeFileSync(file, text);
  return { file, version: createHash('sha256').update(text).digest('hex').slice(0, 12) };
}

async function policyInForce(mcpUrl: string): Promise<string> {
  const res = await fetch(new URL('/readyz', mcpUrl));
  const body = (await res.json()) as { checks: { policy: string } };
  return body.checks.policy;
}

describe('fleet start policy file', () => {
  for (const variable of ['POLICY_FILE', 'FLEET_POLICY_FILE']) {
    it(`loads the policy named by ${variable}`, async () => {
      const policy = ownPolicy(`${variable} ${Date.now()}`);
      const fleet = await startLocalFleet({ env: { [variable]: policy.file }, args: ['--only', 'files'] });
      try {
        expect(fleet.output()).toContain(`The fleet is running with policy ${policy.file}`);
        expect(await policyInForce(fleet.urls.files!)).toBe(`ok (${policy.version})`);
      } finally {
        expect(await fleet.stop()).toBe(0);
      }
    }, 240_000);
  }
});
