// Unit tests of the window's pure formatting rules.
import { describe, expect, it } from "vitest";
import {
  cannedResponses,
  connectivityLabel,
  customerSince,
  elapsed,
  formatPhone,
  initials,
  statusDescription,
  syncLabel,
  timeline,
} from "./format";
import type { HubStatus } from "./ipc";

describe("formatPhone", () => {
  it.each([
    ["+447700900123", "+44 7700 900123", "a UK mobile groups 4-6"],
    ["+442079460123", "+44 20 7946 0123", "a London number groups 2-4-4"],
    ["+13125550142", "+1 312 555 0142", "a North American number groups 3-3-4"],
    ["+33199001234", "+33 1 99 00 12 34", "a French number groups in pairs"],
  ])("groups %s as %s (%s)", (e164, shown) => {
    expect(formatPhone(e164), `${e164} must be grouped for reading aloud`).toBe(shown);
  });

  it("leaves numbers it does not know unchanged rather than guessing", () => {
    expect(formatPhone("+4930123456"), "an unknown plan keeps its exact digits").toBe(
      "+4930123456",
    );
    expect(formatPhone("0800 123"), "a non-E.164 value is shown as stored").toBe("0800 123");
  });
});

describe("connectivity", () => {
  const status: HubStatus = {
    connectivity: "offline",
    hub_url: "http://127.0.0.1:7300",
    hub_url_source: "default",
    detail: "connection refused",
    demo: true,
    hub_version: null,
    demo_login: null,
    agent: null,
  };

  it("says the hub is unreachable when offline", () => {
    expect(connectivityLabel("offline"), "the agent must see the hub is gone").toBe(
      "Hub unreachable",
    );
    expect(connectivityLabel("online"), "and when it is back").toBe("Hub online");
  });

  it("explains where the hub is and why it is not online", () => {
    expect(statusDescription(status), "the tooltip names the address and the cause").toBe(
      "Hub http://127.0.0.1:7300 (demo data): connection refused",
    );
  });
});

describe("customer facts", () => {
  it("dates the relationship in words", () => {
    expect(customerSince("2021-03-15T10:00:00Z"), "month and year are enough").toBe(
      "Customer since March 2021",
    );
    expect(customerSince("not a date"), "an unreadable date shows nothing").toBe("");
  });

  it("takes initials from the first two names, whatever the script", () => {
    expect(initials("Ada King Lovelace"), "two letters at most").toBe("AK");
    expect(initials("  élodie   martin "), "accented letters are kept").toBe("ÉM");
    expect(initials(""), "an empty name gives no initials").toBe("");
  });
});

describe("syncLabel", () => {
  const view = {
    state: "synced" as const,
    done: 0,
    total: null,
    pending: 0,
    conflicts: 0,
    parked: 0,
    needs_sign_in: false,
    last_error: null,
    cursor: null,
  };

  it("shows the fill's progress with the total when the hub gave one", () => {
    expect(syncLabel({ ...view, state: "filling", done: 1200, total: 5000 })).toBe(
      "Filling the cache: 1,200 of 5,000",
    );
  });

  it("counts the writes that wait, and says when the desk works offline", () => {
    expect(syncLabel(view), "nothing waiting, nothing said").toBe("Cache up to date");
    expect(syncLabel({ ...view, state: "offline", pending: 3, conflicts: 1 })).toBe(
      "Working offline · 3 waiting, 1 in conflict",
    );
  });
});

describe("canned responses", () => {
  it("greet the customer by first name and sign with the agent's", () => {
    const [hello, , , bye] = cannedResponses("Grace Okafor", "Maya Lindqvist");
    expect(hello).toBe("Hello Grace, this is Maya. How can I help?");
    expect(bye).toBe("Thanks Grace for getting in touch. Have a good day!");
  });

  it("read well without a known customer", () => {
    const [hello] = cannedResponses(null, "Maya Lindqvist");
    expect(hello, "no empty name slot").toBe("Hello, this is Maya. How can I help?");
  });
});

describe("the timeline and timers", () => {
  it("counts minutes and seconds, then hours", () => {
    const start = "2026-12-04T10:00:00Z";
    expect(elapsed(start, Date.parse("2026-12-04T10:01:05Z"))).toBe("1:05");
    expect(elapsed(start, Date.parse("2026-12-04T11:02:03Z"))).toBe("1:02:03");
  });

  it("merges calls, notes and wrap-ups newest first", () => {
    const entries = timeline({
      customer: {} as never,
      tickets: [],
      orders: [],
      carts: [],
      transactions: [],
      conversations: [],
      interactions: [
        {
          id: "int_1",
          conversation_id: "cnv_1",
          customer_id: "cus_1",
          channel: "call",
          direction: "inbound",
          state: "ended",
          queue_id: null,
          agent_id: null,
          remote_number: null,
          started_at: "2026-12-01T10:00:00Z",
          answered_at: null,
          ended_at: null,
          version: 1,
        },
      ],
      messages: [],
      notes: [
        {
          id: "not_1",
          customer_id: "cus_1",
          interaction_id: null,
          author: "agt_1",
          body: "x",
          created_at: "2026-12-02T10:00:00Z",
          updated_at: "2026-12-02T10:00:00Z",
          version: 1,
        },
      ],
      wrap_ups: [],
      unsent: [],
    });
    expect(entries.map((entry) => entry.id)).toEqual(["not_1", "int_1"]);
  });
});
