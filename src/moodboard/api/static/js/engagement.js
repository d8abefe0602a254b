// Engagement (view, click, save, hide, purchase): one gesture sends one event, for the taste graph and,
// in a conversation, for the session's profile.
//
// A signed-in shopper's event goes to POST /events and names the conversation in `context.session_id`,
// so the session's profile counts it too. A guest in a conversation sends it through the session
// (POST /assistant/sessions/{id}/feedback), which records the same event for the session's guest user.
// With neither there is no one to record it for. Saving to a board records its own event (boards.js).

import { ApiError, hasToken, post } from "./api.js";
import { showError } from "./notice.js";
import { state } from "./state.js";

/** Record one engagement event with a pin; resolves to whether it was recorded. */
export async function engage(pinId, type) {
  try {
    if (hasToken()) {
      const context = state.sessionId ? { session_id: state.sessionId } : {};
      await post("/events", { events: [{ pin_id: pinId, type, context }] });
    } else if (state.sessionId) {
      const path = `/assistant/sessions/${encodeURIComponent(state.sessionId)}/feedback`;
      await post(path, { pin_id: pinId, kind: type });
    } else {
      return false;
    }
    return true;
  } catch (err) {
    // a conversation that expired (404) just stops collecting feedback; anything else is worth showing
    if (!(err instanceof ApiError) || err.status !== 404 || hasToken()) showError(err, `Recording ${type}`);
    return false;
  }
}
