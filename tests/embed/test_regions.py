"""Region proposals on synthetic scenes whose objects and boxes are known (made here, no data needed)."""

from __future__ import annotations

import numpy as np
import pytest

from moodboard.core.errors import ConfigError
from moodboard.core.settings import LookSettings
from moodboard.embed.regions import (
    ClassicalProposer,
    ProposalConfig,
    Region,
    iou,
    make_proposer,
    non_max_suppression,
    register_proposer,
)
from tests.scenes import background, scene

OBJECTS = [
    ((200, 30, 30), (40, 60, 200, 260), "rect"),
    ((30, 60, 220), (300, 100, 420, 220), "ellipse"),
    ((240, 210, 30), (460, 280, 600, 440), "rect"),
]


def test_every_object_of_a_scene_gets_a_tight_box() -> None:
    rgb = np.asarray(scene(OBJECTS, seed=1))
    regions = ClassicalProposer().propose(rgb, 6)
    assert len(regions) <= 6
    for _, truth, _ in OBJECTS:
        assert max(iou(r.box, truth) for r in regions) >= 0.6, truth


def test_whole_image_is_always_the_last_region_and_scores_rank_the_rest() -> None:
    rgb = np.asarray(scene(OBJECTS, seed=2))
    regions = ClassicalProposer().propose(rgb, 4)
    assert regions[-1].source == "whole" and regions[-1].box == (0, 0, 640, 480)
    scores = [r.score for r in regions[:-1]]
    assert scores == sorted(scores, reverse=True) and len(regions) == 4


@pytest.mark.parametrize("kind", ["flat", "sensor noise"])
def test_photo_without_objects_is_one_whole_image_region(kind: str) -> None:
    rng = np.random.default_rng(0)
    rgb = np.full((300, 400, 3), 140, np.uint8)
    if kind == "sensor noise":
        rgb = np.clip(rgb + rng.normal(0, 10, rgb.shape), 0, 255).astype(np.uint8)
    regions = ClassicalProposer().propose(rgb, 6)
    assert [r.source for r in regions] == ["whole"]


def test_proposals_are_repeatable_and_tiny_images_are_whole() -> None:
    rgb = np.asarray(scene(OBJECTS, seed=3))
    assert ClassicalProposer().propose(rgb, 6) == ClassicalProposer().propose(rgb, 6)
    assert [r.source for r in ClassicalProposer().propose(np.zeros((10, 10, 3), np.uint8), 6)] == ["whole"]
    assert [r.source for r in ClassicalProposer().propose(rgb, 1)] == ["whole"]


def test_textured_background_scores_below_real_objects() -> None:
    """The objectness score (contrast with the surroundings) ranks pasted objects above texture blobs."""
    objects = ClassicalProposer().propose(np.asarray(scene(OBJECTS, seed=4)), 6)
    texture = ClassicalProposer().propose(background(640, 480, seed=4), 6)
    assert min(r.score for r in objects[:3]) > max(r.score for r in texture)


def test_nms_keeps_the_best_of_overlapping_boxes() -> None:
    a, b, c = Region((0, 0, 10, 10), 0.9, "x"), Region((1, 1, 10, 10), 0.8, "x"), Region((20, 20, 30, 30), 0.5, "x")
    assert non_max_suppression([b, c, a], 0.5) == [a, c]
    assert iou((0, 0, 10, 10), (5, 0, 15, 10)) == pytest.approx(1 / 3)


class _Grid:
    name = "grid"

    def propose(self, rgb: np.ndarray, max_regions: int) -> list[Region]:
        h, w = rgb.shape[:2]
        return [Region((0, 0, w // 2, h), 0.5, "grid", "left"), Region((0, 0, w, h), 0.0, "whole")]


def grid_factory(settings: LookSettings) -> _Grid:
    """An importable detector factory, as an operator's package would expose one."""
    return _Grid()


def test_a_stronger_detector_plugs_in_by_name_or_import_path() -> None:
    register_proposer("grid-test", lambda s: _Grid())
    assert make_proposer(LookSettings(detector="grid-test")).name == "grid"
    assert isinstance(make_proposer(LookSettings(detector="tests.embed.test_regions:grid_factory")), _Grid)
    assert make_proposer(LookSettings()).name == "classical"
    with pytest.raises(ConfigError, match=r"unknown look\.detector"):
        make_proposer(LookSettings(detector="nope"))
    with pytest.raises(ConfigError, match="cannot be imported"):
        make_proposer(LookSettings(detector="no.such.module:thing"))


def test_grouping_joins_the_parts_of_a_two_coloured_object() -> None:
    """The hierarchical grouping cue yields a box over both parts (a red top over blue trousers).

    (After ranking and suppression the single-colour part's box may win instead: contrast with the
    surroundings is higher for a uniform part; a known limit of the classical ranking.)"""
    import cv2

    parts = [((200, 30, 30), (200, 80, 320, 200), "rect"), ((30, 60, 220), (200, 200, 320, 400), "rect")]
    rgb = np.asarray(scene(parts, seed=8))
    proposer = ClassicalProposer(ProposalConfig(grouping=True))
    scale = proposer.config.work_size / 640
    small = cv2.resize(rgb, (160, 120), interpolation=cv2.INTER_AREA)
    lab = cv2.cvtColor(cv2.GaussianBlur(small, (3, 3), 0), cv2.COLOR_RGB2LAB).astype(np.float32)
    boxes = proposer._grouping_boxes(lab, proposer._colour_labels(lab))
    truth = tuple(round(v * scale) for v in (200, 80, 320, 400))
    assert max(iou(b, truth) for b in boxes) >= 0.8  # type: ignore[arg-type]


def test_detector_is_chosen_by_settings_env(monkeypatch: pytest.MonkeyPatch) -> None:
    from moodboard.core.settings import load_settings

    monkeypatch.setenv("MOODBOARD_LOOK__DETECTOR", "whole")
    settings = load_settings()
    proposer = make_proposer(settings.look)
    assert proposer.name == "whole" and [r.source for r in proposer.propose(np.zeros((40, 60, 3), np.uint8), 6)] == [
        "whole"
    ]


def test_a_band_along_the_border_is_background_not_an_object() -> None:
    """A dark band across the top (a wall, a shelf's shadow) stands out as much as a dark box in the
    middle; the boundary-connectivity prior keeps the box and drops the band (without it, the band ranks
    first)."""
    objects = [((40, 40, 40), (0, 0, 639, 140), "rect"), ((40, 40, 40), (260, 250, 380, 370), "rect")]
    rgb = np.asarray(scene(objects, seed=3))
    band, box = (0, 0, 640, 141), (260, 250, 381, 371)
    with_prior = ClassicalProposer().propose(rgb, 8)
    assert iou(with_prior[0].box, box) >= 0.8
    assert max(iou(r.box, band) for r in with_prior[:-1]) < 0.5  # the whole image is no band either
    without = ClassicalProposer(ProposalConfig(border_sigma=0)).propose(rgb, 8)
    assert iou(without[0].box, band) >= 0.9
