// The web chat page's behaviour, without a framework: start a chat, send lines, and follow the
// chat's events over a streamed fetch (so that the token travels in a header, never in a URL).
"use strict";

const state = {
  token: null,
  lastEventId: null,
  seen: new Set(),
  ended: false,
  agentName: null,
  typingShown: null,
  toldTypingAt: 0,
};

// The hub's typing rules: a signal shows for six seconds; each side repeats its own at most
// every three while it types.
const TYPING_SHOWN_FOR_MS = 6000;
const TYPING_REPEAT_MS = 3000;

const $ = (id) => document.getElementById(id);

function showProblem(text) {
  const problem = $("problem");
  problem.textContent = text;
  problem.hidden = !text;
}

async function call(method, path, body) {
  const headers = { "Content-Type": "application/json" };
  if (state.token) headers.Authorization = `Bearer ${state.token}`;
  const response = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!response.ok) {
    let message = `The chat service answered ${response.status}.`;
    try {
      message = (await response.json()).message || message;
    } catch (_) {
      // Not JSON: keep the status line.
    }
    throw new Error(message);
  }
  return response.status === 204 ? null : response.json().catch(() => null);
}

function addMessage(event) {
  if (state.seen.has(event.id)) return;
  state.seen.add(event.id);
  const item = document.createElement("li");
  item.className = event.from;
  item.dataset.from = event.from;
  const who = document.createElement("span");
  who.className = "who";
  who.textContent = event.from === "customer" ? "You" : event.agent_name || "Agent";
  const text = document.createElement("span");
  // Text, never markup: whatever anyone types is shown as typed.
  text.textContent = event.body;
  item.append(who, text);
  $("messages").append(item);
  item.scrollIntoView({ block: "end" });
}

function setStatus(text) {
  $("status").textContent = text;
}

function showAgentTyping() {
  $("typing").textContent = `${state.agentName || "The agent"} is typing…`;
  clearTimeout(state.typingShown);
  state.typingShown = setTimeout(hideAgentTyping, TYPING_SHOWN_FOR_MS);
}

function hideAgentTyping() {
  clearTimeout(state.typingShown);
  $("typing").textContent = "";
}

function onEvent(event) {
  if (event.type === "message") {
    if (event.from === "agent") hideAgentTyping();
    addMessage(event);
  } else if (event.type === "state") {
    if (event.state === "connected") {
      state.agentName = event.agent_name || null;
      setStatus(`${event.agent_name || "An agent"} has joined the chat.`);
    } else if (event.state === "ended") {
      state.ended = true;
      hideAgentTyping();
      setStatus("The chat has ended. Thank you.");
      $("reply").hidden = true;
    }
  }
}

// Reads server-sent events from a fetch body; reconnects with Last-Event-ID after a drop.
async function follow() {
  while (!state.ended) {
    try {
      const headers = { Authorization: `Bearer ${state.token}` };
      if (state.lastEventId) headers["Last-Event-ID"] = state.lastEventId;
      const response = await fetch("/v1/chat/events", { headers });
      if (!response.ok) throw new Error(`events answered ${response.status}`);
      const reader = response.body.getReader();
      const decoder = new TextDecoder();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        let end;
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          let id = null;
          let name = "message";
          let data = "";
          for (const line of block.split("\n")) {
            if (line.startsWith("id:")) id = line.slice(3).trim();
            else if (line.startsWith("event:")) name = line.slice(6).trim();
            else if (line.startsWith("data:")) data += line.slice(5).trimStart();
          }
          if (id) state.lastEventId = id;
          if (name === "typing") showAgentTyping();
          else if (data) onEvent(JSON.parse(data));
        }
      }
    } catch (error) {
      setStatus("Reconnecting…");
    }
    if (!state.ended) await new Promise((resolve) => setTimeout(resolve, 2000));
  }
}

async function pollPlace() {
  while (!state.ended && state.token) {
    try {
      const status = await call("GET", "/v1/chat/status");
      if (status && status.state === "waiting") {
        setStatus(
          status.position
            ? `Waiting for an agent. You are number ${status.position} in line.`
            : "Waiting for an agent.",
        );
      } else if (status && status.state !== "waiting") {
        return;
      }
    } catch (_) {
      // The event stream reports lost connections; this line just waits for the next try.
    }
    await new Promise((resolve) => setTimeout(resolve, 5000));
  }
}

$("start").addEventListener("submit", async (event) => {
  event.preventDefault();
  showProblem("");
  const tenant = new URLSearchParams(location.search).get("tenant");
  try {
    const started = await call("POST", "/v1/chat/sessions", {
      tenant: tenant || undefined,
      name: $("name").value,
      contact: $("contact").value,
      message: $("first").value,
    });
    state.token = started.token;
    $("start").hidden = true;
    $("chat").hidden = false;
    setStatus("Waiting for an agent.");
    $("line").focus();
    void follow();
    void pollPlace();
  } catch (error) {
    showProblem(error.message);
  }
});

$("reply").addEventListener("submit", async (event) => {
  event.preventDefault();
  const line = $("line");
  if (!line.value.trim()) return;
  try {
    await call("POST", "/v1/chat/messages", { body: line.value });
    line.value = "";
    // The next keystroke starts a new message, which the agent hears of at once.
    state.toldTypingAt = 0;
    showProblem("");
  } catch (error) {
    showProblem(error.message);
  }
});

// The agent hears that the customer types, at the first keystroke and then every few seconds.
$("line").addEventListener("input", () => {
  const now = Date.now();
  if (!state.token || state.ended || now - state.toldTypingAt < TYPING_REPEAT_MS) return;
  state.toldTypingAt = now;
  call("POST", "/v1/chat/typing").catch(() => {
    // Typing is worth showing only now; a lost signal is not retried.
  });
});

$("line").addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey) {
    event.preventDefault();
    $("reply").requestSubmit();
  }
});

$("leave").addEventListener("click", async () => {
  try {
    await call("POST", "/v1/chat/end");
  } catch (error) {
    showProblem(error.message);
  }
});
