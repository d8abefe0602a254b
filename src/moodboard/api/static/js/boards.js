// Boards: the shopper's boards (cached), the boards page, and the save-to-board dialog.

import { del, get, post } from "./api.js";
import { $, announce, h } from "./dom.js";
import { cardOfElement, pinGrid } from "./grid.js";
import { showError, showInfo } from "./notice.js";
import { toCard } from "./pins.js";
import { state } from "./state.js";

/** The signed-in shopper's boards (GET /me/boards), cached until `invalidate()`. */
export async function loadBoards() {
  if (!state.user) return [];
  if (!state.boards) state.boards = await get("/me/boards");
  return state.boards;
}

export function invalidate() {
  state.boards = null;
}

/** Render the boards page. */
export async function renderBoardsPage() {
  const list = $("#boards-list");
  $("#new-board").hidden = !state.user;
  if (!state.user) {
    list.replaceChildren(h("p", { class: "empty" }, "Choose a persona under “Shopping as” to see and make boards."));
    return;
  }
  list.setAttribute("aria-busy", "true");
  try {
    invalidate();
    const boards = await loadBoards();
    if (!boards.length) {
      list.replaceChildren(h("p", { class: "empty" }, "No boards yet: save a pin, or create a board above."));
    } else {
      list.replaceChildren(...boards.map(boardSection));
    }
  } catch (err) {
    showError(err, "Boards");
    list.replaceChildren(h("p", { class: "empty" }, `Boards are unavailable: ${err.detail}`));
  } finally {
    list.setAttribute("aria-busy", "false");
  }
}

function boardSection(board) {
  const id = `board-${board.id}`;
  const pins = board.results.map(toCard);
  const grid = pins.length ? pinGrid(pins, { prefix: id, actions: false }) : h("p", { class: "empty" }, "No pins yet.");
  for (const card of grid.querySelectorAll(".pin-card")) {
    const pinId = Number(card.dataset.pinId);
    const title = cardOfElement(card).title;
    card.append(
      h("div", { class: "pin-actions" },
        h("button", {
          type: "button", class: "pin-action", "aria-label": `Remove ${title} from ${board.name}`,
          onclick: () => removePin(board, pinId, title),
        }, "Remove")),
    );
  }
  return h("section", { class: "board", "aria-labelledby": id, dataset: { boardId: board.id } },
    h("h2", { id }, board.name, h("span", { class: "count" }, ` · ${board.pin_count} pins`)),
    grid);
}

async function removePin(board, pinId, title) {
  try {
    await del(`/boards/${board.id}/pins/${pinId}`);
    announce(`Removed ${title} from ${board.name}`);
    await renderBoardsPage();
  } catch (err) {
    showError(err, "Remove from board");
  }
}

/** Create a board named `name` for the signed-in shopper. */
export async function createBoard(name) {
  const board = await post("/me/boards", { name });
  invalidate();
  return board;
}

/** Ask which board to save `card` to, then save it. Resolves to the board, or null when cancelled. */
export async function saveDialog(card) {
  if (!state.user) {
    showInfo("Choose a persona under “Shopping as” to save pins to boards.");
    return null;
  }
  let boards;
  try {
    boards = await loadBoards();
  } catch (err) {
    showError(err, "Boards");
    return null;
  }
  const dialog = $("#save-dialog");
  $("#save-pin-name").textContent = card.title;
  $("#save-new-name").value = "";
  $("#save-boards").replaceChildren(
    ...boards.map((b, i) =>
      h("label", { class: "radio" },
        h("input", { type: "radio", name: "board", value: b.id, checked: i === 0 }), ` ${b.name}`)),
  );
  const opener = /** @type {HTMLElement | null} */ (document.activeElement);
  return new Promise((resolve) => {
    const onClose = async () => {
      dialog.removeEventListener("close", onClose);
      if (opener && opener.focus) opener.focus();
      if (dialog.returnValue !== "save") return resolve(null);
      try {
        const name = $("#save-new-name").value.trim();
        const checked = $("#save-boards input:checked");
        let board;
        if (name) board = await createBoard(name);
        else if (checked) board = boards.find((b) => String(b.id) === checked.value);
        else board = await createBoard("My picks");
        // the save is also an event of the conversation, if one is open (its profile counts it)
        const body = state.sessionId ? { pin_id: card.id, session_id: state.sessionId } : { pin_id: card.id };
        await post(`/boards/${board.id}/pins`, body);
        invalidate();
        announce(`Saved ${card.title} to ${board.name}`);
        showInfo(`Saved to ${board.name}`);
        resolve(board);
      } catch (err) {
        showError(err, "Save");
        resolve(null);
      }
    };
    dialog.returnValue = "";
    dialog.addEventListener("close", onClose);
    dialog.showModal();
  });
}
