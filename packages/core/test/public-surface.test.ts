// The public surface of core and testkit, pinned: adding or removing an export is a visible diff
// here, reviewed on purpose (servers may only import what is listed).
import * as core from '@mcp-fleet/core';
import * as testkit from '@mcp-fleet/testkit';
import { type BootedServer, bootServer, connectModern } from '@mcp-fleet/testkit';
import { Client as LegacyClient } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as LegacyTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixturePolicy, fixtureServer } from './fixtures.js';
import { rpc } from './helpers.js';

it('core exports exactly its documented runtime surface', () => {
  expect(Object.keys(core).sort()).toEqual([
    'APPROVAL_ARG',
    'APPROVAL_META_KEY',
    'ApprovalStore',
    'AuditLog',
    'AuthFailure',
    'CACHE_META_KEY',
    'CORE_MIGRATIONS',
    'CallCancellation',
    'DEFAULT_ALGORITHMS',
    'DENY_ALL',
    'FleetError',
    'GOVERNANCE_META_KEY',
    'Governance',
    'IDEMPOTENCY_ARG',
    'IDEMPOTENCY_META_KEY',
    'LEGACY_PROTOCOL_VERSIONS',
    'MODERN_PROTOCOL_VERSION',
    'PolicyStore',
    'REPLAYED_META_KEY',
    'RETRY_AFTER_META_KEY',
    'SERVED_PROTOCOL_VERSIONS',
    'TokenVerifier',
    'ToolError',
    'ToolNotAvailableError',
    'ToolRegistry',
    'approvalsApi',
    'attachGovernance',
    'buildHttpApp',
    'callTool',
    'claimValue',
    'computeGovernance',
    'createFleetPool',
    'createFleetServer',
    'createLogger',
    'createMetrics',
    'decide',
    'defineTool',
    'explainGovernance',
    'governanceOf',
    'grantCovers',
    'identityFromClaims',
    'listTools',
    'loadCoreConfig',
    'migrate',
    'parsePolicy',
    'policySchema',
    'redactArguments',
    'resolveGovernance',
    'runServerMain',
    'toolFacts',
  ]);
});

it('testkit exports exactly its documented runtime surface', () => {
  expect(Object.keys(testkit).sort()).toEqual([
    'DevIssuer',
    'bootServer',
    'connectClient',
    'connectLegacy',
    'connectModern',
    'createTestDatabase',
    'freePort',
    'policyWithoutThrottling',
    'startEmbeddedPostgres',
    'startTestPostgres',
    'startTestRedis',
    'testRedisUrl',
  ]);
});

describe('the protocol revisions core advertises are the ones its endpoint answers', () => {
  let s: BootedServer;
  let token: string;
  beforeAll(async () => {
    s = await bootServer(fixtureServer, { policy: fixturePolicy });
    token = await s.token({ sub: 'agent-versions', roles: ['reader'] });
  });
  afterAll(async () => {
    await s?.close();
  });

  it('advertises one modern revision and the 2025 revisions, on one endpoint', () => {
    expect(core.SERVED_PROTOCOL_VERSIONS).toEqual([
      core.MODERN_PROTOCOL_VERSION,
      ...core.LEGACY_PROTOCOL_VERSIONS,
    ]);
    expect(core.LEGACY_PROTOCOL_VERSIONS).toEqual(expect.arrayContaining(['2025-11-25', '2025-06-18']));
  });

  it.each(core.LEGACY_PROTOCOL_VERSIONS.map((v) => [v]))(
    'a client initializing with %s is answered in that revision and then served',
    async (version) => {
      const auth = { authorization: `Bearer ${token}`, 'mcp-protocol-version': version };
      const init = await rpc(
        s.url,
        {
          jsonrpc: '2.0',
          id: 0,
          method: 'initialize',
          params: { protocolVersion: version, capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
        },
        auth,
      );
      expect(init.body.result.protocolVersion).toBe(version);
      const listed = await rpc(s.url, { jsonrpc: '2.0', id: 1, method: 'tools/list' }, auth);
      expect(listed.status).toBe(200);
      expect(listed.body.result.tools.map((t: { name: string }) => t.name)).toContain('echo_text');
    },
  );

  it('a client asking for a revision it does not advertise is answered in one it does', async () => {
    const init = await rpc(
      s.url,
      {
        jsonrpc: '2.0',
        id: 0,
        method: 'initialize',
        params: {
          protocolVersion: '2023-01-01',
          capabilities: {},
          clientInfo: { name: 'old', version: '1' },
        },
      },
      { authorization: `Bearer ${token}` },
    );
    expect(core.SERVED_PROTOCOL_VERSIONS).toContain(init.body.result.protocolVersion);
  });

  it('the real SDK clients of both eras negotiate an advertised revision and call a tool', async () => {
    const legacyTransport = new LegacyTransport(new URL(s.url), {
      requestInit: { headers: { authorization: `Bearer ${token}` } },
    });
    const legacy = new LegacyClient({ name: 'legacy-era', version: '1.0.0' });
    await legacy.connect(legacyTransport);
    expect(core.LEGACY_PROTOCOL_VERSIONS).toContain(legacyTransport.protocolVersion);
    const viaLegacy = await legacy.callTool({ name: 'echo_text', arguments: { text: 'legacy' } });
    expect(viaLegacy.structuredContent).toMatchObject({ text: 'legacy' });
    await legacy.close();

    // testkit's modern client is pinned to core's MODERN_PROTOCOL_VERSION.
    const modern = await connectModern(s.url, token);
    const viaModern = await modern.callTool('echo_text', { text: 'modern' });
    expect(viaModern.structuredContent).toMatchObject({ text: 'modern' });
    await modern.close();
  });
});
