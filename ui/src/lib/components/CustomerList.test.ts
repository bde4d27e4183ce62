// The customer list: choosing, keyboard movement, and what an empty list says.
import { fireEvent, render, screen } from "@testing-library/svelte";
import { describe, expect, it, vi } from "vitest";
import CustomerList from "./CustomerList.svelte";
import type { CustomerSummary } from "../ipc";

const customers: CustomerSummary[] = [
  {
    id: "cus_a",
    display_name: "Ada Lovelace",
    company: null,
    primary_phone: "+447700900001",
    primary_email: null,
  },
  {
    id: "cus_b",
    display_name: "Bea Okafor",
    company: null,
    primary_phone: null,
    primary_email: "bea@example.org",
  },
];

describe("CustomerList", () => {
  it("shows each customer with their number or e-mail, and reports a choice", async () => {
    const onselect = vi.fn();
    render(CustomerList, { customers, selected: null, loading: false, error: null, onselect });

    const items = screen.getAllByTestId("customer-item");
    expect(items.map((item) => item.textContent?.replace(/\s+/g, " ").trim()), "one line each")
      .toEqual(["Ada Lovelace +44 7700 900001", "Bea Okafor bea@example.org"]);

    await fireEvent.click(items[1]!);
    expect(onselect, "clicking chooses that customer").toHaveBeenCalledWith("cus_b");
  });

  it("moves focus with the arrow keys", async () => {
    render(CustomerList, {
      customers,
      selected: "cus_a",
      loading: false,
      error: null,
      onselect: () => {},
    });
    const [first, second] = screen.getAllByTestId("customer-item");
    first!.focus();

    await fireEvent.keyDown(first!, { key: "ArrowDown" });
    expect(document.activeElement, "down moves to the next customer").toBe(second);
    await fireEvent.keyDown(second!, { key: "ArrowDown" });
    expect(document.activeElement, "down at the end stays on the last").toBe(second);
    expect(first!.getAttribute("aria-current"), "the open customer is marked current").toBe(
      "true",
    );
  });

  it("says when a search matches nobody", () => {
    render(CustomerList, {
      customers: [],
      selected: null,
      loading: false,
      error: null,
      query: "zzz",
      onselect: () => {},
    });
    expect(screen.getByText("No customer matches this search."), "an empty result explains itself")
      .toBeTruthy();
  });
});
