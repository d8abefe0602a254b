// What the assistant understood from a message, in words (shown while the reply streams).

import { money } from "./dom.js";

/** A one-line summary of a parsed turn, e.g. "Understood: red · under $40 · only lamps". */
export function describeTurn(turn) {
  const bits = [];
  if (turn.reset) bits.push("start over");
  if (turn.goal) bits.push(`a plan for ${turn.goal}`);
  for (const t of turn.add_positives || []) bits.push(t.kind === "image" ? "your photo" : String(t.value));
  for (const t of turn.add_negatives || []) bits.push(`not ${t.value}`);
  for (const c of turn.colours || []) bits.push(c.toLowerCase());
  for (const c of turn.exclude_colours || []) bits.push(`not ${c.toLowerCase()}`);
  const p = turn.price;
  if (p) {
    if (p.relative === "cheaper" || p.relative === "below_that") bits.push("cheaper");
    else if (p.relative === "pricier") bits.push("pricier");
    if (p.min !== null && p.max !== null && p.min !== undefined && p.max !== undefined) bits.push(`${money(p.min)}–${money(p.max)}`);
    else if (p.max !== null && p.max !== undefined) bits.push(`under ${money(p.max)}`);
    else if (p.min !== null && p.min !== undefined) bits.push(`over ${money(p.min)}`);
  }
  if (turn.audience) bits.push(`for ${turn.audience}`);
  for (const s of turn.scopes || []) {
    const what = [...(s.categories || []), ...Object.values(s.attributes || {}).flat()].join(", ");
    if (what) bits.push(`${s.mode} ${what}`);
  }
  for (const r of turn.references || []) {
    const which = r.position ? `#${r.position}` : "this";
    bits.push(`${r.polarity < 0 ? "less" : "more"} like ${which}`);
  }
  if (turn.none_of_these) bits.push("something different");
  if (turn.section) bits.push(`in ${turn.section}`);
  return bits.length ? `Understood: ${bits.join(" · ")}. Searching…` : "Searching…";
}
