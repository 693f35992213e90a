// The secrets scan reads every outbound text and every string of every audit record, so a text built to
// make it backtrack would stall the whole server: adversarial runs at the largest body allowed (100 kB)
// must be answered. Bounded by this test's timeout (a guard against catastrophic, minutes-long
// backtracking such as the cubic link regex of round 2), not by an asserted duration.
import { describe, expect, it } from 'vitest';
import { findSecrets, redactSecrets } from '../src/content/secrets.js';

/** Repeated units that stress the detectors' quantifiers (dashes, underscores, prefixes, digits, separators...). */
const UNITS = [
  '-',
  '_',
  ' ',
  '\n',
  'a',
  'A',
  '0',
  '0 ',
  '4 ',
  '1,',
  '1:',
  '1x',
  '4_',
  '4-4 4.4/',
  '=',
  '= ',
  '=>',
  ':=',
  'sk_',
  'sk_live_',
  'xoxb-',
  'AKIA',
  'ghp_',
  'AIza',
  'eyJ',
  'eyJ.',
  'MII',
  'MII\n',
  'QUFB',
  'QUFBQUFB\n',
  'ab',
  'password=',
  'PASSWORD',
  'the password is ',
  'Bearer ',
  'Authorization: Bearer ',
  'ya29.',
  '-----BEGIN ',
  '---- BEGIN',
  'https://hooks.slack.com/services/',
  'sig=',
  '%41',
  '&amp;',
  '&#',
  '<b>',
  '<',
  '\u200b',
  'а',
  '٤',
  'a_',
  'A_',
  '_A',
  '$',
  'x',
];
const SIZE = 100_000;

describe('the secrets scan on hostile text of the largest size', () => {
  it('answers every adversarial run, the scan and the audit redactor alike', { timeout: 45_000 }, () => {
    for (const unit of UNITS) {
      const text = unit.repeat(Math.ceil(SIZE / unit.length)).slice(0, SIZE);
      const found = findSecrets(text);
      // What matters is that the scan came back at all (a catastrophic pattern runs for minutes).
      expect(Array.isArray(found), JSON.stringify(unit)).toBe(true);
      expect(typeof redactSecrets(text.slice(0, 20_000))).toBe('string');
    }
  });
});
