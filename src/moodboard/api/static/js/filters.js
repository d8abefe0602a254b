// Facet filters (price range, colour, category), kept in sync with the conversation's state.
//
// The conversation is the one source of truth: applying filters sends a structured change (the same filter
// JSON as `POST /search`, plus the fields to drop) with an assistant turn, and every reply's state sets the form.

import { $, h, money } from "./dom.js";

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
  if (f.price_min !== null && f.price_max !== null) bits.push(`${money(f.price_min)}–${money(f.price_max)}`);
  else if (f.price_max !== null) bits.push(`under ${money(f.price_max)}`);
  else if (f.price_min !== null) bits.push(`over ${money(f.price_min)}`);
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

/**
 * A structured filter change for the assistant turn (`POST /assistant/sessions/{id}/messages`).
 * @typedef {object} FilterEdit
 * @property {{ price_min?: number | null, price_max?: number | null, color?: string[], category?: string[] }} filters
 *   fields to set, in the `POST /search` filter form
 * @property {string[]} remove_filters  fields whose constraint to drop
 * @property {string} summary  what the chat log shows for it
 */

/**
 * The structured change that makes the conversation's filters match the form, or null when nothing would change.
 * @returns {FilterEdit | null}
 */
export function filterEdit() {
  const lo = num(/** @type {HTMLInputElement} */ ($("#price-min")));
  const hi = num(/** @type {HTMLInputElement} */ ($("#price-max")));
  const colour = /** @type {HTMLSelectElement} */ ($("#filter-color")).value;
  const category = /** @type {HTMLSelectElement} */ ($("#filter-category")).value;
  /** @type {FilterEdit["filters"]} */
  const filters = {};
  /** @type {string[]} */
  const remove = [];
  const said = [];
  if (lo !== current.price_min || hi !== current.price_max) {
    if (lo === null && hi === null) {
      remove.push("price");
      said.push("any price");
    } else {
      const [a, b] = lo !== null && hi !== null ? [Math.min(lo, hi), Math.max(lo, hi)] : [lo, hi];
      if (a !== null) filters.price_min = a;
      else if (current.price_min !== null) remove.push("price_min");
      if (b !== null) filters.price_max = b;
      else if (current.price_max !== null) remove.push("price_max");
      said.push(
        a !== null && b !== null ? `between ${money(a)} and ${money(b)}` : b !== null ? `under ${money(b)}` : `over ${money(a)}`,
      );
    }
  }
  if (colour && !current.colours.includes(colour)) {
    filters.color = [colour];
    said.push(`in ${colour.toLowerCase()}`);
  } else if (!colour && current.colours.length) {
    remove.push("color");
    said.push("any colour");
  }
  if (category && !current.categories.includes(category)) {
    filters.category = [category];
    said.push(`only ${category.toLowerCase()}`);
  } else if (!category && current.categories.length) {
    remove.push("category");
    said.push("any category");
  }
  if (!Object.keys(filters).length && !remove.length) return null;
  return { filters, remove_filters: remove, summary: said.join(", ") };
}
