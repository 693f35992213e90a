// One circuit breaker per upstream: core's (cockatiel), shared with every server that calls out.
export { type BreakerOptions, type BreakerState, UpstreamBreaker } from '@mcp-fleet/core';
