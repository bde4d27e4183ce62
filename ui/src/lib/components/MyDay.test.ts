// "My day" shows the agent's count and average, and names only the queues where someone waits.
import { render, screen } from "@testing-library/svelte";
import { describe, expect, it } from "vitest";
import MyDay from "./MyDay.svelte";

const queue = (name: string, waiting: number) => ({
  name,
  waiting,
  longest_wait_seconds: waiting * 30,
  available_agents: 2,
});

describe("MyDay", () => {
  it("counts the day and names the queues where customers wait", () => {
    render(MyDay, {
      day: {
        handled: 7,
        average_handle_seconds: 185,
        queues: [queue("Orders", 3), queue("Billing", 0)],
      },
    });
    expect(screen.getByTestId("handled").textContent).toBe("7");
    expect(screen.getByText("Avg 3:05"), "the average as minutes and seconds").toBeTruthy();
    expect(
      screen.getAllByTestId("queue-waiting").map((q) => q.textContent?.trim()),
      "only the queue with someone waiting",
    ).toEqual(["Orders: 3 waiting"]);
  });

  it("says so when nobody waits", () => {
    render(MyDay, { day: { handled: 0, average_handle_seconds: 0, queues: [queue("Orders", 0)] } });
    expect(screen.getByText("Queues: none waiting")).toBeTruthy();
    expect(screen.queryByText(/Avg/), "no average before the first").toBeNull();
  });
});
