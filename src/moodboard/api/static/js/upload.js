// Search by photo: the upload buttons, the composer attachment, and drag-and-drop anywhere on the page.

import { sendMessage } from "./chat.js";
import { $ } from "./dom.js";
import { showInfo } from "./notice.js";

async function searchBy(file) {
  if (!file) return;
  if (!file.type.startsWith("image/")) {
    showInfo(`“${file.name}” is not an image: choose a JPEG, PNG or WebP photo.`);
    return;
  }
  const input = $("#chat-input");
  const text = input.value;
  input.value = "";
  if (!(await sendMessage(text, file))) input.value = text;
}

/** Wire the file inputs and the drop zone. */
export function initUpload() {
  const input = $("#upload-input");
  for (const id of ["#upload-button", "#attach-button"]) $(id).addEventListener("click", () => input.click());
  input.addEventListener("change", () => {
    const file = input.files[0];
    input.value = "";
    searchBy(file);
  });
  const overlay = $("#drop-overlay");
  let depth = 0;
  const hasFiles = (ev) => Array.from(ev.dataTransfer?.types || []).includes("Files");
  document.addEventListener("dragenter", (ev) => {
    if (!hasFiles(ev)) return;
    depth += 1;
    overlay.hidden = false;
  });
  document.addEventListener("dragleave", () => {
    depth = Math.max(0, depth - 1);
    if (!depth) overlay.hidden = true;
  });
  document.addEventListener("dragover", (ev) => {
    if (hasFiles(ev)) ev.preventDefault();
  });
  document.addEventListener("drop", (ev) => {
    if (!hasFiles(ev)) return;
    ev.preventDefault();
    depth = 0;
    overlay.hidden = true;
    searchBy(ev.dataTransfer.files[0]);
  });
}
