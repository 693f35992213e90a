// The public surface of core and testkit, pinned: adding or removing an export is a visible diff
// here, reviewed on purpose (servers may only import what is listed).
import * as core from '@mcp-fleet/core';
import * as testkit from '@mcp-fleet/testkit';
import { expect, it } from 'vitest';

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
  ]);
});

it('serves the 2026-07-28 revision and the 2025 revisions on one endpoint', () => {
  expect(core.MODERN_PROTOCOL_VERSION).toBe('2026-07-28');
  expect(core.SERVED_PROTOCOL_VERSIONS).toEqual(
    expect.arrayContaining(['2026-07-28', '2025-11-25', '2025-06-18']),
  );
});
