// The vendor-apis server's tools, in the order tools/list shows them, by vendor (a vendor's tools are
// listed only when it is configured: see definition.ts).
import type { AnyTool } from '@mcp-fleet/core';
import { hubspotTools } from '../hubspot/tools/index.js';
import { salesforceTools } from '../salesforce/tools/index.js';
import { stripeTools } from '../stripe/tools/index.js';
import type { Vendor } from '../tenants.js';

export const toolsByVendor: Record<Vendor, readonly AnyTool[]> = {
  stripe: stripeTools,
  hubspot: hubspotTools,
  salesforce: salesforceTools,
};

export const tools: AnyTool[] = [...stripeTools, ...hubspotTools, ...salesforceTools];
