// The status pill tells the agent whether the hub is there, and offers a retry when it is not.
import { fireEvent, render, screen } from "@testing-library/svelte";
import { describe, expect, it, vi } from "vitest";
import StatusPill from "./StatusPill.svelte";
import type { Connectivity, HubStatus } from "../ipc";

function status(connectivity: Connectivity, demo = false): HubStatus {
  return {
    connectivity,
    hub_url: "http://127.0.0.1:7300",
    hub_url_source: "default",
    detail: connectivity === "online" ? null : "connection refused",
    demo,
    hub_version: "0.1.0",
    demo_login: null,
    agent: null,
  };
}

describe("StatusPill", () => {
  it("announces the state politely to screen readers", () => {
    render(StatusPill, { status: status("online"), onretry: () => {} });
    const pill = screen.getByRole("status");
    expect(pill.textContent?.trim(), "the label is read out").toBe("Hub online");
    expect(pill.getAttribute("aria-live"), "changes are announced without interrupting").toBe(
      "polite",
    );
    expect(screen.queryByRole("button"), "nothing to retry while online").toBeNull();
  });

  it("offers a retry when the hub is unreachable", async () => {
    const onretry = vi.fn();
    render(StatusPill, { status: status("offline"), onretry });

    expect(screen.getByRole("status").dataset.state, "the state is exposed for tests").toBe(
      "offline",
    );
    await fireEvent.click(screen.getByRole("button", { name: "Retry now" }));
    expect(onretry, "the retry button asks for a probe").toHaveBeenCalledOnce();
  });

  it("marks demo data so nobody mistakes it for real customers", () => {
    render(StatusPill, { status: status("online", true), onretry: () => {} });
    expect(screen.getByText("Demo data"), "the demo badge is shown").toBeTruthy();
  });
});
