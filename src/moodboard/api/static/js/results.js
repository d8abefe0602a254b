// The pins area of the home view: the feed, the assistant's results or cascade of sections, or "more like this".

import { $, h } from "./dom.js";
import { pinGrid } from "./grid.js";
import { toCard } from "./pins.js";

function render(heading, note, body) {
  $("#pins-heading").textContent = heading;
  $("#pins-note").textContent = note || "";
  const area = $("#results");
  area.replaceChildren(body);
  area.setAttribute("aria-busy", "false");
}

function gridOf(items, prefix, empty = "No pins to show.") {
  const cards = items.map(toCard);
  return cards.length ? pinGrid(cards, { prefix }) : h("p", { class: "empty" }, empty);
}

/** Show `items` as the home feed; `empty` is what an empty feed says below the note. */
export function showFeed(items, heading, note, empty = "No pins to show.") {
  render(heading, note, gridOf(items, "f", empty));
}

/** Mark the area busy while a request runs. */
export function showLoading(text) {
  $("#results").setAttribute("aria-busy", "true");
  $("#pins-note").textContent = text;
}

/** Start a streamed reply: clear the area, ready for sections to arrive one by one. */
export function beginReply() {
  $("#pins-heading").textContent = "Results";
  $("#pins-note").textContent = "Looking…";
  $("#results").setAttribute("aria-busy", "true");
  $("#results").replaceChildren();
}

/** Add one section of a cascade as it streams in. */
export function addSection(section) {
  const id = `section-${$("#results").children.length}`;
  const body = section.results.length
    ? gridOf(section.results, id)
    : h("p", { class: "empty" }, section.note || "Nothing matched this section.");
  $("#results").append(
    h("section", { class: "cascade-section", "aria-labelledby": id },
      h("h2", { id }, section.name, h("span", { class: "count" }, ` · ${section.results.length} pins`)),
      body),
  );
}

/** Show a flat list of results as they stream in. */
export function addResults(items) {
  $("#results").replaceChildren(gridOf(items, "r"));
}

/** Finish a reply: headline and note from the final message. */
export function endReply(reply) {
  const sections = reply.sections || [];
  const n = sections.length ? sections.reduce((a, s) => a + s.results.length, 0) : (reply.results || []).length;
  $("#pins-heading").textContent = sections.length ? `Your plan: ${sections.length} sections` : "Results";
  $("#pins-note").textContent = reply.message || `${n} pins`;
  if (!sections.length && !(reply.results || []).length) {
    $("#results").replaceChildren(h("p", { class: "empty" }, reply.message || "Nothing matches yet."));
  }
  $("#results").setAttribute("aria-busy", "false");
}
