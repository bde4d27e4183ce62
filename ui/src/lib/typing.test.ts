// Unit tests of the typing rules.
import { describe, expect, it } from "vitest";
import {
  answeredTyping,
  heardTyping,
  shouldSignal,
  TYPING_SHOWN_FOR_MS,
  typingNow,
} from "./typing";

describe("a customer typing", () => {
  it("shows for a few seconds after the last signal, then goes", () => {
    const heard = heardTyping({}, "cnv_1", 10_000);
    expect(typingNow(heard, 10_000).has("cnv_1"), "shown as soon as it is heard").toBe(true);
    expect(
      typingNow(heard, 10_000 + TYPING_SHOWN_FOR_MS - 1).has("cnv_1"),
      "still shown just before the limit",
    ).toBe(true);
    expect(
      typingNow(heard, 10_000 + TYPING_SHOWN_FOR_MS).has("cnv_1"),
      "gone once the customer stopped for the whole limit",
    ).toBe(false);
  });

  it("is per conversation, and old signals are forgotten", () => {
    let heard = heardTyping({}, "cnv_1", 1_000);
    heard = heardTyping(heard, "cnv_2", 1_000 + TYPING_SHOWN_FOR_MS + 1);
    expect(Object.keys(heard), "a signal long past is not kept").toEqual(["cnv_2"]);
    expect([...typingNow(heard, 1_000 + TYPING_SHOWN_FOR_MS + 2)]).toEqual(["cnv_2"]);
  });
});

describe("a customer's message", () => {
  it("ends their typing in that conversation only", () => {
    const heard = heardTyping(heardTyping({}, "cnv_1", 1_000), "cnv_2", 1_000);
    const after = answeredTyping(heard, { cnv_1: 1_500, cnv_2: 900 });
    expect(
      Object.keys(after),
      "the message sent after the typing ends it; an older one does not",
    ).toEqual(["cnv_2"]);
    expect(answeredTyping(heard, {}), "nothing changes without messages").toBe(heard);
  });
});

describe("the agent typing", () => {
  it("is told at the first keystroke, then at most every few seconds", () => {
    expect(shouldSignal(undefined, 5_000), "the first keystroke tells the customer").toBe(true);
    expect(shouldSignal(5_000, 6_000), "a keystroke a second later does not").toBe(false);
    expect(shouldSignal(5_000, 8_000), "three seconds later it is told again").toBe(true);
    expect(shouldSignal(5_000, 4_000), "a clock set back does not silence it").toBe(true);
  });
});
