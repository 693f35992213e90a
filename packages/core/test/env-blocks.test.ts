// The building blocks of a server's environment schema. Found by attack (issue 14, D-5): a flag written
// `TRUE` or ` true` failed the whole server's configuration instead of meaning true.
import { env, parseEnv } from '@mcp-fleet/core';
import { expect, it } from 'vitest';

const schema = env.config('T_', { T_FLAG: env.bool(false), T_NAME: env.text() });
const parse = (vars: Record<string, string | undefined>) => parseEnv(schema, vars, 'test');

it('reads a flag in any case, with spaces, and unset or blank as its default', () => {
  for (const v of ['true', 'TRUE', ' True ', '1', 'yes', 'YES']) expect(parse({ T_FLAG: v }).flag).toBe(true);
  for (const v of ['false', 'FALSE', '0', 'no', ' No ']) expect(parse({ T_FLAG: v }).flag).toBe(false);
  for (const v of [undefined, '', '   ']) expect(parse({ T_FLAG: v }).flag).toBe(false);
});

it('refuses a flag that is not one, naming the variable without echoing its value', () => {
  expect(() => parse({ T_FLAG: 'maybe-sk_live_secret' })).toThrow(/T_FLAG/);
  try {
    parse({ T_FLAG: 'maybe-sk_live_secret' });
  } catch (e) {
    expect((e as Error).message).not.toContain('sk_live_secret');
  }
});

it('reads a text trimmed, and unset or blank as undefined', () => {
  expect(parse({ T_NAME: '  acme  ' }).name).toBe('acme');
  expect(parse({ T_NAME: '   ' }).name).toBeUndefined();
  expect(parse({}).name).toBeUndefined();
});
