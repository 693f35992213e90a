// A policy file caught half-written is never applied (F6): a change is applied only once two
// consecutive polls read the same text. Driven through the store's poll(), no timers. And the
// tools/list memo cannot be aliased by a role name holding a separator (F8). The version a store
// reports (/readyz, audit) is the one in force, never a refused file's (F7).
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { AnyTool } from '@mcp-fleet/core';
import { createLogger } from '@mcp-fleet/core/internal';
import { type PolicyDocument, PolicyStore, parsePolicy, ToolRegistry } from '@mcp-fleet/core/policy';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ClaimNames } from '../src/config.js';
import { malformedClaim } from '../src/identity/identity.js';
import { listTools } from '../src/pipeline/list-tools.js';
import type { FleetRuntime } from '../src/pipeline/runtime.js';
import { fixtureServer } from './fixtures.js';

const registry = new ToolRegistry(fixtureServer.tools as AnyTool[]);
const quiet = createLogger({
  destination: new Writable({
    write(_c, _e, done) {
      done();
    },
  }),
});

/** A full policy whose prefixes widen access when cut before `access: read` or an `except`. */
const FULL = `version: 1
roles:
  reader:
    grants:
      - servers: [fixture]
        tools: ["*"]
        except: [echo_text]
        access: read
        constraints: { fixture.schemas: { schemas: [public] } }
  writer:
    grants:
      - servers: [fixture]
        tools: [echo_text]
`;

function store(file: string, results: string[]): PolicyStore {
  return new PolicyStore({
    server: 'fixture',
    registry,
    logger: quiet,
    file,
    onReload: (r) => results.push(r),
  });
}

describe('policy reload applies only a file read identically on two consecutive polls', () => {
  it('never applies any prefix of the file that is replaced by the full text before the next poll', () => {
    const dir = mkdtempSync(join(tmpdir(), 'policy-reload-'));
    const file = join(dir, 'policy.yaml');
    const full = parsePolicy(FULL, 'fixture', registry);
    let prefixesThatParse = 0;
    for (let cut = 1; cut < FULL.length; cut++) {
      const prefix = FULL.slice(0, cut);
      try {
        parsePolicy(prefix, 'fixture', registry);
        prefixesThatParse++;
      } catch {
        // most prefixes do not parse; the dangerous ones do
      }
      writeFileSync(file, 'version: 1\nroles: {}\n');
      const events: string[] = [];
      const s = store(file, events);
      const before = s.current;
      writeFileSync(file, prefix); // the writer is half-way through
      expect(s.poll()).toBe('pending');
      expect(s.current).toBe(before);
      writeFileSync(file, FULL); // ... and finishes
      expect(s.poll()).toBe('pending'); // a different text: not yet settled
      expect(s.current).toBe(before);
      expect(s.poll()).toBe('applied');
      expect(s.current).toEqual(full);
      expect(events).toEqual(['applied']);
      expect(s.poll()).toBe('unchanged');
      s.close();
    }
    expect(prefixesThatParse).toBeGreaterThan(3);
  });

  it('applies (or refuses) a settled change on the second identical read, and counts each once', () => {
    const dir = mkdtempSync(join(tmpdir(), 'policy-reload-'));
    const file = join(dir, 'policy.yaml');
    writeFileSync(file, FULL);
    const events: string[] = [];
    const s = store(file, events);
    const inForce = s.current;
    const version = s.version;
    expect(version).toMatch(/^[0-9a-f]{12}$/);
    writeFileSync(file, `${FULL}typo: true\n`);
    expect(s.poll()).toBe('pending');
    expect(s.poll()).toBe('rejected');
    expect(s.current).toBe(inForce);
    // /readyz and the audit report the version in force, never the refused file's.
    expect(s.version).toBe(version);
    expect(s.poll()).toBe('unchanged'); // the refused text is not refused (and logged) again
    writeFileSync(file, readFileSync(file, 'utf8').replace('typo: true\n', ''));
    expect(s.poll()).toBe('pending');
    expect(s.poll()).toBe('applied');
    expect(s.version).toBe(version);
    expect(events).toEqual(['rejected', 'applied']);
  });
});

describe('tools/list memo key', () => {
  const runtime = (policy: PolicyDocument) =>
    ({ server: 'fixture', registry, policy: { current: policy } }) as unknown as FleetRuntime;
  const policy = parsePolicy(
    'version: 1\nroles:\n  admin:\n    grants:\n      - servers: [fixture]\n        tools: [echo_text]\n  support:\n    grants: []\n',
  );

  it('a set of roles never shares a listing with a different set, whatever the role names hold', () => {
    const role = fc.oneof(fc.constantFrom('admin', 'support', ''), fc.string({ maxLength: 8 }));
    fc.assert(
      fc.property(fc.array(role, { maxLength: 3 }), fc.array(role, { maxLength: 3 }), (a, b) => {
        const rt = runtime(policy);
        const first = listTools(rt, { roles: a }).map((t) => t.name);
        const second = listTools(rt, { roles: b }).map((t) => t.name);
        // What each set lists is what it lists when asked first (a fresh policy object = fresh memo).
        expect(second).toEqual(listTools(runtime({ ...policy }), { roles: b }).map((t) => t.name));
        expect(first).toEqual(listTools(runtime({ ...policy }), { roles: a }).map((t) => t.name));
      }),
      { numRuns: 500 },
    );
    const rt = runtime(policy);
    expect(listTools(rt, { roles: ['admin', 'support'] }).map((t) => t.name)).toEqual(['echo_text']);
    expect(listTools(rt, { roles: ['admin\u0000support'] })).toEqual([]);
  });

  const names: ClaimNames = {
    agent: 'sub',
    roles: 'roles',
    scopes: 'scope',
    tenant: 'tenant',
    user: 'user',
    session: 'sid',
  };

  it('a token whose roles claim holds a control character is refused', () => {
    fc.assert(
      fc.property(
        fc.string({ maxLength: 5 }),
        fc.integer({ min: 0, max: 0x9f }).filter((c) => c < 0x20 || c >= 0x7f),
        fc.string({ maxLength: 5 }),
        (pre, c, post) => {
          const role = `${pre}${String.fromCharCode(c)}${post}`;
          expect(malformedClaim({ sub: 'a', roles: ['reader', role] }, names)).toBe('roles');
          expect(malformedClaim({ sub: 'a', roles: role }, names)).toBe('roles');
        },
      ),
    );
    expect(malformedClaim({ sub: 'a', roles: ['admin', 'support'] }, names)).toBeUndefined();
  });

  it('a token whose agent, tenant, user, session or role claim holds a control character or an unpaired surrogate is refused', () => {
    const bad = fc.oneof(
      fc.integer({ min: 0, max: 0x9f }).filter((c) => c < 0x20 || c >= 0x7f),
      fc.integer({ min: 0xd800, max: 0xdfff }),
    );
    fc.assert(
      fc.property(
        fc.constantFrom('sub', 'tenant', 'user', 'sid', 'roles'),
        fc.string({ maxLength: 5 }),
        bad,
        fc.string({ maxLength: 5 }),
        (claim, pre, c, post) => {
          const value = `${pre}${String.fromCharCode(c)}${post}`;
          const payload = {
            sub: 'a',
            tenant: 'acme',
            user: 'bob',
            sid: 's1',
            roles: ['reader'],
            [claim]: value,
          };
          expect(malformedClaim(payload, names)).toBe(claim);
        },
      ),
    );
    // A pair of surrogates (one character outside the BMP) is text like any other.
    expect(
      malformedClaim({ sub: 'a', tenant: 'acme\u{1F600}', user: 'bob', roles: ['reader'] }, names),
    ).toBeUndefined();
  });
});
