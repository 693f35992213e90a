// The official MCP conformance suite's generic server scenarios, against a core-built server with
// authentication on (the suite cannot send headers, so a loopback proxy adds a real bearer token).
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { type BootedServer, bootServer } from '@mcp-fleet/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixturePolicy, fixtureServer } from '../../packages/core/test/fixtures.js';
import { startAuthProxy } from './auth-proxy.js';

const run = promisify(execFile);
// The suite needs Node 22 (fs.globSync); the node@22 package brings it without touching the system Node.
const SUITE = [
  '-y',
  '-p',
  'node@22',
  '-p',
  '@modelcontextprotocol/conformance@0.1.16',
  'conformance',
  'server',
];

let s: BootedServer;
let proxy: Awaited<ReturnType<typeof startAuthProxy>>;
beforeAll(async () => {
  s = await bootServer(fixtureServer, { policy: fixturePolicy });
  proxy = await startAuthProxy(s.baseUrl, await s.token({ sub: 'conformance-suite', roles: ['reader'] }));
});
afterAll(async () => {
  await proxy?.close();
  await s?.close();
});

describe('official MCP conformance suite', () => {
  it.each(['server-initialize', 'ping', 'tools-list', 'dns-rebinding-protection'])(
    '%s passes',
    async (scenario) => {
      let output: string;
      try {
        const { stdout, stderr } = await run(
          'npx',
          [...SUITE, '--url', `${proxy.url}/mcp`, '--scenario', scenario],
          {
            encoding: 'utf8',
            timeout: 240_000,
          },
        );
        output = stdout + stderr;
      } catch (err) {
        const e = err as { stdout?: string; stderr?: string; message: string };
        throw new Error(
          `conformance ${scenario} failed:\n${e.stdout ?? ''}\n${e.stderr ?? e.message}`.slice(0, 4000),
        );
      }
      const summary = /Passed: (\d+)\/(\d+), (\d+) failed/.exec(output);
      expect(summary, output).not.toBeNull();
      expect(summary![3]).toBe('0');
      expect(summary![1]).toBe(summary![2]);
    },
    300_000,
  );
});
