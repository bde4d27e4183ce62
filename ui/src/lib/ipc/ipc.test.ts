// The IPC wrapper turns the Rust side's error objects into typed exceptions.
import { describe, expect, it } from "vitest";
import { IpcError, unwrap } from "./index";

describe("unwrap", () => {
  it("returns the data of a successful command", async () => {
    await expect(unwrap(Promise.resolve({ status: "ok", data: 42 })), "data passes through")
      .resolves.toBe(42);
  });

  it("throws an IpcError that keeps the code and message", async () => {
    const failure = unwrap(
      Promise.resolve({
        status: "error",
        error: { code: "hub_unreachable", message: "the hub cannot be reached" },
      }),
    );
    await expect(failure, "an error result must throw").rejects.toBeInstanceOf(IpcError);
    await failure.catch((error: IpcError) => {
      expect(error.code, "the code survives for branching").toBe("hub_unreachable");
      expect(error.message, "the message survives for showing").toBe("the hub cannot be reached");
    });
  });
});
