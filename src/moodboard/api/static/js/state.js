// Shared client state (who is shopping, the conversation, what is on screen) and a tiny event bus.

export const state = {
  user: null, // {id, external_id, name} of the signed-in persona, or null for a guest
  sessionId: null, // the assistant session of this page
  reply: null, // the assistant's last reply (results, sections, state, facets, chips)
  mode: "feed", // what the grid shows: "feed" | "chat" | "similar"
  similar: null, // {pinId, title, negatives: [ids]} when showing "more like this" from the feed
  hidden: new Set(), // pins hidden on this page
  boards: null, // the signed-in shopper's boards, once loaded
};

const handlers = new Map();

/** Subscribe `fn` to `name`. */
export function on(name, fn) {
  if (!handlers.has(name)) handlers.set(name, []);
  handlers.get(name).push(fn);
}

/** Call every subscriber of `name` with `payload`. */
export function emit(name, payload) {
  for (const fn of handlers.get(name) || []) fn(payload);
}
