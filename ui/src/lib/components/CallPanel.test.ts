// The call panel shows each call with the controls its stage allows, and hides itself on a
// desk without a phone.
import { fireEvent, render, screen } from "@testing-library/svelte";
import { describe, expect, it, vi } from "vitest";
import CallPanel from "./CallPanel.svelte";
import type { CallBoard, CallView } from "../ipc";
import { callView } from "../testing";

function call(stage: CallView["stage"], extra: Partial<CallView> = {}): CallView {
  return callView("c1", stage, {
    started_at_ms: 1_000_000,
    answered_at_ms: stage === "ringing" ? null : 1_005_000,
    ...extra,
  });
}

function handlers() {
  return {
    onanswer: vi.fn(),
    ondecline: vi.fn(),
    onhangup: vi.fn(),
    onhold: vi.fn(),
    onmute: vi.fn(),
    onkeys: vi.fn(),
    ontransfer: vi.fn(),
    ondial: vi.fn(),
    onselectcustomer: vi.fn(),
  };
}

const line: CallBoard["line"] = { state: "registered", expires_secs: 300 };

describe("CallPanel", () => {
  it("shows nothing on a desk without a phone", () => {
    render(CallPanel, {
      board: { line: { state: "not_configured" }, calls: [] },
      now: 0,
      ...handlers(),
    });
    expect(screen.queryByTestId("calls"), "no phone, no call panel").toBeNull();
  });

  it("offers answer and decline for a ringing call, and announces it at once", async () => {
    const actions = handlers();
    render(CallPanel, { board: { line, calls: [call("ringing")] }, now: 1_012_000, ...actions });
    const ringing = screen.getByTestId("call");
    expect(ringing.getAttribute("aria-live"), "a ringing call interrupts the reader").toBe(
      "assertive",
    );
    expect(screen.getByTestId("call-number").textContent).toBe("+447700900123");
    expect(screen.getByLabelText("Call time").textContent, "waiting time while it rings").toBe(
      "0:12",
    );
    await fireEvent.click(screen.getByRole("button", { name: "Answer" }));
    expect(actions.onanswer).toHaveBeenCalledWith("c1");
    expect(screen.queryByRole("button", { name: "Hang up" }), "not before it is answered").toBeNull();
  });

  it("offers hang up, hold and mute on a call in progress, pressed when they apply", async () => {
    const actions = handlers();
    render(CallPanel, {
      board: { line, calls: [call("held", { held_by_agent: true, muted: true })] },
      now: 1_065_000,
      ...actions,
    });
    expect(screen.getByLabelText("Call time").textContent, "talk time since the answer").toBe(
      "1:00",
    );
    const resume = screen.getByRole("button", { name: "Resume" });
    expect(resume.getAttribute("aria-pressed"), "hold shows as pressed").toBe("true");
    await fireEvent.click(resume);
    expect(actions.onhold, "pressing it again resumes").toHaveBeenCalledWith("c1", false);
    await fireEvent.click(screen.getByRole("button", { name: "Unmute" }));
    expect(actions.onmute).toHaveBeenCalledWith("c1", false);
  });

  it("pops the caller's customer, and says so when several share the number", async () => {
    const actions = handlers();
    const ada = {
      id: "cus_1",
      display_name: "Ada Lovelace",
      company: null,
      primary_phone: "+447700900123",
      primary_email: null,
    };
    const { unmount } = render(CallPanel, {
      board: { line, calls: [call("ringing", { customers: [ada] })] },
      now: 0,
      ...actions,
    });
    await fireEvent.click(screen.getByTestId("call-customer"));
    expect(actions.onselectcustomer, "the name opens the customer").toHaveBeenCalledWith("cus_1");
    unmount();

    render(CallPanel, {
      board: {
        line,
        calls: [call("ringing", { customers: [ada, { ...ada, id: "cus_2", display_name: "Ada Byron" }] })],
      },
      now: 0,
      ...handlers(),
    });
    expect(
      screen.getByTestId("call-customers").textContent,
      "the agent is told the number is shared, never given one silently",
    ).toContain("2 customers share this number");
    expect(screen.getAllByTestId("call-customer")).toHaveLength(2);
  });

  it("shows a caller's name as text, never as markup", () => {
    render(CallPanel, {
      board: {
        line,
        calls: [call("ringing", { display_name: '<img src=x onerror="alert(1)">' })],
      },
      now: 0,
      ...handlers(),
    });
    const who = screen.getByTestId("call-number");
    expect(who.querySelector("img"), "no element is made of the name").toBeNull();
    expect(who.textContent).toContain("<img");
  });
});
