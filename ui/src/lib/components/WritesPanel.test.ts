// The list of writes that need the agent shows both versions of a conflict as text and offers
// the decisions that fit each problem.
import { fireEvent, render, screen } from "@testing-library/svelte";
import { describe, expect, it, vi } from "vitest";
import WritesPanel from "./WritesPanel.svelte";
import type { WriteView } from "../ipc";

const conflict: WriteView = {
  op_id: "op-1",
  problem: "conflict",
  what: "Ticket change",
  record_id: "tkt_1",
  mine: "Parcel late (solved, normal priority)",
  theirs: "Parcel late <b>(open, urgent priority)</b>",
  message: "the ticket changed since it was read",
  made_at_ms: 0,
};

describe("WritesPanel", () => {
  it("shows both versions of a conflict, as text, and keeps mine on request", async () => {
    const onresolve = vi.fn();
    const { container } = render(WritesPanel, { writes: [conflict], onresolve });

    expect(screen.getByText(/solved, normal priority/), "the agent's version").toBeTruthy();
    expect(screen.getByText(/<b>\(open, urgent priority\)<\/b>/), "the hub's, verbatim").toBeTruthy();
    expect(container.querySelector("b"), "markup in a record stays text").toBeNull();
    await fireEvent.click(screen.getByRole("button", { name: "Keep mine" }));
    expect(onresolve).toHaveBeenCalledWith("op-1", "keep_mine");
  });

  it("offers to send a refused write again or give it up", async () => {
    const onresolve = vi.fn();
    render(WritesPanel, {
      writes: [{ ...conflict, problem: "parked", message: "disposition: must be a code" }],
      onresolve,
    });
    expect(screen.getByText(/must be a code/), "the hub's words are shown").toBeTruthy();
    expect(screen.queryByRole("button", { name: "Keep mine" }), "no conflict choices").toBeNull();
    await fireEvent.click(screen.getByRole("button", { name: "Give it up" }));
    expect(onresolve).toHaveBeenCalledWith("op-1", "discard");
  });

  it("is not there when nothing needs the agent", () => {
    render(WritesPanel, { writes: [], onresolve: () => {} });
    expect(screen.queryByTestId("writes")).toBeNull();
  });
});
