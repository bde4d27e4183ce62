// What the ticket form sends: a new ticket's fields, or only what the agent changed on one
// that exists, so that an edit never overwrites a field someone else changed meanwhile.

import type { Priority, Ticket, TicketStatus } from "./ipc";

/** The form's fields as the agent left them. */
export interface TicketDraft {
  subject: string;
  priority: Priority;
  status: TicketStatus;
  /** A comment for the ticket's history; empty for none. */
  comment: string;
}

/** The fields of an edit that differ from the ticket; `null` for those left as they were. */
export interface TicketEdit {
  subject: string | null;
  status: TicketStatus | null;
  priority: Priority | null;
  comment: string | null;
}

export const PRIORITIES: Priority[] = ["low", "normal", "high", "urgent"];

/** The statuses an agent moves a ticket between; "closed" is the hub's, after solving. */
export const EDITABLE_STATUSES: TicketStatus[] = ["new", "open", "pending", "solved"];

/** The form's starting values: a blank new ticket, or the ticket as it stands. */
export function draftOf(ticket: Ticket | null): TicketDraft {
  return ticket === null
    ? { subject: "", priority: "normal", status: "new", comment: "" }
    : { subject: ticket.subject, priority: ticket.priority, status: ticket.status, comment: "" };
}

/** Why the draft cannot be sent yet, or `null` when it can. */
export function draftProblem(ticket: Ticket | null, draft: TicketDraft): string | null {
  if (draft.subject.trim() === "") {
    return "Give the ticket a subject.";
  }
  if (ticket !== null && isUnchanged(ticket, draft)) {
    return "Nothing has changed.";
  }
  return null;
}

/** Only what the agent changed on `ticket`. */
export function editOf(ticket: Ticket, draft: TicketDraft): TicketEdit {
  const subject = draft.subject.trim();
  const comment = draft.comment.trim();
  return {
    subject: subject !== ticket.subject ? subject : null,
    status: draft.status !== ticket.status ? draft.status : null,
    priority: draft.priority !== ticket.priority ? draft.priority : null,
    comment: comment === "" ? null : comment,
  };
}

function isUnchanged(ticket: Ticket, draft: TicketDraft): boolean {
  const edit = editOf(ticket, draft);
  return (
    edit.subject === null && edit.status === null && edit.priority === null && edit.comment === null
  );
}
