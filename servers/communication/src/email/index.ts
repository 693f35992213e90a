// The email module as the server composes it: its tools, their outbound planners and the SMTP connector.
import type { AnyTool } from '@mcp-fleet/core';
import type { Connectors } from '../connectors.js';
import type { Planner } from '../outbound/plan.js';
import { emailPlan, sendEmail } from './send-email.js';

export { classifySmtpError, EmailConnector, type EmailConnectorOptions } from './connector.js';

/** The email tools (send_email). */
export const emailTools: readonly AnyTool<Connectors>[] = [sendEmail];

/** Planners of the email tools, by tool name (run by the outbound governance step and the handler). */
export const emailPlans: Record<string, Planner> = { send_email: emailPlan };
