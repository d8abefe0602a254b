// Pin data from the API. Every result list is a `results` array of `PinCard`s (api/schemas.py); the one
// pin detail view reads `GET /pins/{id}` (a `PinOut`) when the shopper opens a pin.

import { get } from "./api.js";

/**
 * One result as every result-returning endpoint returns it (api/schemas.py `PinCard`).
 * @typedef {object} PinCard
 * @property {number} pin_id
 * @property {string} external_id
 * @property {string} title
 * @property {string | null} category  the display category
 * @property {string | null} color
 * @property {number | null} price
 * @property {string | null} currency
 * @property {string | null} merchant
 * @property {string | null} url
 * @property {string} availability
 * @property {string | null} thumbnail_url
 * @property {number | null} width
 * @property {number | null} height
 * @property {number} position  1-based rank in its list
 * @property {number | null} score
 * @property {string} source
 * @property {string} why
 */

/**
 * A catalog pin (api/schemas.py `PinOut`): only the detail view reads it.
 * @typedef {object} PinOut
 * @property {number} id
 * @property {string} external_id
 * @property {string} title
 * @property {string} description
 * @property {string | null} category
 * @property {string | null} color
 * @property {number | null} price
 * @property {string | null} currency
 * @property {string | null} merchant
 * @property {string | null} url
 * @property {string} availability
 * @property {string | null} thumbnail_url
 * @property {number | null} width
 * @property {number | null} height
 */

/**
 * What the grid draws for one pin.
 * @typedef {object} Card
 * @property {number} id
 * @property {string} title
 * @property {number | null} price
 * @property {string | null} currency
 * @property {string | null} category
 * @property {string | null} color
 * @property {number | null} width
 * @property {number | null} height
 * @property {string} why
 * @property {number | null} position
 * @property {string} thumbnail
 */

/** @typedef {{ results: PinCard[] }} CardList */

/** @type {Map<number, Promise<PinOut>>} */
const cache = new Map();

/**
 * GET /pins/{id} for the detail view, cached for the page's lifetime.
 * @param {number} id
 * @returns {Promise<PinOut>}
 */
export function fetchPin(id) {
  let p = cache.get(id);
  if (!p) {
    p = /** @type {Promise<PinOut>} */ (get(`/pins/${id}`));
    p.catch(() => cache.delete(id));
    cache.set(id, p);
  }
  return p;
}

/**
 * The grid's card of one `PinCard`.
 * @param {PinCard} item
 * @returns {Card}
 */
export function toCard(item) {
  return {
    id: item.pin_id,
    title: item.title,
    price: item.price,
    currency: item.currency,
    category: item.category,
    color: item.color,
    width: item.width,
    height: item.height,
    why: item.why,
    position: item.position,
    thumbnail: item.thumbnail_url || `/pins/${item.pin_id}/thumbnail`,
  };
}

/**
 * The card of a pin opened in the detail view (so its actions act on the same record as a grid card).
 * @param {PinOut} pin
 * @returns {Card}
 */
export function fromPin(pin) {
  return {
    id: pin.id,
    title: pin.title,
    price: pin.price,
    currency: pin.currency,
    category: pin.category,
    color: pin.color,
    width: pin.width,
    height: pin.height,
    why: "",
    position: null,
    thumbnail: pin.thumbnail_url || `/pins/${pin.id}/thumbnail`,
  };
}
