// Visible error and info notices: the problem's detail and hint, dismissible, never a stack trace.

import { h } from "./dom.js";

/** Show an error (an ApiError or any Error) at the top of the page. */
export function showError(err, context = "") {
  const detail = err && err.detail ? err.detail : (err && err.message) || "something went wrong";
  let hint = err && err.hint ? err.hint : "";
  if (err && err.retryAfter) hint = `${hint ? `${hint} ` : ""}(try again in ${Math.ceil(err.retryAfter)} s)`;
  const rid = err && err.requestId ? `request ${err.requestId}` : "";
  const box = h(
    "div",
    { class: "notice notice-error" },
    h("p", {}, h("strong", {}, context ? `${context}: ` : "Error: "), detail),
    hint ? h("p", { class: "hint" }, hint) : null,
    rid ? h("p", { class: "muted small" }, rid) : null,
    h("button", { type: "button", class: "btn btn-ghost btn-small", "aria-label": "Dismiss", onclick: () => box.remove() }, "Dismiss"),
  );
  const area = document.getElementById("notices");
  while (area.children.length >= 3) area.firstElementChild.remove();
  area.append(box);
  window.setTimeout(() => box.remove(), 15000);
}

/** Show a short informational notice. */
export function showInfo(text) {
  const box = h("div", { class: "notice notice-info" }, h("p", {}, text));
  document.getElementById("notices").append(box);
  window.setTimeout(() => box.remove(), 5000);
}
