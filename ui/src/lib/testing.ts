// Fixtures shared by the UI's unit tests; not part of the built window.
import type { CallView } from "./ipc";

/** A call in `stage` with neutral values, changed by `extra`. */
export function callView(
  id: string,
  stage: CallView["stage"],
  extra: Partial<CallView> = {},
): CallView {
  return {
    id,
    direction: "inbound",
    number: "+447700900123",
    display_name: null,
    customers: [],
    stage,
    held_by_agent: false,
    muted: false,
    started_at_ms: 0,
    answered_at_ms: null,
    keys_heard: "",
    transfer_status: null,
    ended: null,
    ended_at_ms: null,
    customer_id: null,
    interaction_id: `int_call-${id}`,
    conversation_id: `cnv_call-${id}`,
    wrap_up_due: false,
    ...extra,
  };
}
