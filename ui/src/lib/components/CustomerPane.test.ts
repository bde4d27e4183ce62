// The customer pane renders what the hub sends, and renders hostile text as inert text.
import { render, screen } from "@testing-library/svelte";
import { describe, expect, it } from "vitest";
import CustomerPane from "./CustomerPane.svelte";
import type { Customer, CustomerFile, Ticket } from "../ipc";

function customer(overrides: Partial<Customer> = {}): Customer {
  return {
    id: "cus_00000000000000aa",
    display_name: "Grace Okafor",
    company: "Northwind Traders",
    language: "en-GB",
    city: "Leeds",
    country: "GB",
    tier: "gold",
    created_at: "2020-05-01T09:00:00Z",
    updated_at: "2026-11-30T09:00:00Z",
    identities: [
      { kind: "phone", value: "+447700900123", label: "mobile", primary: true },
      { kind: "email", value: "grace.okafor@example.co.uk", label: null, primary: true },
    ],
    ...overrides,
  };
}

function ticket(id: string, subject: string, status: Ticket["status"], updated: string): Ticket {
  return {
    id,
    customer_id: "cus_00000000000000aa",
    subject,
    status,
    priority: "normal",
    assignee: null,
    comments: [],
    created_at: "2026-11-01T09:00:00Z",
    updated_at: updated,
    version: 1,
  };
}

function fileOf(who: Customer, extra: Partial<CustomerFile> = {}): CustomerFile {
  return {
    customer: who,
    tickets: [],
    orders: [],
    carts: [],
    transactions: [],
    conversations: [],
    interactions: [],
    messages: [],
    notes: [],
    wrap_ups: [],
    unsent: [],
    ...extra,
  };
}

describe("CustomerPane", () => {
  it("puts open tickets first and marks what the hub has not confirmed as pending", () => {
    render(CustomerPane, {
      file: fileOf(customer(), {
        tickets: [
          ticket("tkt_1", "Parcel late", "open", "2026-12-01T09:00:00Z"),
          ticket("tkt_2", "Old refund", "solved", "2026-12-03T09:00:00Z"),
        ],
        notes: [
          {
            id: "not_1",
            customer_id: "cus_00000000000000aa",
            interaction_id: null,
            author: "agt_1",
            body: "<img src=x onerror=alert(1)> asked for a callback",
            created_at: "2026-12-04T10:00:00Z",
            updated_at: "2026-12-04T10:00:00Z",
            version: 0,
          },
        ],
        unsent: ["not_1"],
      }),
      loading: false,
      error: null,
    });

    const open = screen.getAllByTestId("open-ticket");
    expect(
      open.map((li) => li.dataset.id),
      "only the open ticket is in the open list, whatever changed last",
    ).toEqual(["tkt_1"]);
    const note = screen.getByTestId("timeline-note");
    expect(note.textContent, "a note's markup is shown as text").toContain("<img src=x");
    expect(note.querySelector("img"), "and makes no element").toBeNull();
    expect(
      note.querySelector("[data-testid=pending]"),
      "a note still on its way to the hub says so",
    ).not.toBeNull();
  });


  it("shows the customer's name, numbers and e-mail", () => {
    render(CustomerPane, { file: fileOf(customer()), loading: false, error: null });

    expect(screen.getByTestId("customer-name").textContent, "the name heads the pane").toBe(
      "Grace Okafor",
    );
    const phone = screen.getByTestId("customer-phone");
    expect(phone.dataset.e164, "the exact number is kept for dialling").toBe("+447700900123");
    expect(phone.textContent?.trim(), "and grouped for reading").toBe("+44 7700 900123");
    expect(screen.getByText("grace.okafor@example.co.uk"), "the e-mail is listed").toBeTruthy();
  });

  it("renders markup in a name as text and runs nothing", () => {
    const hostile = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>';
    const { container } = render(CustomerPane, {
      file: fileOf(customer({ display_name: hostile, company: "<b>bold</b>" })),
      loading: false,
      error: null,
    });

    expect(screen.getByTestId("customer-name").textContent, "the name is shown verbatim").toBe(
      hostile,
    );
    expect(container.querySelector("img"), "no element is created from customer text").toBeNull();
    expect(container.querySelector("script"), "no script element either").toBeNull();
    expect(container.querySelector("b"), "nor any formatting").toBeNull();
    expect((window as { __pwned?: number }).__pwned, "and nothing ran").toBeUndefined();
  });

  it("asks the agent to choose when no customer is open", () => {
    render(CustomerPane, { file: null, loading: false, error: null });
    expect(
      screen.getByRole("heading", { name: "Choose a customer to see their record." }),
      "an empty pane says what to do",
    ).toBeTruthy();
  });

  it("shows a failure as an alert", () => {
    render(CustomerPane, { file: null, loading: false, error: "the hub cannot be reached" });
    expect(screen.getByRole("alert").textContent, "the reason is announced").toBe(
      "the hub cannot be reached",
    );
  });
});
