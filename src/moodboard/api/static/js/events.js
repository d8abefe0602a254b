// Engagement events for the taste graph (POST /events), sent only for a signed-in shopper.

import { hasToken, post } from "./api.js";
import { showError } from "./notice.js";

/** Record one event ("view", "click", "save", "hide", "purchase") for the signed-in shopper. */
export async function track(pinId, type) {
  if (!hasToken()) return false;
  try {
    await post("/events", { events: [{ pin_id: pinId, type }] });
    return true;
  } catch (err) {
    showError(err, `Recording ${type}`);
    return false;
  }
}
