// What the per-pin actions do: open, save, hide, and "more / less like this" in the current context.
//
// In a conversation, "more/less like this" is a message the assistant understands ("more like #3"), so it
// refines the conversation's state. On the feed (or a "more like this" page) it is a search by the pin's
// image (POST /search with pin_id), and "less" adds the pin to the search's negatives. On the feed, "less"
// records a hide (the taste graph's negative feedback) and reloads the feed. Each gesture sends one
// engagement request (engagement.js); saving to a board records its save itself.

import { post } from "./api.js";
import { saveDialog } from "./boards.js";
import { sendMessage } from "./chat.js";
import { $, announce } from "./dom.js";
import { engage } from "./engagement.js";
import { loadFeed } from "./feed.js";
import { dropCard } from "./grid.js";
import { showError, showInfo } from "./notice.js";
import { showFeed, showLoading } from "./results.js";
import { EVENTS, on, state } from "./state.js";

async function similar(pinId, title, negatives) {
  state.mode = "similar";
  state.similar = { pinId, title, negatives };
  showLoading(`Finding pins like “${title}”…`);
  try {
    const body = await post("/search", { pin_id: pinId, negative_pin_ids: negatives, k: 24 });
    // the query pin and the pins marked "less like this" are not shown again in this search
    const items = body.results.filter((r) => r.pin_id !== pinId && !negatives.includes(r.pin_id));
    const note = negatives.length ? `Less like ${negatives.length} pin(s) you marked.` : "Visually similar pins.";
    showFeed(items, `More like “${title}”`, note);
    $("#pins").focus();
  } catch (err) {
    showError(err, "More like this");
  }
}

async function more(card) {
  if (state.mode === "chat" && card.position) {
    await sendMessage(`more like #${card.position}`);
  } else {
    await similar(card.id, card.title, []);
  }
}

async function less(card) {
  if (state.mode === "chat" && card.position) {
    await sendMessage(`less like #${card.position}`);
  } else if (state.mode === "similar" && state.similar) {
    const s = state.similar;
    await similar(s.pinId, s.title, [...s.negatives, card.id]);
  } else if (state.user) {
    if (await engage(card.id, "hide")) {
      announce(`Showing less like ${card.title}`);
      await loadFeed();
    }
  } else {
    showInfo("Choose a persona under “Shopping as” to tune your feed.");
  }
}

async function hide(card) {
  state.hidden.add(card.id);
  dropCard(card.id);
  announce(`Hidden: ${card.title}`);
  await engage(card.id, "hide");
}

async function save(card) {
  await saveDialog(card); // the board route records the save (with the conversation, if any)
}

/** Subscribe the actions to the pin events that cards and the detail dialog emit. */
export function initActions() {
  on(EVENTS.pinOpen, (card) => {
    window.location.hash = `#/pin/${card.id}`;
  });
  on(EVENTS.pinMore, (card) => more(card).catch((err) => showError(err)));
  on(EVENTS.pinLess, (card) => less(card).catch((err) => showError(err)));
  on(EVENTS.pinHide, (card) => hide(card).catch((err) => showError(err)));
  on(EVENTS.pinSave, (card) => save(card).catch((err) => showError(err)));
}
