// The assistant panel: a session per page, streamed replies (SSE), the chat log and follow-up chips.

import { ApiError, post, send } from "./api.js";
import { $, announce, h } from "./dom.js";
import { showError } from "./notice.js";
import { addResults, addSection, beginReply, endReply } from "./results.js";
import { readEvents } from "./sse.js";
import { EVENTS, emit, state } from "./state.js";
import { describeTurn } from "./turn.js";

let busy = false;

async function ensureSession() {
  if (state.sessionId) return state.sessionId;
  const body = state.user ? { user_id: state.user.id } : {};
  const session = await post("/assistant/sessions", body);
  state.sessionId = session.session_id;
  return state.sessionId;
}

function userBubble(text, image) {
  const li = h("div", { class: "msg msg-user" }, h("span", { class: "visually-hidden" }, "You: "));
  if (image) {
    const url = URL.createObjectURL(image);
    li.append(h("img", { class: "msg-photo", src: url, alt: `Your photo: ${image.name || "upload"}` }));
  }
  if (text) li.append(h("p", {}, text));
  $("#chat-log").append(li);
  li.scrollIntoView({ block: "nearest" });
}

function botBubble() {
  const progress = h("p", { class: "progress", "aria-hidden": "true" }, "Thinking…");
  const li = h("div", { class: "msg msg-bot", "aria-busy": "true" }, h("span", { class: "visually-hidden" }, "Assistant: "), progress);
  $("#chat-log").append(li);
  li.scrollIntoView({ block: "nearest" });
  return {
    progress(text) {
      progress.textContent = text;
    },
    finish(text) {
      progress.remove();
      li.append(h("p", {}, text));
      li.setAttribute("aria-busy", "false");
      li.scrollIntoView({ block: "nearest" });
    },
    fail(err) {
      progress.remove();
      li.classList.add("msg-error");
      li.append(h("p", {}, `Sorry — ${err.detail || err.message}`), err.hint ? h("p", { class: "hint" }, err.hint) : null);
      li.setAttribute("aria-busy", "false");
    },
  };
}

/** Render the follow-up chips of a reply; each sends its text as the next message. */
export function renderChips(chips) {
  const area = $("#chips");
  area.replaceChildren(
    ...(chips || []).map((chip) =>
      h("button", { type: "button", class: "chip", onclick: () => sendMessage(chip) }, chip),
    ),
  );
}

/**
 * Post one turn (text, a photo, or a structured filter edit) and return the streaming response.
 * @param {string} text
 * @param {File | null} image
 * @param {import("./filters.js").FilterEdit | null} edit
 */
async function streamTurn(text, image, edit) {
  const id = await ensureSession();
  const path = `/assistant/sessions/${encodeURIComponent(id)}/messages?stream=true`;
  let body;
  if (image) {
    const form = new FormData();
    form.append("message", text);
    form.append("image", image, image.name || "photo.jpg");
    body = { form };
  } else {
    body = edit
      ? { json: { message: text, filters: edit.filters, remove_filters: edit.remove_filters } }
      : { json: { message: text } };
  }
  return send("POST", path, { ...body, accept: "text/event-stream", raw: true });
}

/**
 * Send one message (optionally a photo, or a structured filter edit) and stream the reply into the log and
 * the pins area.
 * @param {string} text
 * @param {File | null} [image]
 * @param {import("./filters.js").FilterEdit | null} [edit]
 */
export async function sendMessage(text, image = null, edit = null) {
  text = (text || "").trim();
  if (busy || (!text && !image && !edit)) return false;
  busy = true;
  $("#send-button").disabled = true;
  userBubble(text || (edit ? edit.summary : ""), image);
  const bubble = botBubble();
  announce(image ? "Searching with your photo…" : "Searching…");
  let started = false; // whether the pins area was cleared for this reply
  try {
    let resp;
    try {
      resp = await streamTurn(text, image, edit);
    } catch (err) {
      if (!(err instanceof ApiError) || err.status !== 404 || !state.sessionId) throw err;
      state.sessionId = null; // the session expired or belongs to someone else: start a fresh one
      resp = await streamTurn(text, image, edit);
    }
    state.mode = "chat";
    emit(EVENTS.mode, "chat");
    beginReply();
    started = true;
    let reply = null;
    for await (const { event, data } of readEvents(resp)) {
      if (event === "turn") bubble.progress(describeTurn(data));
      else if (event === "section") addSection(data);
      else if (event === "results") addResults(data);
      else if (event === "done") reply = data;
      else if (event === "error") throw new ApiError(data.status || 500, data);
    }
    if (!reply) throw new ApiError(0, { detail: "the reply was cut off", hint: "send the message again" });
    state.reply = reply;
    endReply(reply);
    bubble.finish(reply.message);
    renderChips(reply.chips);
    emit(EVENTS.reply, reply);
    return true;
  } catch (err) {
    bubble.fail(err);
    showError(err, "Assistant");
    if (started) endReply({ message: err.detail || "The reply failed.", sections: [], results: [] });
    return false;
  } finally {
    busy = false;
    $("#send-button").disabled = false;
  }
}

/** Forget the conversation: next message opens a new session. */
export function resetChat() {
  state.sessionId = null;
  state.reply = null;
  $("#chat-log").replaceChildren();
  renderChips([]);
}
