// Shop the look: upload a scene photo, see hotspots on the objects found in it, open one to see its
// products (POST /search/look). Self-contained: it adds its own button, dialog and stylesheet, so the
// only hook in the page is its <script> tag.
//
// Accessibility: hotspots are real buttons in reading order (Tab reaches each, Enter/Space opens it,
// arrow keys move between them), each named by its number and label; the selected one is
// aria-pressed; the product panel is a labelled region whose heading announces the change.

import { send } from "./api.js";
import { $, announce, h } from "./dom.js";
import { showError, showInfo } from "./notice.js";

let dialog = null;
let photoUrl = null;

function stylesheet() {
  if (document.querySelector("link[data-look]")) return;
  document.head.append(h("link", { rel: "stylesheet", href: "/static/css/look.css", dataset: { look: "1" } }));
}

// Hotspot numbers count the objects only (the whole-photo region, wherever a proposer puts it, has none).
function objectNumber(regions, i) {
  return regions.slice(0, i + 1).filter((r) => r.source !== "whole").length;
}

function regionName(regions, i) {
  const region = regions[i];
  const label = region.label ? `: ${region.label}` : "";
  return region.source === "whole" ? `Whole photo${label}` : `Object ${objectNumber(regions, i)}${label}`;
}

function productList(items) {
  if (!items.length) return h("p", { class: "muted" }, "No products found for this part of the photo.");
  return h(
    "ol",
    { class: "look-products" },
    items.map((item) =>
      h(
        "li",
        { class: "look-product", dataset: { pinId: item.pin_id } },
        h(
          "a",
          { href: `#/pin/${item.pin_id}` },
          h("img", { src: `/pins/${item.pin_id}/thumbnail`, alt: "", loading: "lazy", width: 96, height: 96 }),
          h("span", { class: "look-product-title" }, item.title || `Pin ${item.pin_id}`),
        ),
      ),
    ),
  );
}

function showProducts(body, index) {
  const panel = $("#look-panel");
  const spots = dialog.querySelectorAll(".look-spot, .look-all");
  for (const b of spots) b.setAttribute("aria-pressed", String(Number(b.dataset.region) === index));
  const region = index >= 0 ? body.regions[index] : null;
  const title = region ? regionName(body.regions, index) : "Everything in the photo";
  const items = region ? region.results : body.results;
  panel.replaceChildren(
    h("h3", { id: "look-panel-title", tabindex: "-1" }, title),
    h("p", { class: "muted small" }, `${items.length} product${items.length === 1 ? "" : "s"}`),
    productList(items),
  );
  announce(`${title}: ${items.length} products`);
}

function hotspots(body) {
  const { width, height } = body.image;
  const buttons = [];
  body.regions.forEach((region, i) => {
    if (region.source === "whole") return; // the whole photo is the "Everything" button
    const b = region.bbox;
    const spot = h(
      "button",
      {
        type: "button",
        class: "look-spot",
        dataset: { region: i },
        "aria-pressed": "false",
        "aria-label": `${regionName(body.regions, i)}, ${region.results.length} products`,
        onclick: () => showProducts(body, i),
      },
      h("span", { class: "look-spot-dot", "aria-hidden": "true" }, String(objectNumber(body.regions, i))),
    );
    // CSSOM, not a style attribute: allowed by the page's content security policy
    spot.style.left = `${(100 * b.left) / width}%`;
    spot.style.top = `${(100 * b.top) / height}%`;
    spot.style.width = `${(100 * (b.right - b.left)) / width}%`;
    spot.style.height = `${(100 * (b.bottom - b.top)) / height}%`;
    // smaller boxes above larger ones, so a box nested inside another stays clickable
    spot.style.zIndex = String(1 + Math.round(1000 * (1 - ((b.right - b.left) * (b.bottom - b.top)) / (width * height))));
    buttons.push(spot);
  });
  return buttons;
}

function onArrows(ev) {
  if (!["ArrowLeft", "ArrowRight", "ArrowUp", "ArrowDown"].includes(ev.key)) return;
  const spots = Array.from(dialog.querySelectorAll(".look-spot"));
  const at = spots.indexOf(document.activeElement);
  if (at < 0) return;
  ev.preventDefault();
  const step = ev.key === "ArrowLeft" || ev.key === "ArrowUp" ? -1 : 1;
  spots[(at + step + spots.length) % spots.length].focus();
}

function render(body) {
  const objects = body.regions.filter((r) => r.source !== "whole").length;
  const stage = h(
    "div",
    { class: "look-stage", role: "group", "aria-label": `Photo with ${objects} object${objects === 1 ? "" : "s"} found` },
    h("img", { class: "look-photo", src: photoUrl, alt: "Your photo" }),
    hotspots(body),
  );
  stage.addEventListener("keydown", onArrows);
  const all = h(
    "button",
    { type: "button", class: "btn look-all", dataset: { region: -1 }, "aria-pressed": "false", onclick: () => showProducts(body, -1) },
    `Everything (${body.results.length})`,
  );
  const summary = objects
    ? `${objects} object${objects === 1 ? "" : "s"} found. Choose a hotspot to see its products.`
    : "No separate objects found: the products below match the whole photo.";
  $("#look-body").replaceChildren(
    h("p", { id: "look-summary" }, summary),
    h("div", { class: "look-layout" }, h("div", {}, stage, all), h("section", { id: "look-panel", class: "look-panel", "aria-labelledby": "look-panel-title", "aria-live": "polite" })),
  );
  showProducts(body, -1);
  const first = dialog.querySelector(".look-spot") || all;
  first.focus();
}

async function shop(file) {
  if (!file) return;
  if (!file.type.startsWith("image/")) {
    showInfo(`“${file.name}” is not an image: choose a JPEG, PNG or WebP photo.`);
    return;
  }
  if (photoUrl) URL.revokeObjectURL(photoUrl);
  photoUrl = URL.createObjectURL(file);
  $("#look-body").replaceChildren(h("p", { "aria-busy": "true" }, "Looking for the objects in your photo…"));
  if (!dialog.open) dialog.showModal();
  const form = new FormData();
  form.append("image", file);
  form.append("query", JSON.stringify({ k: 24 }));
  try {
    render(await send("POST", "/search/look", { form }));
  } catch (err) {
    dialog.close();
    showError(err, "Shop the look");
  }
}

function build() {
  const input = h("input", { type: "file", id: "look-input", accept: "image/*", class: "visually-hidden", tabindex: "-1", "aria-hidden": "true" });
  input.addEventListener("change", () => {
    const file = input.files[0];
    input.value = "";
    shop(file);
  });
  const button = h(
    "button",
    { type: "button", class: "btn btn-ghost", id: "look-button", "aria-describedby": "look-help", onclick: () => input.click() },
    h("span", { class: "wide-only" }, "Shop the look"),
  );
  const help = h("span", { id: "look-help", class: "visually-hidden" }, "Choose a photo of a room or an outfit to find each product in it.");
  const tools = $(".topbar-tools");
  if (tools) tools.prepend(button, help, input);
  dialog = h(
    "dialog",
    { id: "look-dialog", class: "look-dialog", "aria-labelledby": "look-title" },
    h(
      "div",
      { class: "dialog-inner" },
      h("button", { type: "button", class: "btn btn-ghost dialog-close", id: "look-close", "aria-label": "Close", onclick: () => dialog.close() }, "✕"),
      h("h2", { id: "look-title" }, "Shop the look"),
      h("div", { id: "look-body" }),
    ),
  );
  document.body.append(dialog);
}

stylesheet();
if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", build);
else build();
