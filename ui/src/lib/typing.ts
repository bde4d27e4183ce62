// Typing in chats, both ways: when the window shows that a customer types, and when it tells a
// customer that the agent does. Pure, so that the timing rules are tested without a clock.

/** How long a customer's typing is shown after their last signal (the hub's rule too). */
export const TYPING_SHOWN_FOR_MS = 6_000;

/** How often, at most, the window repeats that the agent types. */
export const TYPING_REPEAT_MS = 3_000;

/** When each conversation last heard its customer type, in ms since the epoch. */
export type TypingHeardAt = Readonly<Record<string, number>>;

/** The conversations whose customer typed recently enough to show it at `now`. */
export function typingNow(heard: TypingHeardAt, now: number): Set<string> {
  return new Set(
    Object.entries(heard)
      .filter(([, at]) => now - at < TYPING_SHOWN_FOR_MS && at <= now + TYPING_SHOWN_FOR_MS)
      .map(([conversation]) => conversation),
  );
}

/**
 * Notes a signal, and forgets conversations whose signal is long past, so that the record
 * does not grow over a day of chats.
 */
export function heardTyping(heard: TypingHeardAt, conversation: string, now: number): TypingHeardAt {
  const kept = Object.fromEntries(
    Object.entries(heard).filter(([, at]) => now - at < TYPING_SHOWN_FOR_MS),
  );
  return { ...kept, [conversation]: now };
}

/** Whether a keystroke at `now` should tell the customer again, after the last told `last`. */
export function shouldSignal(last: number | undefined, now: number): boolean {
  return last === undefined || now - last >= TYPING_REPEAT_MS || now < last;
}

/**
 * Forgets a customer's typing once their message arrived: `latest` holds, per conversation,
 * when the customer's newest message was sent (ms since the epoch).
 */
export function answeredTyping(
  heard: TypingHeardAt,
  latest: Readonly<Record<string, number>>,
): TypingHeardAt {
  const kept = Object.entries(heard).filter(([conversation, at]) => {
    const sent = latest[conversation];
    return sent === undefined || sent < at;
  });
  return kept.length === Object.keys(heard).length ? heard : Object.fromEntries(kept);
}
