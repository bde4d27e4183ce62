// The keyboard shortcuts: which keys ask for what, and which call each acts on.
import { describe, expect, it } from "vitest";
import { callFor, nextCall, shortcutOf } from "./shortcuts";
import type { CallBoard, CallView } from "./ipc";
import { callView } from "./testing";

const call = (id: string, stage: CallView["stage"]): CallView => callView(id, stage);

const key = (key: string, extra: Partial<KeyboardEvent> = {}) => ({
  key,
  altKey: true,
  ctrlKey: false,
  metaKey: false,
  shiftKey: false,
  ...extra,
});

describe("shortcutOf", () => {
  it("maps Alt and a letter to its action, and nothing else", () => {
    expect(shortcutOf(key("a"))).toBe("answer");
    expect(shortcutOf(key("H")), "the letter's case does not matter").toBe("hangUp");
    expect(shortcutOf(key("a", { altKey: false })), "plain typing is never a shortcut").toBe(
      null,
    );
    expect(shortcutOf(key("a", { ctrlKey: true })), "other modifiers belong to others").toBe(
      null,
    );
  });
});

describe("callFor", () => {
  const board: CallBoard = {
    line: { state: "registered", expires_secs: 300 },
    calls: [call("talking", "talking"), call("old-ring", "ringing"), call("new-ring", "ringing")],
  };

  it("answers the call that has rung longest, whatever is in focus", () => {
    expect(callFor("answer", board, "new-ring")?.id).toBe("old-ring");
  });

  it("hangs up or holds the call in focus, else the first that can", () => {
    expect(callFor("hold", board, null)?.id, "only the talking call can be held").toBe("talking");
    expect(callFor("hangUp", board, "new-ring")?.id, "a ringing call is declined, not hung up").toBe(
      "talking",
    );
  });

  it("moves to the next call, wrapping round, skipping ended ones", () => {
    const withEnded = { ...board, calls: [...board.calls, call("gone", "ended")] };
    expect(nextCall(withEnded, "new-ring")).toBe("talking");
    expect(nextCall(withEnded, null)).toBe("talking");
    expect(nextCall({ ...board, calls: [] }, null)).toBe(null);
  });
});
