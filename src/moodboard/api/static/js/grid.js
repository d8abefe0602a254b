// The masonry grid of pin cards: lazy thumbnails, price, "why", and per-pin actions. It draws only what
// the response's cards carry: no card fetches anything (a thumbnail is an image, not an API request).

import { h, money } from "./dom.js";
import { EVENTS, PIN_EVENT, emit, state } from "./state.js";

const ROW = 4; // px: grid-auto-rows of .grid in app.css
const GAP = 16; // px: vertical gap between cards

const sizer = new ResizeObserver((entries) => {
  for (const entry of entries) place(entry.target);
});

function place(card) {
  const height = card.getBoundingClientRect().height;
  card.style.gridRowEnd = `span ${Math.max(1, Math.ceil((height + GAP) / ROW))}`;
}

function action(label, name, card, extra = "") {
  return h(
    "button",
    {
      type: "button",
      class: `pin-action ${extra}`,
      "aria-label": `${label} ${card.title}`,
      title: `${label}${name === "more" || name === "less" ? " like this" : ""}`,
      dataset: { action: name },
      onclick: (ev) => {
        ev.stopPropagation();
        emit(PIN_EVENT[name], card);
      },
    },
    label,
  );
}

/** The card behind each rendered card element (no expando properties on DOM nodes). */
const cardOf = new WeakMap();

/** The card a rendered `.pin-card` element shows. */
export function cardOfElement(el) {
  return cardOf.get(el)?.card;
}

/** One pin card; `options.actions` false leaves out the per-pin actions (e.g. in a board). */
export function pinCard(card, options = {}) {
  const titleId = `pin-${options.prefix || "g"}-${card.id}-title`;
  const img = h("img", {
    src: card.thumbnail,
    alt: card.title,
    loading: "lazy",
    decoding: "async",
    width: card.width || 240,
    height: card.height || 320,
  });
  img.addEventListener("error", () => img.replaceWith(h("div", { class: "pin-missing" }, "no image")), { once: true });
  const price = h("p", { class: "pin-price" }, money(card.price, card.currency));
  const el = h(
    "article",
    { class: "pin-card", "aria-labelledby": titleId, dataset: { pinId: card.id, color: card.color || "", category: card.category || "" } },
    h("div", { class: "pin-image", onclick: () => emit(EVENTS.pinOpen, card) }, img,
      card.position ? h("span", { class: "pin-pos", title: `result #${card.position}` }, `#${card.position}`) : null),
    h("div", { class: "pin-meta" },
      h("h3", { class: "pin-title", id: titleId }, h("a", { href: `#/pin/${card.id}` }, card.title)),
      price,
      card.why ? h("p", { class: "pin-why" }, card.why) : null),
    options.actions === false
      ? null
      : h("div", { class: "pin-actions", role: "group", "aria-label": `Actions for ${card.title}` },
          action("Save", "save", card, "pin-save"),
          action("More", "more", card),
          action("Less", "less", card),
          action("Hide", "hide", card)),
  );
  cardOf.set(el, { card });
  sizer.observe(el);
  return el;
}

/** A masonry grid of `cards` (hidden pins left out). */
export function pinGrid(cards, options = {}) {
  const list = h("div", { class: "grid", role: "list" });
  for (const card of cards) {
    if (state.hidden.has(card.id)) continue;
    const item = pinCard(card, options);
    item.setAttribute("role", "listitem");
    list.append(item);
  }
  return list;
}

/** Remove every card of `pinId` from the page. */
export function dropCard(pinId) {
  for (const el of document.querySelectorAll(`.pin-card[data-pin-id="${pinId}"]`)) {
    sizer.unobserve(el);
    el.remove();
  }
}
