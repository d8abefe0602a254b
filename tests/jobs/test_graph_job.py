"""The graph job's walk-bias features."""

from __future__ import annotations

from moodboard.core.records import Pin
from moodboard.index.profile import learn_profile
from moodboard.jobs.graph_job import pin_feature_values


def _pins() -> list[Pin]:
    """A crawled catalog whose raw category path ends in each product's own name (unique per pin)."""
    kinds = ["Rugs", "Lamps", "Mugs"]
    return [
        Pin(id=n, external_id=f"p{n}", title=f"Item {n}", category=f"Home >> {kinds[n % 3]} >> Acme Item {n} Deluxe")
        for n in range(60)
    ]


def test_category_feature_is_the_profile_level_not_the_raw_path() -> None:
    pins = _pins()
    profile = learn_profile(pins)
    raw = {pin_feature_values(p)[0] for p in pins}
    learned = {pin_feature_values(p, profile)[0] for p in pins}
    assert len(raw) == len(pins)  # the raw path biases the walk towards nothing: one value per pin
    assert len(learned) == 3 and all(v and v.endswith(("rugs", "lamps", "mugs")) for v in learned)
