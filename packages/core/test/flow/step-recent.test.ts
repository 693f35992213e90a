// The flow step's in-process memory of each session's last call (RecentCalls): bounded (least recently
// used out first), a write skipped only when this process wrote the same call recently, and a load's
// view taken unless this process's own write had not settled when the load began.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RECENT_SESSIONS, RecentCalls } from '../../src/flow/flow-step.js';

describe('RecentCalls', () => {
  it('keeps at most its bound, dropping the least recently used session', () => {
    const r = new RecentCalls(3);
    for (const s of ['a', 'b', 'c']) r.write(s, `srv/${s}`, 3600);
    expect(r.last('a')).toBe('srv/a'); // a used: b is now the oldest
    r.write('d', 'srv/d', 3600);
    expect(r.size).toBe(3);
    expect(r.last('b')).toBeUndefined();
    expect(r.last('a')).toBe('srv/a');
    expect(new RecentCalls().max).toBe(RECENT_SESSIONS);
  });

  it('never holds more than its bound (any sequence of writes and loads)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 40 }), fc.constantFrom('x/a', 'x/b'), fc.boolean())),
        (ops) => {
          const r = new RecentCalls(8);
          for (const [s, last, load] of ops) {
            if (load) r.loaded(String(s), r.begin(), last);
            else r.write(String(s), last, 3600);
            expect(r.size).toBeLessThanOrEqual(8);
          }
        },
      ),
    );
  });

  it('a write is skipped when this process wrote the same last call less than half the TTL ago', () => {
    const r = new RecentCalls();
    const t0 = 1_000_000;
    const w = r.write('s', 'x/a', 100, t0);
    expect(w).toBeDefined();
    expect(r.write('s', 'x/a', 100, t0 + 1_000)).toBeUndefined();
    expect(r.write('s', 'x/a', 100, t0 + 51_000)).toBeDefined(); // keeps the session alive
    expect(r.write('s', 'x/b', 100, t0 + 52_000)).toBeDefined();
    expect(r.write('s', 'x/a', 100, t0 + 53_000)).toBeDefined();
    // Seen only in a load: written once (the store's expiry is not known).
    r.loaded('t', r.begin(), 'x/a');
    expect(r.last('t')).toBe('x/a');
    expect(r.write('t', 'x/a', 100, t0)).toBeDefined();
  });

  it("a load begun before this process's write settled does not undo it; a later one corrects it", () => {
    const r = new RecentCalls();
    const early = r.begin();
    const w = r.write('s', 'x/a', 3600);
    if (!w) throw new Error('written');
    r.loaded('s', early, undefined); // began before the write: may not show it
    const during = r.begin();
    r.loaded('s', during, 'x/old'); // began while the write was in flight
    expect(r.last('s')).toBe('x/a');
    r.settled(w);
    r.loaded('s', r.begin(), 'x/b'); // another replica served the session since
    expect(r.last('s')).toBe('x/b');
    expect(r.write('s', 'x/a', 3600)).toBeDefined();
    r.loaded('s', r.begin(), undefined);
    expect(r.last('s')).toBe('x/a'); // its write has not settled
  });
});
