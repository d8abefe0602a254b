// The home feed: the signed-in persona's personalised feed, or the catalog's pins for a guest.

import { get } from "./api.js";
import { syncFromCards } from "./filters.js";
import { showError } from "./notice.js";
import { toCard } from "./pins.js";
import { showFeed, showLoading } from "./results.js";
import { state } from "./state.js";

const FEED_K = 30;

const userFeed = () => get(`/me/feed?k=${FEED_K}`);

/** Load and show the feed of whoever is shopping now. */
export async function loadFeed() {
  state.mode = "feed";
  state.similar = null;
  showLoading("Loading your feed…");
  let items = [];
  let heading = "From the catalog";
  let note = "Pick a persona under “Shopping as” to see a personalised feed.";
  let empty = "No pins to show.";
  if (state.user) {
    try {
      const body = await userFeed();
      items = body.results;
      const name = state.user.name.split(" (")[0];
      // say plainly when the taste graph could not personalise and fell back to popular pins
      const allPopular = items.length && items.every((i) => i.source === "popular");
      heading = allPopular ? `For ${name}: popular right now` : `Picked for ${name}`;
      note = body && body.fallback ? `Taste graph: ${body.fallback}.` : "From your saves and clicks, via the taste graph.";
    } catch (err) {
      showError(err, "Feed");
      note = `Your feed is unavailable (${err.detail}); showing the catalog instead.`;
    }
  }
  if (!items.length && heading === "From the catalog") {
    try {
      items = (await get(`/catalog/cards?limit=${FEED_K}`)).results;
      if (!items.length) {
        // an unfiltered listing came back empty: nothing is ingested yet, so say how to fix that
        heading = "The catalog is empty";
        note = "Nothing has been ingested yet.";
        empty =
          "To try moodboard on the demo catalog, run: make demo. To load your own catalog, run: " +
          "moodboard ingest PATH, then: moodboard index (see the README).";
      }
    } catch (err) {
      showError(err, "Catalog");
    }
  }
  if (state.mode !== "feed") return; // a conversation started meanwhile
  showFeed(items, heading, note, empty);
  syncFromCards(items.map(toCard));
}
