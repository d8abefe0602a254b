"""`refine(state, turn) -> state`: fold one parsed turn into the conversation state. Pure and total.

Rules, in order: a reset empties the state; a plan starts a new cascade (goal and sections, earlier
terms and filters dropped, then this turn's constraints applied); a turn aimed at a section changes only
that section; "X instead" drops the earlier words of what was sought; references resolve against the
results shown last ("the third one" is `state.shown[2]`), so a replayed conversation gives the same
state. Relative prices use the shown prices: "cheaper" caps at 80 % of their median (or of the current
cap), "less than that" caps just below the focused result's price (or 80 % of the current cap),
"pricier" floors at 120 % of the median. Term lists are capped so a long session cannot grow without bound.
"""

from __future__ import annotations

from statistics import median

from moodboard.core.query import (
    Filters,
    PriceChange,
    QueryState,
    Reference,
    Scope,
    Section,
    Shown,
    Term,
    TermKind,
    Turn,
)

MAX_TERMS = 40
"""Most positive (and negative) terms kept; the oldest go first."""

CHEAPER_FACTOR = 0.8
PRICIER_FACTOR = 1.2


def refine(state: QueryState, turn: Turn) -> QueryState:
    """Return the state after `turn`; `state` is left untouched.

    Args:
        state: the conversation so far.
        turn: what the latest message asks to change.

    Returns:
        A new `QueryState` with `version` incremented.
    """
    if turn.reset:
        state = QueryState(version=state.version)
    if turn.plan:
        # a new goal starts a new cascade: earlier flat terms and filters belonged to another question
        state = QueryState(goal=turn.goal, sections=turn.plan, version=state.version)
    focus = _resolve_focus(state, turn.references)
    if turn.section is not None and any(s.name == turn.section for s in state.sections):
        sections = tuple(_refine_section(s, state, turn) if s.name == turn.section else s for s in state.sections)
        return state.model_copy(update={"sections": sections, "focus": focus, "version": state.version + 1})
    positives, negatives = _terms(_subject_kept(state.positives, turn), state.negatives, state.shown, turn)
    filters = _filters(state.filters, state.shown, focus, turn)
    return state.model_copy(
        update={
            "positives": positives,
            "negatives": negatives,
            "filters": filters,
            "focus": focus,
            "goal": turn.goal or state.goal,  # a goal the catalog could not break into sections stays flat
            "version": state.version + 1,
        }
    )


def _refine_section(section: Section, state: QueryState, turn: Turn) -> Section:
    shown = tuple(s for s in state.shown if s.section == section.name) or state.shown
    positives, negatives = _terms(_subject_kept(section.positives, turn), section.negatives, shown, turn)
    filters = _filters(section.filters, shown, state.focus, turn)
    return section.model_copy(update={"positives": positives, "negatives": negatives, "filters": filters})


def _subject_kept(positives: tuple[Term, ...], turn: Turn) -> tuple[Term, ...]:
    """The positive terms that survive the turn: "X instead" drops the earlier words (what was sought
    before); photos and pins the shopper gave stay."""
    if not turn.replace_subject:
        return positives
    return tuple(t for t in positives if t.kind != TermKind.TEXT)


def _resolve(shown: tuple[Shown, ...], focus: int | None, ref: Reference) -> int | None:
    if ref.position is None:
        if focus is not None:
            return focus
        return shown[0].pin_id if shown else None
    idx = len(shown) - ref.position if ref.from_end else ref.position - 1
    return shown[idx].pin_id if 0 <= idx < len(shown) else None


def _resolve_focus(state: QueryState, refs: tuple[Reference, ...]) -> int | None:
    focus = state.focus
    for ref in refs:
        pid = _resolve(state.shown, state.focus, ref)
        if pid is not None:
            focus = pid
    return focus


def _merge(terms: tuple[Term, ...], new: list[Term]) -> tuple[Term, ...]:
    by_key = {t.key(): t for t in terms}
    for t in new:
        old = by_key.pop(t.key(), None)
        weight = min(10.0, max(t.weight, old.weight if old else 0.0))
        by_key[t.key()] = t.model_copy(update={"weight": weight})
    return tuple(by_key.values())[-MAX_TERMS:]


def _drop(terms: tuple[Term, ...], keys: set[tuple[str, str]]) -> tuple[Term, ...]:
    return tuple(t for t in terms if t.key() not in keys)


def _terms(
    positives: tuple[Term, ...], negatives: tuple[Term, ...], shown: tuple[Shown, ...], turn: Turn
) -> tuple[tuple[Term, ...], tuple[Term, ...]]:
    add_pos = list(turn.add_positives)
    add_neg = list(turn.add_negatives)
    focus = None
    for ref in turn.references:
        pid = _resolve(shown, focus, ref)
        if pid is None:
            continue
        focus = pid
        term = Term(kind=TermKind.PIN, value=pid, weight=ref.weight)
        (add_pos if ref.polarity > 0 else add_neg).append(term)
    if turn.none_of_these:
        add_neg.extend(Term(kind=TermKind.PIN, value=s.pin_id, weight=0.5) for s in shown)
    pos_keys = {t.key() for t in add_pos}
    neg_keys = {t.key() for t in add_neg}
    positives = _merge(_drop(positives, neg_keys), add_pos)
    negatives = _merge(_drop(negatives, pos_keys), add_neg)
    return positives, negatives


def _filters(f: Filters, shown: tuple[Shown, ...], focus: int | None, turn: Turn) -> Filters:
    colours = list(f.colours)
    excluded = list(f.exclude_colours)
    if turn.colours:
        colours = list(turn.colours)
        excluded = [c for c in excluded if c not in turn.colours]
    for c in turn.exclude_colours:
        if c not in excluded:
            excluded.append(c)
        colours = [x for x in colours if x != c]
    update: dict[str, object] = {"colours": tuple(colours), "exclude_colours": tuple(excluded)}
    if turn.price is not None:
        update.update(_price(f, turn.price, shown, focus))
    cats = list(f.categories)
    xcats = list(f.exclude_categories)
    attrs = {k: list(v) for k, v in f.attributes.items()}
    xattrs = {k: list(v) for k, v in f.exclude_attributes.items()}
    for scope in turn.scopes:
        _scope(scope, cats, xcats, attrs, xattrs)
    update["categories"] = tuple(cats)
    update["exclude_categories"] = tuple(xcats)
    update["attributes"] = {k: tuple(v) for k, v in attrs.items() if v}
    update["exclude_attributes"] = {k: tuple(v) for k, v in xattrs.items() if v}
    out = f.model_copy(update=update)
    return turn.filter_edit.apply(out) if turn.filter_edit is not None else out


def _scope(
    scope: Scope, cats: list[str], xcats: list[str], attrs: dict[str, list[str]], xattrs: dict[str, list[str]]
) -> None:
    items: list[tuple[str, str]] = [("category", c) for c in scope.categories]
    items += [(k, v) for k, vals in scope.attributes.items() for v in vals]
    if scope.mode == "only":
        for fld in scope.replace:
            if fld == "category":
                cats.clear()
            else:
                attrs.pop(fld, None)
    for fld, val in items:
        inc = cats if fld == "category" else attrs.setdefault(fld, [])
        exc = xcats if fld == "category" else xattrs.setdefault(fld, [])
        if scope.mode == "not":
            if val in inc:
                inc.remove(val)
            if val not in exc:
                exc.append(val)
        else:
            if val not in inc:
                inc.append(val)
            if val in exc:
                exc.remove(val)


def _price(f: Filters, change: PriceChange, shown: tuple[Shown, ...], focus: int | None) -> dict[str, object]:
    if change.relative == "any":
        return {"price_min": None, "price_max": None}
    lo, hi = f.price_min, f.price_max
    if change.min is not None or change.max is not None:
        lo, hi = change.min, change.max
    prices = [s.price for s in shown if s.price is not None]
    if change.relative == "cheaper":
        base = median(prices) if prices else hi
        if base is not None:
            hi = round(base * CHEAPER_FACTOR, 2)
            lo = lo if lo is None or lo < hi else None
    elif change.relative == "below_that":
        focused = [s.price for s in shown if s.pin_id == focus and s.price is not None]
        if focused:
            hi = round(max(0.0, focused[0] - 0.01), 2)
        elif hi is not None:
            hi = round(hi * CHEAPER_FACTOR, 2)
        elif prices:
            hi = round(min(prices) - 0.01, 2)
        lo = lo if lo is None or hi is None or lo < hi else None
    elif change.relative == "pricier":
        base = median(prices) if prices else lo
        if base is not None:
            lo = round(base * PRICIER_FACTOR, 2)
            hi = hi if hi is None or hi > lo else None
    if lo is not None and hi is not None and lo > hi:
        lo, hi = hi, lo
    return {"price_min": lo, "price_max": hi}
