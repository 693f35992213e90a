// The public surface of core and testkit, pinned: adding or removing an export is a visible diff
// here, reviewed on purpose (servers may only import what is listed).
import * as core from '@mcp-fleet/core';
import * as approvals from '@mcp-fleet/core/approvals';
import * as internal from '@mcp-fleet/core/internal';
import * as policy from '@mcp-fleet/core/policy';
import * as protocol from '@mcp-fleet/core/protocol';
import * as testkit from '@mcp-fleet/testkit';
import { type BootedServer, bootServer, connectModern } from '@mcp-fleet/testkit';
import { Client as LegacyClient } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as LegacyTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixturePolicy, fixtureServer } from './fixtures.js';
import { rpc } from './helpers.js';

// What a server needs comes from the root; everything else from an explicit subpath.
const SURFACE: Record<string, [Record<string, unknown>, string[]]> = {
  '@mcp-fleet/core': [
    core,
    [
      'FleetError',
      'PROBE_TTL_MS',
      'ToolError',
      'UpstreamBreaker',
      'UpstreamBreakers',
      'UpstreamFailure',
      'breakerCheck',
      'callBounds',
      'claimValue',
      'createFleetServer',
      'defineConstraint',
      'defineServer',
      'defineTool',
      'env',
      'isUpstreamFailure',
      'parseEnv',
      'parseRetryAfter',
      'runServerMain',
      'signalledFetch',
      'toolsFor',
      'upstreamCall',
      'upstreamCheck',
      'upstreamToolError',
      'upstreamUrlProblem',
      'withUpstreamSpan',
    ],
  ],
  '@mcp-fleet/core/policy': [
    policy,
    [
      'DENY_ALL',
      'PolicyStore',
      'ToolRegistry',
      'callKinds',
      'checkFlow',
      'computeGovernance',
      'decide',
      'describeFlowRule',
      'describeGap',
      'describeReads',
      'explainFlow',
      'explainFlowPolicy',
      'explainGovernance',
      'flowPolicySchema',
      'grantCovers',
      'labelsOf',
      'overrideKey',
      'parsePolicy',
      'policyGaps',
      'policySchema',
      'resolveGovernance',
      'rolesApply',
      'ruleApplies',
      'stringLeaves',
      'toolFacts',
      'toolKeyMatches',
      'validatePolicy',
    ],
  ],
  '@mcp-fleet/core/approvals': [
    approvals,
    [
      'APPROVAL_STATUSES',
      'ApprovalDesk',
      'ApprovalStore',
      'AuditLog',
      'AuditQuery',
      'AuditQueryError',
      'AGENT_DESK_REFUSALS',
      'ANOMALY_MIGRATIONS',
      'AgentDesk',
      'MAX_AGENT_ID',
      'MAX_REASON',
      'SuspensionStore',
      'DESK_REFUSALS',
      'agentsApi',
      'approverFromIdToken',
      'argumentsHashesOf',
      'hostAndOriginGuard',
      'isAgentId',
      'learnBaseline',
      'listAnomalies',
      'purgeAuditRecords',
      'redactArguments',
    ],
  ],
  '@mcp-fleet/core/protocol': [
    protocol,
    [
      'APPROVAL_ARG',
      'APPROVAL_META_KEY',
      'CACHE_META_KEY',
      'CALL_ERRORS',
      'ERROR_META_KEY',
      'FLEET_ERRORS',
      'GOVERNANCE_META_KEY',
      'IDEMPOTENCY_ARG',
      'IDEMPOTENCY_META_KEY',
      'LEGACY_PROTOCOL_VERSIONS',
      'MODERN_PROTOCOL_VERSION',
      'REPLAYED_META_KEY',
      'UNTRUSTED_META_KEY',
      'RETRY_AFTER_META_KEY',
      'SERVED_PROTOCOL_VERSIONS',
    ],
  ],
  '@mcp-fleet/core/internal': [
    internal,
    [
      'AnomalyModel',
      'AuthFailure',
      'CORE_MIGRATIONS',
      'CallCancellation',
      'DEFAULT_ALGORITHMS',
      'GovernanceStores',
      'SLOT_NAMES',
      'TokenVerifier',
      'ToolNotAvailableError',
      'approvalsApi',
      'buildChain',
      'buildHttpApp',
      'callTool',
      'createFleetPool',
      'createLogger',
      'createMetrics',
      'identityFromClaims',
      'listTools',
      'loadCoreConfig',
      'manifestSchema',
      'migrate',
      'migrationsOf',
      'namespaceMigrations',
      'readManifest',
      'resolveServer',
      'serverManifest',
      'toolsOf',
      'declaredToolsOf',
    ],
  ],
};

it.each(Object.entries(SURFACE))(
  '%s exports exactly its documented runtime surface',
  (_entry, [mod, names]) => {
    expect(Object.keys(mod).sort()).toEqual([...names].sort());
  },
);

it('no name is exported by two entries (one home per name)', () => {
  const all = Object.values(SURFACE).flatMap(([mod]) => Object.keys(mod));
  expect(all.filter((n, i) => all.indexOf(n) !== i)).toEqual([]);
});

it('testkit exports exactly its documented runtime surface', () => {
  expect(Object.keys(testkit).sort()).toEqual([
    'DevIssuer',
    'EXAMPLE_POLICY_FILE',
    'bootServer',
    'callOutcome',
    'clientAs',
    'connectAs',
    'connectClient',
    'connectLegacy',
    'connectModern',
    'createTestDatabase',
    'dataOf',
    'eventually',
    'examplePolicy',
    'freePort',
    'listedNames',
    'outcomeOf',
    'policyWithoutThrottling',
    'silentLogger',
    'startEmbeddedPostgres',
    'startOtlpReceiver',
    'startTestPostgres',
    'startTestRedis',
    'testRedisUrl',
    'textOf',
    'untilDefined',
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
    expect(protocol.SERVED_PROTOCOL_VERSIONS).toEqual([
      protocol.MODERN_PROTOCOL_VERSION,
      ...protocol.LEGACY_PROTOCOL_VERSIONS,
    ]);
    expect(protocol.LEGACY_PROTOCOL_VERSIONS).toEqual(expect.arrayContaining(['2025-11-25', '2025-06-18']));
  });

  it.each(protocol.LEGACY_PROTOCOL_VERSIONS.map((v) => [v]))(
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
    expect(protocol.SERVED_PROTOCOL_VERSIONS).toContain(init.body.result.protocolVersion);
  });

  it('the real SDK clients of both eras negotiate an advertised revision and call a tool', async () => {
    const legacyTransport = new LegacyTransport(new URL(s.url), {
      requestInit: { headers: { authorization: `Bearer ${token}` } },
    });
    const legacy = new LegacyClient({ name: 'legacy-era', version: '1.0.0' });
    await legacy.connect(legacyTransport);
    expect(protocol.LEGACY_PROTOCOL_VERSIONS).toContain(legacyTransport.protocolVersion);
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
