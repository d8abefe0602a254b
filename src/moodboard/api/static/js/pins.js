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

const SOURCES = { walk: "from pins like yours", profile: "matches your taste", popular: "popular now" };

function reason(item) {
  if (item.because && item.because.via) return `via ${item.because.via}`;
  return SOURCES[item.source] || "";
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
