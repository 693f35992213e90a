// The lexical layer: what a path string may look like before the filesystem is asked anything.
import { describe, expect, it } from 'vitest';
import { isUsableName, PathRefusal, parseUserPath } from '../src/sandbox/path-input.js';

describe('parseUserPath', () => {
  it.each([
    ['docs/handbook.md', 'docs/handbook.md'],
    ['docs/./handbook.md', 'docs/handbook.md'],
    ['docs/', 'docs'],
    ['./docs', 'docs'],
    ['docs/日本語 レポート.md', 'docs/日本語 レポート.md'],
    ['docs/cafe\u0301.md', 'docs/cafe\u0301.md'],
    ['reports/q3 summary (final).md', 'reports/q3 summary (final).md'],
    ['docs/..hidden-looking-but-fine.md', 'docs/..hidden-looking-but-fine.md'],
    ['docs/a..b.md', 'docs/a..b.md'],
  ])('accepts %j as %j', (input, rel) => {
    expect(parseUserPath(input, false).rel).toBe(rel);
  });

  it('keeps NFC and NFD spellings distinct (no normalisation that could merge two files)', () => {
    expect(parseUserPath('caf\u00e9.md', false).rel).not.toBe(parseUserPath('cafe\u0301.md', false).rel);
  });

  it.each([
    ['', true, ''],
    ['/', true, ''],
    ['.', true, ''],
  ])('treats %j as the root for folders', (input, allowRoot, rel) => {
    expect(parseUserPath(input, allowRoot).rel).toBe(rel);
  });

  it.each([
    ['', /A file path is required/],
    ['..', /would leave the folder/],
    ['docs/../../x', /would leave the folder/],
    ['docs/..', /would leave the folder/],
    ['/etc/passwd', /Absolute paths/],
    ['docs\\..\\x', /Backslashes/],
    ['%2e%2e/x', /URL-encoded/],
    ['docs/%2F', /URL-encoded/],
    ['file:///etc/passwd', /not a URI/],
    ['C:/x', /not a URI/],
    ['docs/a\u0000b', /NUL/],
    ['docs/\u001b[31m.md', /control characters/],
    ['docs/\u202egnp.md', /invisible/],
    ['docs/a\u200bb.md', /invisible/],
    ['docs/\ud800.md', /not valid Unicode/],
    ['\uff0e\uff0e/x', /would leave the folder/],
    ['\u2025/x', /would leave the folder/],
    ['\u2024/x', /would leave the folder/],
    ['.. /x', /would leave the folder/],
    ['... /x', /would leave the folder/],
    ['a\uff0f..\uff0fb', /would leave the folder/],
    ['docs//x.md', /empty segment/],
    ['~/x', /not expanded/],
    [`docs/${'a'.repeat(256)}.md`, /longer than 255 bytes/],
    [`${'a/'.repeat(65)}x`, /deeper than 64/],
    ['x'.repeat(1025), /longer than 1024/],
  ])('refuses %j', (input, message) => {
    expect(() => parseUserPath(input, false)).toThrow(PathRefusal);
    expect(() => parseUserPath(input, false)).toThrow(message);
  });

  it('tells the model what to send instead', () => {
    expect(() => parseUserPath('../x', false)).toThrow(/plain relative path such as `docs\/handbook.md`/);
  });
});

describe('isUsableName', () => {
  it('accepts ordinary and non-Latin names, refuses names no path could reach', () => {
    expect(isUsableName('report.md')).toBe(true);
    expect(isUsableName('日本語.md')).toBe(true);
    for (const bad of ['a\u202eb', 'a\nb', 'a\\b', '%2e%2e', '..', '\uff0e\uff0e'])
      expect(isUsableName(bad), bad).toBe(false);
  });
});
