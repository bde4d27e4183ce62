// The sign-in form: filled in on a demo hub, never over what the agent typed, and it shows why
// a login failed.
import { fireEvent, render, screen } from "@testing-library/svelte";
import { describe, expect, it, vi } from "vitest";
import SignIn from "./SignIn.svelte";

function field(testId: string): HTMLInputElement {
  return screen.getByTestId(testId) as HTMLInputElement;
}

describe("SignIn", () => {
  it("fills in a demo hub's login and submits it", async () => {
    const onsubmit = vi.fn(async () => null);
    render(SignIn, {
      demoLogin: { login: "maya@demo.example.com", password: "switchboard-demo" },
      reachable: true,
      onsubmit,
    });
    expect(field("sign-in-login").value, "the demo login is filled in").toBe(
      "maya@demo.example.com",
    );
    expect(screen.getByText(/This is a demo hub/), "and the agent is told why").toBeTruthy();

    await fireEvent.submit(screen.getByTestId("sign-in-form"));
    expect(onsubmit, "the form sends what it holds").toHaveBeenCalledWith(
      "maya@demo.example.com",
      "switchboard-demo",
    );
  });

  it("shows the reason a login failed as an alert", async () => {
    render(SignIn, {
      demoLogin: null,
      reachable: true,
      onsubmit: async () => "the login or the password is wrong; check both and try again",
    });
    expect(field("sign-in-login").value, "nothing is filled in on a real hub").toBe("");
    await fireEvent.input(field("sign-in-login"), { target: { value: "ann@example.com" } });
    await fireEvent.input(field("sign-in-password"), { target: { value: "x" } });
    await fireEvent.submit(screen.getByTestId("sign-in-form"));
    const alert = await screen.findByRole("alert");
    expect(alert.textContent, "the engine's words are shown").toContain("password is wrong");
  });

  it("waits for the hub before offering to sign in", () => {
    render(SignIn, { demoLogin: null, reachable: false, onsubmit: async () => null });
    const button = screen.getByTestId("sign-in-submit") as HTMLButtonElement;
    expect(button.disabled, "no point sending a login nobody will answer").toBe(true);
    expect(screen.getByText(/Waiting for the hub/), "and the agent is told why").toBeTruthy();
  });
});
