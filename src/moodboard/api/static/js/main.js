// Entry point: wires the modules together and routes between views (#/, #/boards, #/pin/{id}).
//
// Modules: api (HTTP + problem errors), sse (event-stream reader), state (shared state + event bus),
// personas (user switcher), feed (home feed), chat (assistant session, streaming, chips), turn (what a
// turn understood), results (pins area: feed, sections), grid (masonry cards), pins (pin data), filters
// (facets <-> conversation), actions (per-pin actions), detail (pin dialog), boards (boards page + save
// dialog), events (engagement events), upload (photo button + drag and drop), notice (errors), dom.

import { initActions } from "./actions.js";
import { send } from "./api.js";
import { createBoard, invalidate, renderBoardsPage } from "./boards.js";
import { renderChips, resetChat, sendMessage } from "./chat.js";
import { initDetail, openPin, close as closePin } from "./detail.js";
import { $, announce } from "./dom.js";
import { loadFeed } from "./feed.js";
import { filterEdit, syncFromReply } from "./filters.js";
import { showError, showInfo } from "./notice.js";
import { initPersonas } from "./personas.js";
import { EVENTS, on, state } from "./state.js";
import { initUpload } from "./upload.js";

function showView(name) {
  $("#view-home").hidden = name !== "home";
  $("#view-boards").hidden = name !== "boards";
  for (const link of /** @type {NodeListOf<HTMLElement>} */ (document.querySelectorAll("[data-nav]"))) {
    if (link.dataset.nav === name) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
}

function route() {
  const hash = window.location.hash || "#/";
  const pin = hash.match(/^#\/pin\/(\d+)$/);
  if (pin) {
    openPin(Number(pin[1]));
    return;
  }
  closePin();
  state.lastViewHash = hash;
  if (hash.startsWith("#/boards")) {
    showView("boards");
    document.title = "Boards · moodboard";
    renderBoardsPage();
  } else {
    showView("home");
    document.title = "moodboard";
  }
}

function initComposer() {
  const input = $("#chat-input");
  $("#chat-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const text = input.value;
    if (!text.trim()) return;
    input.value = "";
    if (!(await sendMessage(text))) input.value = text;
  });
  input.addEventListener("keydown", (ev) => {
    if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing) {
      ev.preventDefault();
      $("#chat-form").requestSubmit();
    }
  });
  $("#chips").addEventListener("click", () => input.focus());
  $("#new-chat").addEventListener("click", () => {
    resetChat();
    loadFeed();
    announce("New conversation");
    input.focus();
  });
}

function initFilters() {
  $("#filters").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const edit = filterEdit();
    if (edit) await sendMessage("", null, edit);
    else if (!document.querySelector(".notice-info")) showInfo("The filters already match the conversation.");
  });
}

function initBoardsForm() {
  $("#new-board").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const name = $("#new-board-name").value.trim();
    if (!name) return;
    try {
      await createBoard(name);
      $("#new-board-name").value = "";
      announce(`Created board ${name}`);
      await renderBoardsPage();
    } catch (err) {
      showError(err, "New board");
    }
  });
  $("#save-cancel").addEventListener("click", () => $("#save-dialog").close(""));
}

// Phone widths: the assistant is a bottom sheet opened from the top bar, and the filters fold away.
const narrow = window.matchMedia("(max-width: 899px)");

function setChatOpen(open) {
  document.body.classList.toggle("chat-open", open);
  $("#chat-toggle").setAttribute("aria-expanded", String(open));
}

function initLayout() {
  const button = $("#chat-toggle");
  button.addEventListener("click", () => {
    const open = !document.body.classList.contains("chat-open");
    setChatOpen(open);
    if (open) $("#chat-input").focus();
  });
  $("#assistant").addEventListener("keydown", (ev) => {
    if (ev.key === "Escape" && narrow.matches && document.body.classList.contains("chat-open")) {
      setChatOpen(false);
      button.focus();
    }
  });
  on(EVENTS.reply, () => {
    if (narrow.matches && document.body.classList.contains("chat-open")) {
      setChatOpen(false); // show the results; the reply is also the note above them
      $("#pins").focus();
    }
  });
  if (narrow.matches) $("#filters-box").open = false;
  $("#skip-main").addEventListener("click", (ev) => {
    ev.preventDefault(); // skip links move focus; they are not routes
    $("#view-home").hidden ? $("#main").focus() : $("#pins").focus();
  });
  $("#skip-chat").addEventListener("click", (ev) => {
    ev.preventDefault();
    if (narrow.matches) setChatOpen(true);
    $("#chat-input").focus();
  });
}

/** Example queries learned from this catalog (GET /catalog/profile): the composer's hint and first chips. */
async function initExamples() {
  let examples = [];
  try {
    const profile = await send("GET", "/catalog/profile");
    examples = profile.examples || [];
    state.currency = profile.currency || null;
  } catch {
    examples = []; // no index yet: the empty-catalog notice says what to do
  }
  if (examples.length) {
    const goal = examples.find((e) => e.startsWith("ideas for")) || examples[examples.length - 1];
    $("#chat-input").placeholder = `Try: ${examples[0]}, or ${goal}`;
  }
  renderChips(examples.slice(0, 4));
}

async function start() {
  initActions();
  initDetail();
  initComposer();
  initFilters();
  initBoardsForm();
  initLayout();
  initUpload();
  on(EVENTS.reply, syncFromReply);
  on(EVENTS.mode, () => {
    if ($("#view-home").hidden) window.location.hash = "#/"; // results show on Discover (e.g. a photo dropped on Boards)
  });
  on(EVENTS.persona, () => {
    resetChat();
    invalidate();
    state.hidden.clear();
    loadFeed();
    if (!$("#view-boards").hidden) renderBoardsPage();
  });
  window.addEventListener("hashchange", route);
  await initPersonas();
  await initExamples();
  route();
  await loadFeed();
  document.body.dataset.ready = "true";
}

start().catch((err) => showError(err, "Starting the app"));
