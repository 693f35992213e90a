// Areas and policy constraints: globs on real paths with a segment boundary, the server ceiling
// narrowed (never widened) by policy, and constraint values validated when the policy loads.
import { readFileSync } from 'node:fs';
import { parsePolicy, ToolRegistry } from '@mcp-fleet/core/policy';
import { describe, expect, it } from 'vitest';
import { AccessScope, Areas } from '../src/access/areas.js';
import {
  fileReadConstraint,
  folderReadConstraint,
  readRuleSchema,
  writeConstraint,
  writeScope,
} from '../src/access/constraints.js';
import definition from '../src/definition.js';

describe('Areas', () => {
  const docs = new Areas(['docs/**']);

  it('matches on segment boundaries: docs_secret and docsx are not docs', () => {
    expect(docs.allows('docs/a.md')).toBe(true);
    expect(docs.allows('docs/sub/b.md')).toBe(true);
    expect(docs.allows('docs_secret/a.md')).toBe(false);
    expect(docs.allows('docsx')).toBe(false);
    expect(docs.allows('')).toBe(false);
  });

  it('leaves hidden names out unless a pattern names them', () => {
    expect(docs.allows('docs/.git/config')).toBe(false);
    expect(docs.allows('docs/.tmp-1234.partial')).toBe(false);
    expect(new Areas(['docs/.well-known/**']).allows('docs/.well-known/x')).toBe(true);
  });

  it('knows which folders lead to an area', () => {
    const deep = new Areas(['reports/2026/**']);
    expect(deep.reaches('')).toBe(true);
    expect(deep.reaches('reports')).toBe(true);
    expect(deep.reaches('reports/2026/q1')).toBe(true);
    expect(deep.reaches('reports/2025')).toBe(false);
    expect(deep.reaches('hr')).toBe(false);
  });

  it('a scope is the ceiling AND the union of granted areas', () => {
    const scope = new AccessScope(new Areas(['docs/**', 'reports/**']), [
      new Areas(['docs/**']),
      new Areas(['hr/**']),
    ]);
    expect(scope.allows('docs/a.md')).toBe(true);
    expect(scope.allows('reports/a.md')).toBe(false); // ceiling yes, no grant
    expect(scope.allows('hr/a.md')).toBe(false); // a grant cannot widen the ceiling
  });
});

describe('constraints', () => {
  const read = readRuleSchema.parse({ read: ['docs/'] });

  it('normalises a trailing slash and refuses patterns that could reach out', () => {
    expect(read.read).toEqual(['docs/**']);
    for (const bad of ['/etc/**', '../x/**', 'docs/../hr/**', '!docs/**', 'a\\b']) {
      expect(readRuleSchema.safeParse({ read: [bad] }).success, bad).toBe(false);
    }
  });

  it('checks file paths, folder paths and writes against the granted areas', () => {
    expect(fileReadConstraint().check({ path: 'docs/a.md' }, read)).toBeNull();
    expect(fileReadConstraint().check({ path: 'hr/a.csv' }, read)).toMatch(
      /outside the areas your role may read/,
    );
    expect(folderReadConstraint().check({ path: '' }, read)).toBeNull();
    expect(folderReadConstraint().check({ path: 'hr' }, read)).toMatch(/outside/);
    const write = { write: ['reports/**'], overwrite: false };
    expect(writeConstraint().check({ path: 'reports/x.md' }, write)).toBeNull();
    expect(writeConstraint().check({ path: 'docs/x.md' }, write)).toMatch(
      /outside the areas your role may write/,
    );
    expect(writeConstraint().check({ path: 'reports/x.md', overwrite: true }, write)).toMatch(
      /may not replace/,
    );
    expect(writeScope(new Areas(['reports/**']), [write]).mayOverwrite).toBe(false);
    expect(writeScope(new Areas(['reports/**']), null).mayOverwrite).toBe(true);
  });

  it('the example policy loads against the files tools, and a bad constraint is refused at load', () => {
    const registry = new ToolRegistry(definition.tools);
    const exampleText = readFileSync(
      new URL('../../../deploy/policies/example.yaml', import.meta.url),
      'utf8',
    );
    expect(() => parsePolicy(exampleText, 'files', registry)).not.toThrow();
    const broken = exampleText.replace(
      'files.read: { read: ["docs/**"] }',
      'files.read: { read: ["/etc/**"] }',
    );
    expect(broken).not.toBe(exampleText);
    expect(() => parsePolicy(broken, 'files', registry)).toThrow(/relative to the sandbox root/);
  });
});
