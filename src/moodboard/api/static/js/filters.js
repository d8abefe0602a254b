// Facet filters (price range, colour, category), kept in sync with the conversation's state.
//
// The conversation is the one source of truth: applying filters sends them as a message the assistant's
// parser understands ("between $20 and $40, in red, only lamps"), and every reply's state sets the form.

import { $, h } from "./dom.js";
import { showInfo } from "./notice.js";

let current = { price_min: null, price_max: null, colours: [], categories: [] };

function fillSelect(select, counts, active) {
  const values = new Map(Object.entries(counts || {}));
  for (const v of active) if (!values.has(v)) values.set(v, null);
  const options = [h("option", { value: "" }, "any")];
  for (const [value, n] of values) {
    if (!value || value.toLowerCase() === "na") continue;
    options.push(h("option", { value }, n === null ? value : `${value} (${n})`));
  }
  select.replaceChildren(...options);
  select.value = active[0] || "";
}

function countBy(cards, key) {
  const out = {};
  for (const c of cards) if (c[key]) out[c[key]] = (out[c[key]] || 0) + 1;
  return Object.fromEntries(Object.entries(out).sort((a, b) => b[1] - a[1]));
}

function describe(f) {
  const bits = [];
  if (f.price_min !== null && f.price_max !== null) bits.push(`$${f.price_min}–$${f.price_max}`);
  else if (f.price_max !== null) bits.push(`under $${f.price_max}`);
  else if (f.price_min !== null) bits.push(`over $${f.price_min}`);
  bits.push(...f.colours.map((c) => c.toLowerCase()));
  bits.push(...(f.exclude_colours || []).map((c) => `not ${c.toLowerCase()}`));
  bits.push(...f.categories.map((c) => `only ${c.toLowerCase()}`));
  if (f.audience) bits.push(`for ${f.audience}`);
  return bits.length ? `Active: ${bits.join(" · ")}` : "No filters yet.";
}

/** Set the form from a reply's query state and facet counts. */
export function syncFromReply(reply) {
  const f = (reply.state && reply.state.filters) || {};
  current = {
    price_min: f.price_min ?? null,
    price_max: f.price_max ?? null,
    colours: f.colours || [],
    exclude_colours: f.exclude_colours || [],
    categories: f.categories || [],
    audience: f.audience || null,
  };
  $("#price-min").value = current.price_min ?? "";
  $("#price-max").value = current.price_max ?? "";
  const facets = reply.facets || {};
  fillSelect($("#filter-color"), facets.color, current.colours);
  fillSelect($("#filter-category"), facets.category, current.categories);
  $("#active-filters").textContent = describe(current);
}

/** Offer the colours and categories of the pins on screen (before any conversation). */
export function syncFromCards(cards) {
  current = { price_min: null, price_max: null, colours: [], categories: [] };
  $("#price-min").value = "";
  $("#price-max").value = "";
  fillSelect($("#filter-color"), countBy(cards, "color"), []);
  fillSelect($("#filter-category"), countBy(cards, "category"), []);
  $("#active-filters").textContent = "";
}

const num = (el) => (el.value.trim() === "" ? null : Number(el.value));

/** The message that asks for the form's filters, or null when nothing would change. */
export function filterMessage() {
  const lo = num($("#price-min"));
  const hi = num($("#price-max"));
  const colour = $("#filter-color").value;
  const category = $("#filter-category").value;
  const parts = [];
  const dropped = [];
  if (lo !== current.price_min || hi !== current.price_max) {
    if (lo !== null && hi !== null) parts.push(`between $${Math.min(lo, hi)} and $${Math.max(lo, hi)}`);
    else if (hi !== null) parts.push(`under $${hi}`);
    else if (lo !== null) parts.push(`over $${lo}`);
    else parts.push("any price");
  }
  if (colour && !current.colours.includes(colour)) parts.push(`in ${colour.toLowerCase()}`);
  else if (!colour && current.colours.length) dropped.push("colour");
  if (category && !current.categories.includes(category)) parts.push(`only ${category.toLowerCase()}`);
  else if (!category && current.categories.length) dropped.push("category");
  if (dropped.length) {
    showInfo(`The assistant cannot drop a single ${dropped.join(" or ")} filter yet: say “start over” to clear all.`);
  }
  return parts.length ? parts.join(", ") : null;
}
