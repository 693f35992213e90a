// `fleet start` calls a server ready only when the process it started answers: a port already in
// use (another server of the checkout, another fleet, another program) is refused before the
// server is spawned, since the server would die on EADDRINUSE while the other process answered its
// /readyz; and a child that exits before readiness is FAILED whoever answers afterwards.
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { portFree, waitReady } from '../../packages/cli/src/commands/start.js';

let other: Server | undefined;
afterEach(() => new Promise<void>((r) => (other ? other.close(() => r()) : r())));

async function listening(): Promise<number> {
  other = createServer((_, res) => res.writeHead(200).end('ok'));
  await new Promise<void>((r) => other!.listen(0, '127.0.0.1', r));
  return (other.address() as AddressInfo).port;
}

describe('fleet start readiness', () => {
  it('a child that exits before its port answers is not ready, whoever answers afterwards', async () => {
    const port = await listening();
    await new Promise<void>((r) => other!.close(() => r()));
    const child = spawn(process.execPath, ['-e', 'process.exit(1)']);
    // Another program takes the port once the child is gone.
    child.once('exit', () => {
      other = createServer((_, res) => res.writeHead(200).end('ok'));
      other.listen(port, '127.0.0.1');
    });
    expect(await waitReady(`http://127.0.0.1:${port}/readyz`, child, 5_000)).toBe(false);
  });

  it('a running child whose port answers is ready', async () => {
    const port = await listening();
    const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 5000)']);
    try {
      expect(await waitReady(`http://127.0.0.1:${port}/readyz`, child, 5_000)).toBe(true);
    } finally {
      child.kill();
    }
  });

  it('a port in use is seen before a server is started on it', async () => {
    const port = await listening();
    expect(await portFree(port)).toBe(false);
    await new Promise<void>((r) => other!.close(() => r()));
    other = undefined;
    expect(await portFree(port)).toBe(true);
  });
});
