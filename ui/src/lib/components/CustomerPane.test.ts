// The customer pane renders what the hub sends, and renders hostile text as inert text.
import { render, screen } from "@testing-library/svelte";
import { describe, expect, it } from "vitest";
import CustomerPane from "./CustomerPane.svelte";
import type { Customer } from "../ipc";

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

describe("CustomerPane", () => {
  it("shows the customer's name, numbers and e-mail", () => {
    render(CustomerPane, { customer: customer(), loading: false, error: null });

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
      customer: customer({ display_name: hostile, company: "<b>bold</b>" }),
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
    render(CustomerPane, { customer: null, loading: false, error: null });
    expect(
      screen.getByRole("heading", { name: "Choose a customer to see their record." }),
      "an empty pane says what to do",
    ).toBeTruthy();
  });

  it("shows a failure as an alert", () => {
    render(CustomerPane, { customer: null, loading: false, error: "the hub cannot be reached" });
    expect(screen.getByRole("alert").textContent, "the reason is announced").toBe(
      "the hub cannot be reached",
    );
  });
});
