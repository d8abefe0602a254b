// Pin data from the API: one cached fetch per pin, and normalising the shapes different routes return.

import { get } from "./api.js";

const cache = new Map();

/** GET /pins/{id}, cached for the page's lifetime. */
export function fetchPin(id) {
  if (!cache.has(id)) {
    const p = get(`/pins/${id}`);
    p.catch(() => cache.delete(id));
    cache.set(id, p);
  }
  return cache.get(id);
}

/** Remember a full pin (e.g. from a board) so opening it needs no request. */
export function remember(pin) {
  if (pin && pin.id && !cache.has(pin.id)) cache.set(pin.id, Promise.resolve(pin));
}

// Why the taste graph recommended a pin, from its `source` ("walk", "profile", "popular", or "walk+profile")
// and the collection the walk went through (`because.via`: "board:<id>" or "user:<id>").
function reason(item) {
  const parts = [];
  const sources = String(item.source || "").split("+");
  const via = (item.because && item.because.via) || "";
  if (sources.includes("walk")) parts.push(via.startsWith("user:") ? "liked by the same shoppers" : "often saved together");
  if (sources.includes("profile")) parts.push("matches your taste");
  if (sources.includes("popular")) parts.push("popular now");
  return parts.join(" · ");
}

/** A card model from any result item: a PinOut, an assistant result, a search hit or a feed item. */
export function toCard(item) {
  const pin = item.pin || item;
  const id = pin.id ?? item.pin_id;
  return {
    id,
    title: pin.title ?? item.title ?? `Pin ${id}`,
    price: pin.price ?? item.price ?? null,
    currency: pin.currency ?? null,
    category: pin.category ?? item.category ?? null,
    color: pin.color ?? item.color ?? null,
    width: pin.width ?? null,
    height: pin.height ?? null,
    why: item.why || reason(item),
    position: item.position ?? null,
    thumbnail: pin.thumbnail_url || `/pins/${id}/thumbnail`,
  };
}

/** The list of items in a response that is either a list or an object holding one. */
export function itemsOf(body) {
  if (Array.isArray(body)) return body;
  for (const key of ["results", "items", "pins", "feed", "related"]) {
    if (body && Array.isArray(body[key])) return body[key];
  }
  return [];
}
