// Tiny DOM helpers: build elements from tag, attributes and children; format prices.

import { state } from "./state.js";

/** Create `tag` with attributes/properties from `attrs` and the given children (strings or nodes). */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") el.className = value;
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value);
    else if (key === "text") el.textContent = value;
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

export const $ = (sel, root = document) => root.querySelector(sel);

/**
 * A price in its currency ("$24.99", "₹1,299"); the catalog's currency when none is given; empty when unknown.
 * @param {number | null | undefined} value
 * @param {string | null} [currency]
 */
export function money(value, currency = state.currency) {
  if (value === null || value === undefined) return "";
  const whole = Number.isInteger(Number(value));
  try {
    return new Intl.NumberFormat("en", {
      style: "currency",
      currency: currency || "USD",
      maximumFractionDigits: whole ? 0 : 2,
    }).format(value);
  } catch {
    return `${value} ${currency || ""}`.trim();
  }
}

/** Say `text` to screen readers through the polite status region. */
export function announce(text) {
  const region = document.getElementById("status");
  region.textContent = "";
  window.setTimeout(() => {
    region.textContent = text;
  }, 30);
}
