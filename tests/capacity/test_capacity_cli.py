"""`moodboard capacity` end to end on a saved measurement, and the cheap measurement helpers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from moodboard.capacity.measure import measure_ann, measure_walk, profile_from, synthetic_images, timed_calls
from moodboard.cli.main import build_app


def _stage(per_s: float, p99_s: float) -> dict[str, float]:
    return {"per_s": per_s * 0.5, "per_cpu_s": per_s, "p50_s": p99_s / 2, "p99_s": p99_s, "calls": 10}


MEASURED = {
    "vcpus": 2,
    "load_s": 2.0,
    "stages": {
        "decode": _stage(200, 0.005),
        "decode_machine": _stage(300, 0.004),
        "image_tower": _stage(40, 0.2),
        "image_tower_machine": _stage(60, 1.0),
        "image_tower_clip-vit-b-32": _stage(8, 1.0),
        "text_tower": _stage(100, 0.02),
        "ann": _stage(2000, 0.001),
        "walk": _stage(300, 0.01),
        "http": _stage(1000, 0.004),
    },
}


def test_capacity_answers_from_a_saved_profile(tmp_path: Path) -> None:
    (tmp_path / "profile.json").write_text(json.dumps({"measured": MEASURED}))
    embed = tmp_path / "embed.json"
    embed.write_text(json.dumps({"embedded": 600, "cached": 0, "total": 600, "seconds": 17.0}))
    out = tmp_path / "plan.json"
    args = ["--home", str(tmp_path / "home"), "capacity", "--profile", str(tmp_path / "profile.json"),
            "--items-per-day", "2000000", "--qps", "100", "--p99-ms", "150", "--embed-result", str(embed),
            "--json", str(out), "--plot", str(tmp_path / "plan.html")]  # fmt: skip
    result = CliRunner().invoke(build_app(), args)
    assert result.exit_code == 0, result.output
    doc = json.loads(out.read_text())
    assert doc["anchor_relative_error"] < 0.05
    # predicted = 2 s load + 600/150 + 600/30 = 26 s (whole-machine rates = per_s) vs 17 s measured
    assert doc["embed_prediction"]["predicted_s"] == pytest.approx(26.0)
    assert doc["embed_prediction_relative_error"] == pytest.approx(9 / 17)
    assert doc["plan"]["fleet"]["usd_per_month"] > 0
    assert "c7g" in (tmp_path / "plan.html").read_text()


def test_capacity_refuses_an_embed_run_that_reused_its_cache(tmp_path: Path) -> None:
    (tmp_path / "profile.json").write_text(json.dumps({"measured": MEASURED}))
    embed = tmp_path / "embed.json"
    embed.write_text(json.dumps({"embedded": 10, "cached": 590, "total": 600, "seconds": 1.0}))
    args = ["--home", str(tmp_path / "home"), "capacity", "--profile", str(tmp_path / "profile.json"),
            "--embed-result", str(embed)]  # fmt: skip
    result = CliRunner().invoke(build_app(), args)
    assert result.exit_code != 0


def test_profile_uses_cpu_second_rates_for_one_vcpu_and_wall_rates_for_this_machine() -> None:
    p = profile_from(MEASURED)
    assert p.per_vcpu["decode"] == 200 and p.image_tower == {"lite": 40, "clip-vit-b-32": 8}
    assert p.machine_decode == 150 and p.machine_image_tower == 30
    assert p.p99_s["text_tower"] == pytest.approx(0.01)  # wall p99 x (wall rate / CPU rate)


def test_cheap_stage_measurements_return_positive_rates(tmp_path: Path) -> None:
    t = timed_calls(lambda: sum(range(1000)), min_calls=5, min_s=0.0)
    assert t.calls == 5 and t.per_s > 0 and t.p99_s >= t.p50_s
    assert measure_ann(2000, 32, min_s=0.0).per_s > 0
    assert measure_walk(2000, 200, 20_000, min_s=0.0).per_s > 0
    paths = synthetic_images(tmp_path, 2)
    assert len(paths) == 2 and all(p.stat().st_size > 0 for p in paths)
