// Pure formatting for what the window shows; no I/O, so every rule is unit-tested.
import type {
  AgentState,
  CallView,
  Connectivity,
  CustomerFile,
  HubStatus,
  Identity,
  Interaction,
  Note,
  PhoneLine,
  SyncView,
  Ticket,
  WrapUp,
} from "./ipc";

/** The words the status pill shows for each connectivity state. */
export function connectivityLabel(connectivity: Connectivity): string {
  switch (connectivity) {
    case "connecting":
      return "Connecting to hub…";
    case "online":
      return "Hub online";
    case "degraded":
      return "Hub degraded";
    case "offline":
      return "Hub unreachable";
  }
}

/** A one-line explanation for the status pill's tooltip and screen-reader description. */
export function statusDescription(status: HubStatus): string {
  const where = `Hub ${status.hub_url}`;
  const why = status.detail ? `: ${status.detail}` : "";
  const demo = status.demo ? " (demo data)" : "";
  return `${where}${demo}${why}`;
}

/**
 * Groups an E.164 number for reading aloud. Numbers we cannot group are returned unchanged:
 * showing the exact digits beats a pretty guess.
 */
export function formatPhone(e164: string): string {
  const match = /^\+(\d+)$/.exec(e164);
  const digits = match?.[1];
  if (!digits) {
    return e164;
  }
  if (digits.startsWith("1") && digits.length === 11) {
    return `+1 ${digits.slice(1, 4)} ${digits.slice(4, 7)} ${digits.slice(7)}`;
  }
  if (digits.startsWith("44") && digits.length === 12) {
    const national = digits.slice(2);
    // Mobiles (07xxx) group 4-6, London (020) groups 2-4-4, other areas 4-6.
    if (national.startsWith("20")) {
      return `+44 ${national.slice(0, 2)} ${national.slice(2, 6)} ${national.slice(6)}`;
    }
    return `+44 ${national.slice(0, 4)} ${national.slice(4)}`;
  }
  if (digits.startsWith("33") && digits.length === 11) {
    const national = digits.slice(2);
    const pairs = national.slice(1).match(/\d{2}/g) ?? [];
    return `+33 ${national.slice(0, 1)} ${pairs.join(" ")}`;
  }
  return e164;
}

/** An identity's value as shown: phones grouped, everything else as stored. */
export function identityText(identity: Identity): string {
  return identity.kind === "phone" ? formatPhone(identity.value) : identity.value;
}

/** "Customer since March 2021", from an RFC 3339 timestamp; empty when it cannot be read. */
export function customerSince(createdAt: string, locale = "en-GB"): string {
  const date = new Date(createdAt);
  if (Number.isNaN(date.getTime())) {
    return "";
  }
  const month = date.toLocaleDateString(locale, { month: "long", year: "numeric", timeZone: "UTC" });
  return `Customer since ${month}`;
}

/** A person's initials for the avatar, from at most their first two names. */
export function initials(name: string): string {
  return name
    .split(/\s+/)
    .filter((part) => part.length > 0)
    .slice(0, 2)
    .map((part) => Array.from(part)[0]?.toUpperCase() ?? "")
    .join("");
}

/** What the phone's line says: whether calls can reach the agent. */
export function lineLabel(line: PhoneLine): string {
  switch (line.state) {
    case "not_configured":
      return "No phone";
    case "direct":
      return `Phone ready at ${line.address}`;
    case "registering":
      return "Phone registering…";
    case "registered":
      return "Phone registered";
    case "refused":
      return `Phone refused by the registrar (${line.status}); check the SIP settings`;
    case "unreachable":
      return "Phone cannot reach its registrar; retrying";
    case "closed":
      return "Phone closed";
  }
}

/** Where a call stands, in words. */
export function callStageLabel(call: CallView): string {
  switch (call.stage) {
    case "ringing":
      return "Ringing";
    case "dialling":
      return "Calling…";
    case "talking":
      return call.transfer_status === 100 ? "Transferring…" : "Talking";
    case "held":
      return call.held_by_agent ? "On hold" : "Held by the caller";
    case "ended":
      return "Ended";
  }
}

/** A call's timer as m:ss: waiting time while it rings, talk time once answered. */
export function talkTime(call: CallView, now: number): string {
  const from = call.answered_at_ms ?? call.started_at_ms ?? now;
  const until = call.ended_at_ms ?? now;
  const seconds = Math.max(0, Math.floor((until - from) / 1000));
  const minutes = Math.floor(seconds / 60);
  return `${minutes}:${String(seconds % 60).padStart(2, "0")}`;
}

/** What the sync indicator says: the fill's progress, or the link and the waiting writes. */
export function syncLabel(sync: SyncView): string {
  const waiting = [
    sync.pending > 0 ? `${sync.pending} waiting` : null,
    sync.conflicts > 0 ? `${sync.conflicts} in conflict` : null,
    sync.parked > 0 ? `${sync.parked} refused` : null,
  ].filter((part) => part !== null);
  const writes = waiting.length > 0 ? ` · ${waiting.join(", ")}` : "";
  switch (sync.state) {
    case "filling": {
      const total = sync.total === null ? "" : ` of ${Math.round(sync.total).toLocaleString("en")}`;
      return `Filling the cache: ${Math.round(sync.done).toLocaleString("en")}${total}`;
    }
    case "synced":
      return `Cache up to date${writes}`;
    case "degraded":
      return `Cache lagging${writes}`;
    case "offline":
      return `Working offline${writes}`;
  }
}

/** An amount in minor units as the agent reads it, in its own currency: "£19.99". */
export function money(minor: number, currency: string): string {
  try {
    return new Intl.NumberFormat("en-GB", { style: "currency", currency }).format(minor / 100);
  } catch {
    // A code Intl does not know: the digits and the code, never a wrong symbol.
    return `${(minor / 100).toFixed(2)} ${currency}`;
  }
}

/** A stored time (RFC 3339) as a short local date and time. */
export function shortTime(iso: string): string {
  const at = new Date(iso);
  if (Number.isNaN(at.getTime())) {
    return iso;
  }
  return at.toLocaleString("en-GB", {
    day: "numeric",
    month: "short",
    year: "numeric",
    hour: "2-digit",
    minute: "2-digit",
  });
}

/** Snake-case codes from the hub ("out_for_delivery") as words ("out for delivery"). */
export function words(code: string): string {
  return code.replaceAll("_", " ");
}

/** One line of the customer's timeline: a call or chat, a note, or a wrap-up. */
export type TimelineEntry =
  | { kind: "interaction"; at: string; id: string; interaction: Interaction }
  | { kind: "note"; at: string; id: string; note: Note }
  | { kind: "wrap_up"; at: string; id: string; wrapUp: WrapUp };

/**
 * Every past interaction on every channel, with the notes and wrap-ups written about them, in
 * one list, newest first. Times are RFC 3339 in UTC, so they sort as text.
 */
export function timeline(file: CustomerFile): TimelineEntry[] {
  const entries: TimelineEntry[] = [
    ...file.interactions.map(
      (interaction): TimelineEntry => ({
        kind: "interaction",
        at: interaction.started_at,
        id: interaction.id,
        interaction,
      }),
    ),
    ...file.notes.map((note): TimelineEntry => ({ kind: "note", at: note.created_at, id: note.id, note })),
    ...file.wrap_ups.map(
      (wrapUp): TimelineEntry => ({ kind: "wrap_up", at: wrapUp.created_at, id: wrapUp.id, wrapUp }),
    ),
  ];
  return entries.sort((a, b) => (a.at < b.at ? 1 : a.at > b.at ? -1 : a.id.localeCompare(b.id)));
}

/** Whether a ticket still needs work: what "why is this person calling" usually is. */
export function isOpenTicket(ticket: Ticket): boolean {
  return ticket.status === "new" || ticket.status === "open" || ticket.status === "pending";
}

/** The agent states the top bar offers, with their words. */
export const AGENT_STATES: { state: AgentState; label: string }[] = [
  { state: "available", label: "Available" },
  { state: "busy", label: "Busy" },
  { state: "after_call_work", label: "After-call work" },
  { state: "break", label: "On break" },
  { state: "offline", label: "Offline" },
];

/** Time since `sinceIso` as m:ss or h:mm:ss, for the agent state's timer. */
export function elapsed(sinceIso: string, now: number): string {
  const since = new Date(sinceIso).getTime();
  if (Number.isNaN(since)) {
    return "";
  }
  const total = Math.max(0, Math.floor((now - since) / 1000));
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const seconds = String(total % 60).padStart(2, "0");
  return hours > 0
    ? `${hours}:${String(minutes).padStart(2, "0")}:${seconds}`
    : `${minutes}:${seconds}`;
}

/** The name to greet a customer by: the first word of the name they gave. */
export function firstName(displayName: string): string {
  return displayName.trim().split(/\s+/)[0] ?? "";
}

/**
 * Canned chat answers with the customer's and the agent's names filled in. The result is text
 * for the composer; the agent edits it before sending.
 */
export function cannedResponses(customerName: string | null, agentName: string): string[] {
  const who = customerName ? firstName(customerName) : "";
  const hello = who ? `Hello ${who}` : "Hello";
  const thanks = who ? `Thanks ${who}` : "Thanks";
  return [
    `${hello}, this is ${firstName(agentName)}. How can I help?`,
    `${thanks}, let me check that for you. One moment please.`,
    `Is there anything else I can help with today${who ? `, ${who}` : ""}?`,
    `${thanks} for getting in touch. Have a good day!`,
  ];
}
