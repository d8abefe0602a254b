// The pin detail dialog: large image, price, facts, a shop link, actions and related pins.

import { get } from "./api.js";
import { $, h, money } from "./dom.js";
import { engage } from "./engagement.js";
import { pinGrid } from "./grid.js";
import { fetchPin, fromPin, toCard } from "./pins.js";
import { PIN_EVENT, emit, state } from "./state.js";

let opener = null;
let openId = null;

function safeUrl(url) {
  try {
    const u = new URL(url, window.location.href);
    return u.protocol === "http:" || u.protocol === "https:" ? u.href : null;
  } catch {
    return null;
  }
}

function fact(label, value) {
  return value ? [h("dt", {}, label), h("dd", {}, value)] : [];
}

function button(label, name, card, primary = false) {
  return h("button", {
    type: "button", class: `btn ${primary ? "btn-primary" : ""}`, dataset: { action: name },
    onclick: () => {
      if (name !== "save") close();
      emit(PIN_EVENT[name], card);
    },
  }, label);
}

async function loadRelated(pinId, area) {
  try {
    const body = await get(`/pins/${pinId}/related?k=12`);
    const cards = body.results.map(toCard).filter((c) => c.id !== pinId);
    if (openId !== pinId) return;
    area.replaceChildren(cards.length ? pinGrid(cards, { prefix: "rel" }) : h("p", { class: "empty" }, "No related pins yet."));
  } catch (err) {
    area.replaceChildren(h("p", { class: "empty" }, `Related pins are unavailable: ${err.detail}`, err.hint ? ` (${err.hint})` : ""));
  } finally {
    area.setAttribute("aria-busy", "false");
  }
}

/** Open the dialog for pin `pinId`; Escape or the close button closes it and returns focus. */
export async function openPin(pinId) {
  const dialog = $("#pin-dialog");
  if (!dialog.open) opener = document.activeElement;
  openId = pinId;
  const body = $("#pin-body");
  body.replaceChildren(h("p", { "aria-busy": "true" }, "Loading…"));
  if (!dialog.open) dialog.showModal();
  let pin;
  try {
    pin = await fetchPin(pinId);
  } catch (err) {
    body.replaceChildren(h("h2", { id: "pin-title" }, "Pin unavailable"), h("p", {}, err.detail), h("p", { class: "hint" }, err.hint));
    return;
  }
  const card = fromPin(pin); // the one pin the shopper opened: a user action, not a per-card fetch
  const url = safeUrl(pin.url);
  const related = h("div", { class: "related", "aria-busy": "true" }, h("p", { class: "muted" }, "Finding related pins…"));
  body.replaceChildren(
    h("article", { class: "detail" },
      h("div", { class: "detail-image" },
        h("img", { src: card.thumbnail, alt: pin.title, width: pin.width || 240, height: pin.height || 320 })),
      h("div", { class: "detail-info" },
        h("h2", { id: "pin-title" }, pin.title),
        h("p", { class: "detail-price" }, money(pin.price, pin.currency) || "Price not listed"),
        h("dl", { class: "facts" },
          ...fact("Category", pin.category), ...fact("Colour", pin.color),
          ...fact("Merchant", pin.merchant), ...fact("Availability", pin.availability?.replace(/_/g, " "))),
        pin.description ? h("p", { class: "muted" }, pin.description) : null,
        h("div", { class: "detail-actions" },
          url ? h("a", { class: "btn btn-primary", href: url, target: "_blank", rel: "noopener noreferrer" },
            `Shop${pin.merchant ? ` at ${pin.merchant}` : ""}`, h("span", { class: "visually-hidden" }, " (opens in a new tab)")) : null,
          button("Save", "save", card),
          button("More like this", "more", card),
          button("Less like this", "less", card),
          button("Hide", "hide", card)))),
    h("section", { class: "related-section", "aria-labelledby": "related-heading" },
      h("h3", { id: "related-heading" }, "Related pins"), related),
  );
  engage(pinId, "click");
  loadRelated(pinId, related);
}

/** Close the dialog (if open). */
export function close() {
  const dialog = $("#pin-dialog");
  if (dialog.open) dialog.close();
}

/** Wire the dialog: on close, leave the pin's URL and give focus back to what opened it. */
export function initDetail() {
  const dialog = $("#pin-dialog");
  $("#pin-close").addEventListener("click", close);
  dialog.addEventListener("click", (ev) => {
    if (ev.target === dialog) close(); // a click on the backdrop
  });
  dialog.addEventListener("close", () => {
    openId = null;
    if (window.location.hash.startsWith("#/pin/")) history.replaceState(null, "", state.lastViewHash);
    if (opener && opener.isConnected && opener.focus) opener.focus();
    opener = null;
  });
}
