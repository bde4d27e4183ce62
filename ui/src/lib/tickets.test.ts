// Unit tests of what the ticket form sends.
import { describe, expect, it } from "vitest";
import type { Ticket } from "./ipc";
import { draftOf, draftProblem, editOf } from "./tickets";

const ticket: Ticket = {
  id: "tkt_1",
  customer_id: "cus_1",
  subject: "Parcel not delivered",
  status: "open",
  priority: "normal",
  assignee: null,
  comments: [],
  created_at: "2026-12-01T09:00:00Z",
  updated_at: "2026-12-01T09:00:00Z",
  version: 3,
};

describe("the ticket form", () => {
  it("starts a new ticket blank and an edit from the ticket as it stands", () => {
    expect(draftOf(null).subject, "a new ticket has no subject yet").toBe("");
    expect(draftOf(null).priority, "a new ticket is of normal priority unless said").toBe(
      "normal",
    );
    expect(draftOf(ticket), "an edit starts from the ticket's own fields").toEqual({
      subject: "Parcel not delivered",
      priority: "normal",
      status: "open",
      comment: "",
    });
  });

  it("sends only the fields the agent changed", () => {
    const edit = editOf(ticket, { ...draftOf(ticket), priority: "urgent", comment: "  " });
    expect(edit, "an unchanged status must not overwrite someone else's change").toEqual({
      subject: null,
      status: null,
      priority: "urgent",
      comment: null,
    });
    expect(
      editOf(ticket, { ...draftOf(ticket), subject: " Parcel not delivered ", comment: "Rang DPD" })
        .subject,
      "spaces around an unchanged subject are not a change",
    ).toBeNull();
  });

  it("says why a draft cannot be sent", () => {
    expect(draftProblem(null, draftOf(null)), "a ticket needs a subject").toBe(
      "Give the ticket a subject.",
    );
    expect(draftProblem(ticket, draftOf(ticket)), "an edit that changes nothing is not sent").toBe(
      "Nothing has changed.",
    );
    expect(
      draftProblem(ticket, { ...draftOf(ticket), status: "solved" }),
      "a changed status can be sent",
    ).toBeNull();
  });
});
