// TEST ONLY (`pnpm soak --tamper-leak`): loaded into every process of the soak's fleet through
// NODE_OPTIONS=--import, it makes each server process leak on purpose — one open descriptor every
// 100 ms and 12 MB of retained memory every 500 ms — so test/soak/soak.test.ts can prove that the
// soak's RSS and descriptor bounds fail a leaking server. The memory leak is that large because the
// CI soak's window is short (about 12 s): a server's heap shrinking after start-up (some tens of MB)
// once offset 4 MB per 500 ms below the short window's wide bound. Product code is untouched; other processes
// (`fleet start` itself) are left alone.
import { openSync } from 'node:fs';

if (/[/\\]servers[/\\][^/\\]+[/\\]src[/\\][^/\\]+$/.test(process.argv[1] ?? '')) {
  const kept = [];
  setInterval(() => kept.push(openSync('/dev/null', 'r')), 100).unref();
  setInterval(() => kept.push(Buffer.alloc(12 * 1024 * 1024, 1)), 500).unref();
}
