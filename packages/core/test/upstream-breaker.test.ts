// The upstream breaker and failure every server that calls out shares. Found by attack (issue 14, F2/F3):
// a trial request cancelled by its caller closed an open breaker although the upstream still hung, calls
// made during the trial queued behind it instead of failing fast, and a Retry-After of 10^20 s reached
// results unbounded. Time is the Date clock only (cockatiel compares Date.now()), moved by hand.
import {
  breakerCheck,
  isUpstreamFailure,
  parseRetryAfter,
  UpstreamBreaker,
  UpstreamBreakers,
  UpstreamFailure,
} from '@mcp-fleet/core';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

const HALF_OPEN_MS = 30_000;
const outage = () => new UpstreamFailure('vendor', 'unavailable', 'HTTP 503', { status: 503 });
const cancelled = () => new UpstreamFailure('vendor', 'rejected', 'the call was cancelled');

/** A breaker opened by `threshold` outages, its half-open time passed. */
async function openedAndDue(): Promise<UpstreamBreaker> {
  const b = new UpstreamBreaker('vendor', { threshold: 2, halfOpenAfterMs: HALF_OPEN_MS });
  for (let i = 0; i < 2; i++)
    await expect(b.execute(() => Promise.reject(outage()))).rejects.toThrow('HTTP 503');
  expect(b.state).toBe('open');
  vi.setSystemTime(Date.now() + HALF_OPEN_MS + 1);
  return b;
}

/** A promise settled by hand. */
function pending<T>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe('UpstreamBreaker', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['Date'] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('stays open when its trial request is cancelled before the upstream answered', async () => {
    const b = await openedAndDue();
    await expect(b.execute(() => Promise.reject(cancelled()))).rejects.toThrow('cancelled');
    expect(b.state).toBe('open');
    const fn = vi.fn(() => Promise.resolve('ok'));
    await expect(b.execute(fn)).rejects.toThrow('calls are paused');
    expect(fn).not.toHaveBeenCalled();
  });

  it('stays open when its trial fails with something that is not an upstream answer', async () => {
    const b = await openedAndDue();
    await expect(b.execute(() => Promise.reject(new TypeError('boom')))).rejects.toThrow('boom');
    expect(b.state).toBe('open');
  });

  it('fails every other call fast while the trial is in flight, then closes on the trial’s success', async () => {
    const b = await openedAndDue();
    const trial = pending<string>();
    const running = b.execute(() => trial.promise);
    expect(b.state).toBe('half_open');
    const others = vi.fn(() => Promise.resolve('other'));
    const refused = await Promise.allSettled([b.execute(others), b.execute(others), b.execute(others)]);
    expect(others).not.toHaveBeenCalled();
    for (const r of refused) {
      expect(r.status).toBe('rejected');
      const err = (r as PromiseRejectedResult).reason;
      expect(isUpstreamFailure(err) && err.kind).toBe('unavailable');
    }
    trial.resolve('up again');
    await expect(running).resolves.toBe('up again');
    expect(b.state).toBe('closed');
    await expect(b.execute(others)).resolves.toBe('other');
  });

  it('closes on a trial the upstream answered with a refusal (it is up), reopens on another outage', async () => {
    const b = await openedAndDue();
    const refusal = new UpstreamFailure('vendor', 'not_found', 'no such id', { status: 404 });
    await expect(b.execute(() => Promise.reject(refusal))).rejects.toBe(refusal);
    expect(b.state).toBe('closed');

    const again = await openedAndDue();
    await expect(again.execute(() => Promise.reject(outage()))).rejects.toThrow('HTTP 503');
    expect(again.state).toBe('open');
  });
});

describe('UpstreamBreakers (one breaker per tenant)', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['Date'] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('pauses only the key whose upstream fails; readiness names it, and clears when it closes', async () => {
    const group = new UpstreamBreakers('vendor', { threshold: 2, halfOpenAfterMs: HALF_OPEN_MS });
    const check = breakerCheck(group, 'Vendor');
    for (let i = 0; i < 2; i++)
      await expect(group.of('acme').execute(() => Promise.reject(outage()))).rejects.toThrow('HTTP 503');
    expect(group.of('acme').state).toBe('open');
    await expect(group.of('globex').execute(() => Promise.resolve('globex answers'))).resolves.toBe(
      'globex answers',
    );
    expect(group.state).toBe('open');
    await expect(check.check()).rejects.toThrow(
      'Vendor circuit breaker is paused for acme (open): calls fail fast until a trial request succeeds',
    );
    expect(group.pausedKeys()).toEqual([{ key: 'acme', state: 'open' }]);
    // Its pause over, nobody has called yet: the next call is the trial, so nothing is paused now (C-4).
    vi.setSystemTime(Date.now() + HALF_OPEN_MS + 1);
    expect(group.paused).toBe(false);
    await expect(check.check()).resolves.toBeUndefined();
  });
});

describe('Retry-After', () => {
  it('is bounded to an hour however it is written, and kept as given below that', () => {
    const now = Date.UTC(2026, 10, 29);
    expect(parseRetryAfter('99999999999999999999', now)).toBe(3_600_000);
    expect(parseRetryAfter('Wed, 21 Oct 2099 07:28:00 GMT', now)).toBe(3_600_000);
    expect(parseRetryAfter('Thu, 01 Jan 1970 00:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('2', now)).toBe(2_000);
    expect(new UpstreamFailure('v', 'rate_limited', 'slow down', { retryAfterMs: 1e23 }).retryAfterMs).toBe(
      3_600_000,
    );
    expect(new UpstreamFailure('v', 'rate_limited', 'slow down', { retryAfterMs: 1500 }).retryAfterMs).toBe(
      1500,
    );
  });
});
