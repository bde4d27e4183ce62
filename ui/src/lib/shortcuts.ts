// The window's keyboard shortcuts, as pure rules: which key asks for which action, and which
// call an action applies to. Alt-based, so that they never collide with typing in a field.
import type { CallBoard, CallView } from "./ipc";

export type Shortcut = "answer" | "hangUp" | "hold" | "mute" | "nextCall" | "search";

/** The keys of each shortcut, as `aria-keyshortcuts` spells them for screen readers. */
export const KEYS: Record<Shortcut, string> = {
  answer: "Alt+A",
  hangUp: "Alt+H",
  hold: "Alt+P",
  mute: "Alt+M",
  nextCall: "Alt+N",
  search: "Alt+S",
};

/** The shortcut a key press asks for, if any. */
export function shortcutOf(event: {
  key: string;
  altKey: boolean;
  ctrlKey: boolean;
  metaKey: boolean;
  shiftKey: boolean;
}): Shortcut | null {
  if (!event.altKey || event.ctrlKey || event.metaKey || event.shiftKey) {
    return null;
  }
  switch (event.key.toLowerCase()) {
    case "a":
      return "answer";
    case "h":
      return "hangUp";
    case "p":
      return "hold";
    case "m":
      return "mute";
    case "n":
      return "nextCall";
    case "s":
      return "search";
    default:
      return null;
  }
}

/**
 * The call a shortcut acts on: answering takes the call that has rung longest; the other
 * call actions take the call in focus when it can take them, else the first that can.
 */
export function callFor(
  shortcut: Shortcut,
  board: CallBoard,
  focused: string | null,
): CallView | null {
  const live = board.calls.filter((call) => call.stage !== "ended");
  const able = (call: CallView): boolean => {
    switch (shortcut) {
      case "answer":
        return call.stage === "ringing";
      case "hangUp":
        return call.stage !== "ringing";
      case "hold":
      case "mute":
        return call.stage === "talking" || call.stage === "held";
      default:
        return false;
    }
  };
  const candidates = live.filter(able);
  if (shortcut !== "answer") {
    const inFocus = candidates.find((call) => call.id === focused);
    if (inFocus) {
      return inFocus;
    }
  }
  return candidates[0] ?? null;
}

/** The call after `focused` among those not ended, wrapping round: "next interaction". */
export function nextCall(board: CallBoard, focused: string | null): string | null {
  const live = board.calls.filter((call) => call.stage !== "ended");
  if (live.length === 0) {
    return null;
  }
  const at = live.findIndex((call) => call.id === focused);
  return live[(at + 1) % live.length]?.id ?? null;
}
