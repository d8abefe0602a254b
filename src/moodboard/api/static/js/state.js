// Shared client state (who is shopping, the conversation, what is on screen) and a tiny event bus.

export const state = {
  user: null, // {id, external_id, name} of the signed-in persona, or null for a guest
  sessionId: null, // the assistant session of this page
  reply: null, // the assistant's last reply (results, sections, state, facets, chips)
  mode: "feed", // what the grid shows: "feed" | "chat" | "similar"
  similar: null, // {pinId, title, negatives: [ids]} when showing "more like this" from the feed
  hidden: new Set(), // pins hidden on this page
  boards: null, // the signed-in shopper's boards, once loaded
  currency: null, // the catalog's currency (GET /catalog/profile), for prices the client writes itself
  lastViewHash: "#/", // the view a pin's detail returns to
};

/** Every event name of the bus, in one place. */
export const EVENTS = Object.freeze({
  reply: "reply", // an assistant reply arrived (payload: the reply)
  mode: "mode", // the grid switched what it shows (payload: "feed" | "chat" | "similar")
  persona: "persona", // the shopper changed (payload: state.user)
  pinOpen: "pin:open", // a card was opened (payload: the card)
  pinMore: "pin:more",
  pinLess: "pin:less",
  pinHide: "pin:hide",
  pinSave: "pin:save",
});
const KNOWN = new Set(Object.values(EVENTS));

/** The event a card's action button emits ("save" -> "pin:save"). */
export const PIN_EVENT = Object.freeze({
  save: EVENTS.pinSave,
  more: EVENTS.pinMore,
  less: EVENTS.pinLess,
  hide: EVENTS.pinHide,
});

const handlers = new Map();

/** Subscribe `fn` to `name` (one of `EVENTS`; an unknown name is a bug, so it throws). */
export function on(name, fn) {
  if (!KNOWN.has(name)) throw new Error(`unknown event ${name}`);
  if (!handlers.has(name)) handlers.set(name, []);
  handlers.get(name).push(fn);
}

/** Call every subscriber of `name` (one of `EVENTS`) with `payload`. */
export function emit(name, payload) {
  if (!KNOWN.has(name)) throw new Error(`unknown event ${name}`);
  for (const fn of handlers.get(name) || []) fn(payload);
}
