// The ticket tools, their outbound planners and the Jira backend, as the server composes them.
import type { Planner } from '../outbound/plan.js';
import { addTicketComment, planAddTicketComment } from './add-ticket-comment.js';
import { createTicket, planCreateTicket } from './create-ticket.js';
import { getTicket } from './get-ticket.js';

export type { NewTicket, Ticket, TicketBackend, TicketComment, TicketLocation } from './backend.js';
export { JiraBackend, type JiraBackendOptions } from './jira-backend.js';

/** The ticket tools, in the order tools/list shows them. */
export const ticketTools = [createTicket, addTicketComment, getTicket];

/** The planners of the ticket tools that send, by tool name. */
export const ticketPlans: Record<string, Planner> = {
  create_ticket: planCreateTicket,
  add_ticket_comment: planAddTicketComment,
};
