// The vendor-neutral seam of the ticket tools: what a ticket system must do (create, comment, read,
// find by idempotency key), in plain text and neutral types, so Zendesk or ServiceNow can follow Jira.

/** The extra fields a ticket may carry beyond summary and description (each allowed by policy). */
export interface TicketExtraFields {
  /** A priority name as the ticket system spells it ("High"). */
  priority?: string;
  labels?: string[];
  /** Component names of the project. */
  components?: string[];
  /** Due date, YYYY-MM-DD. */
  duedate?: string;
}

/** A ticket to create. Text is plain text and reaches the system verbatim. */
export interface NewTicket {
  /** Project key, already checked against policy ("SUP"). */
  project: string;
  /** Issue type name, already checked against policy ("Task"). */
  issueType: string;
  summary: string;
  description: string;
  fields: TicketExtraFields;
  /** Stable key of this create: a retry with the same key finds the first ticket instead of making a second. */
  idempotencyKey: string;
}

/** One comment of a ticket, as plain text. */
export interface TicketComment {
  id: string;
  author: string;
  created: string;
  body: string;
}

/** A ticket as read back, as plain text. Everything textual was written by others: untrusted data. */
export interface Ticket {
  key: string;
  /** The project the ticket is really in now (a moved ticket keeps answering to its old key). */
  project: string;
  issueType: string;
  status: string;
  summary: string;
  description: string;
  priority?: string;
  labels: string[];
  components: string[];
  duedate?: string;
  reporter?: string;
  assignee?: string;
  created?: string;
  updated?: string;
  /** The most recent comments, oldest first. */
  comments: TicketComment[];
  /** How many comments the ticket has in all. */
  commentTotal: number;
}

/** Where a ticket lives, read before writing to it. */
export interface TicketLocation {
  key: string;
  id: string;
  project: string;
}

/** Per-request options every backend method takes. */
export interface TicketCallOptions {
  /** The tool call's signal; aborts the upstream request. */
  signal: AbortSignal;
  /** Called right before the request that may change the ticket system (the point of no return). */
  commit?: () => void;
  /** Epoch ms by which the call must be over: one retry after a 429 happens only when it fits. */
  deadline?: number;
}

/** What a create or comment did: made something new, or found what an earlier attempt with the same key made. */
export interface WriteOutcome {
  /** The ticket key (create) or comment id (comment). */
  id: string;
  /** False when an earlier attempt with the same idempotency key had already made it. */
  created: boolean;
}

/** What a create did; `project` is where the ticket is now (an earlier attempt's ticket may have moved). */
export interface CreateOutcome extends WriteOutcome {
  project: string;
}

/** A ticket found by its idempotency key: its key and the project it is in now. */
export interface FoundTicket {
  key: string;
  project: string;
}

/**
 * A ticket system. Methods throw UpstreamFailure (src/upstream/failures.ts) for upstream problems;
 * policy is checked by the tools, but a backend never writes outside the project it is given.
 */
export interface TicketBackend {
  /** Names the system in results and untrusted-data marks ("jira"). */
  readonly source: string;
  /**
   * How long (ms) after a write got no answer its request may still land upstream: a retry with the
   * same key waits that long (or is told to) before writing again.
   */
  readonly settleMs: number;
  /**
   * Creates a ticket once per idempotency key: looks the key up first (in every project: the ticket
   * of an earlier attempt may have been moved), then creates with the key attached. A ticket found
   * may be in another project than `ticket.project`: the caller checks `project` before using it.
   */
  createTicket(ticket: NewTicket, opts: TicketCallOptions): Promise<CreateOutcome>;
  /**
   * The ticket created with this idempotency key, in whatever project it is now, or null. The key is
   * caller-scoped already; the caller must check the project before revealing the ticket.
   */
  findByIdempotencyKey(idempotencyKey: string, opts: TicketCallOptions): Promise<FoundTicket | null>;
  /** Where a ticket really is (its current key, id and project), or null when it does not exist or is not visible. */
  locateTicket(key: string, opts: TicketCallOptions): Promise<TicketLocation | null>;
  /** Adds a plain-text comment once per idempotency key, to the ticket located by `ticket`. */
  addComment(
    ticket: TicketLocation,
    body: string,
    idempotencyKey: string,
    opts: TicketCallOptions,
  ): Promise<WriteOutcome>;
  /**
   * Reads a ticket and its last `maxComments` comments, or null when it does not exist or is not
   * visible. `guard` sees where the ticket really is before anything else is read, and may throw.
   */
  getTicket(
    key: string,
    maxComments: number,
    opts: TicketCallOptions,
    guard?: (where: TicketLocation) => void,
  ): Promise<Ticket | null>;
  /** Resolves when the system answers with valid credentials; throws UpstreamFailure otherwise. */
  readiness(): Promise<void>;
}
