"""The capacity planner's arithmetic on a tiny table whose answers can be worked out by hand."""

from __future__ import annotations

import json
import math

import pytest

from moodboard.capacity.catalogue import STAGES, load_catalogue, parse_catalogue
from moodboard.capacity.planner import (
    HOURS_PER_MONTH,
    LocalProfile,
    PlanRequest,
    anchor_check,
    embed_rate,
    erlang_c,
    plan,
    plan_embed,
    plan_serve,
    predict_local_embed_s,
    wait_quantile,
)
from moodboard.capacity.report import plan_document, write_plot
from moodboard.core.errors import ConfigError, InvalidInputError

ONES = {s: 1.0 for s in STAGES}


def _table(**anchor: float) -> dict:
    return {
        "reference_family": "cpu",
        "anchor": {"instance": "acc.x", "model": "big", "images_per_s": 1000.0, "usd_per_hour": 3.6,
                   "usd_per_million_images": 1.0, "source": "s", "date": "d", **anchor},
        "models": {"big": {"image_gflops": 4.0}, "small": {"image_gflops": 1.0}},
        "instances": [
            {"name": "cpu.4", "family": "cpu", "arch": "amd64", "vcpus": 4, "usd_per_hour": 0.4,
             "relative": ONES, "source": "s", "date": "d"},
            {"name": "arm.4", "family": "arm", "arch": "arm64", "vcpus": 4, "usd_per_hour": 0.2,
             "relative": {**ONES, "image_tower": 0.5}, "source": "s", "date": "d"},
            {"name": "acc.x", "family": "acc", "arch": "amd64", "vcpus": 4, "usd_per_hour": 3.6,
             "relative": ONES, "accelerator": "chip", "accelerator_images_per_s": {"big": 1000.0},
             "source": "s", "date": "d"},
        ],
    }  # fmt: skip


PROFILE = LocalProfile(
    per_vcpu={"decode": 100.0, "text_tower": 100.0, "ann": 1000.0, "walk": 100.0, "http": 1000.0},
    image_tower={"small": 25.0, "big": 5.0},
    p99_s={"text_tower": 0.02, "ann": 0.002, "http": 0.002},
    machine_decode=150.0,
    machine_image_tower=40.0,
    load_s=3.0,
)


def test_cpu_instance_adds_decode_and_tower_time_per_image() -> None:
    cat = parse_catalogue(_table())
    rate = embed_rate(cat.get("cpu.4"), PROFILE, PlanRequest(1e6, 0, 100, model="small"), cat)
    # tower 25*4 = 100/s, decode 100*4 = 400/s on the same cores: 1 / (1/100 + 1/400) = 80/s
    assert rate is not None and rate.images_per_s == pytest.approx(80.0)
    assert rate.bottleneck == "image_tower" and not rate.estimated


def test_relative_factor_scales_the_stage_it_names() -> None:
    cat = parse_catalogue(_table())
    rate = embed_rate(cat.get("arm.4"), PROFILE, PlanRequest(1e6, 0, 100, model="small"), cat)
    assert rate is not None and rate.tower_per_s == pytest.approx(50.0)  # 25 * 0.5 * 4


def test_accelerator_is_limited_by_host_decode_and_derives_other_models_from_measured_ratio() -> None:
    cat = parse_catalogue(_table())
    big = embed_rate(cat.get("acc.x"), PROFILE, PlanRequest(1e6, 0, 100, model="big"), cat)
    assert big is not None and big.images_per_s == pytest.approx(400.0) and big.bottleneck == "decode"
    small = embed_rate(cat.get("acc.x"), PROFILE, PlanRequest(1e6, 0, 100, model="small", include_decode=False), cat)
    # measured here small is 5x faster than big, so the chip's 1000/s for big becomes 5000/s, flagged estimated
    assert small is not None and small.images_per_s == pytest.approx(5000.0) and small.estimated


def test_accelerator_falls_back_to_gflops_ratio_without_measurements() -> None:
    cat = parse_catalogue(_table())
    rate = embed_rate(cat.get("acc.x"), None, PlanRequest(1e6, 0, 100, model="small", include_decode=False), cat)
    assert rate is not None and rate.images_per_s == pytest.approx(4000.0)  # 1000 * 4 / 1 GFLOPs


def test_embed_plan_counts_instances_for_the_window_and_bills_running_hours() -> None:
    cat = parse_catalogue(_table())
    req = PlanRequest(items_per_day=80 * 3600 * 10, qps=0, p99_ms=100, model="small", utilisation=1.0, window_hours=4)
    rate = embed_rate(cat.get("cpu.4"), PROFILE, req, cat)
    assert rate is not None
    e = plan_embed(cat.get("cpu.4"), rate, req)
    assert e.instance_hours_per_day == pytest.approx(10.0)
    assert e.instances == 3  # 10 instance-hours in a 4-hour window
    assert e.usd_per_month == pytest.approx(10 * 0.4 * HOURS_PER_MONTH / 24)
    assert e.usd_per_million_images == pytest.approx(0.4 / (80 * 3600) * 1e6)


def test_erlang_c_matches_known_values() -> None:
    assert erlang_c(1, 0.5) == pytest.approx(0.5)  # M/M/1: P(wait) = rho
    assert erlang_c(2, 1.0) == pytest.approx(1 / 3)  # textbook M/M/2 at rho = 0.5
    assert erlang_c(4, 0.0) == 0.0 and erlang_c(2, 2.0) == 1.0


def test_wait_quantile_of_mm1_is_the_exponential_tail() -> None:
    # M/M/1, mu = 10/s, lambda = 5/s: P(W > t) = 0.5 exp(-5 t) -> t99 = ln(50) / 5
    assert wait_quantile(1, 0.1, 5.0) == pytest.approx(math.log(50) / 5)
    assert wait_quantile(1, 0.1, 10.0) == math.inf
    assert wait_quantile(8, 0.1, 1.0) == 0.0  # almost never waits


def test_serving_takes_fewest_replicas_meeting_p99_and_refuses_unreachable_targets() -> None:
    cat = parse_catalogue(_table())
    inst = cat.get("cpu.4")
    ok = plan_serve(inst, PROFILE, PlanRequest(0, qps=400, p99_ms=100))
    # one search = 1 ms http + 10 ms text + 1 ms ann = 12 ms on a vCPU: 4 vCPUs do 333/s, at 70 % -> 2 replicas
    assert ok.service_ms == pytest.approx(12.0)
    assert ok.replicas == 2 and ok.p99_ms is not None and ok.p99_ms <= 100
    assert ok.usd_per_month == pytest.approx(2 * 0.4 * HOURS_PER_MONTH)
    more = plan_serve(inst, PROFILE, PlanRequest(0, qps=4000, p99_ms=100))
    assert more.replicas is not None and more.replicas >= 4000 / (4 / 0.012 * 0.7)
    assert plan_serve(inst, PROFILE, PlanRequest(0, qps=10, p99_ms=20)).replicas is None  # p99 service is 24 ms


def test_plan_picks_cheapest_feasible_fleets_and_documents_them(tmp_path) -> None:
    cat = parse_catalogue(_table())
    p = plan(cat, PROFILE, PlanRequest(items_per_day=1e6, qps=100, p99_ms=100, model="small"))
    assert p.best_embed is not None and p.best_embed.usd_per_month == min(e.usd_per_month for e in p.embed)
    assert p.best_serve is not None and p.best_serve.instance == "arm.4"  # same vCPU speed for serving, cheaper
    doc = plan_document(p)
    assert doc["fleet"]["usd_per_month"] == pytest.approx(p.usd_per_month, abs=0.01)
    json.dumps(doc)
    page = write_plot(p, tmp_path / "plan.html")
    assert "arm.4" in page.read_text() and "<svg" in page.read_text()


def test_anchor_check_reproduces_price_over_throughput() -> None:
    check = anchor_check(parse_catalogue(_table()))
    assert check["planner_usd_per_million_images"] == pytest.approx(1.0)  # 3.6 $/h / (1000/s * 3600) * 1e6
    assert check["anchor_relative_error"] == pytest.approx(0.0, abs=1e-12)
    off = anchor_check(parse_catalogue(_table(images_per_s=1250.0)))  # table says 1000/s, anchor claims 1250/s
    assert off["anchor_relative_error"] == pytest.approx(0.25)


def test_bundled_table_reproduces_the_inf2_anchor_within_5_percent() -> None:
    cat = load_catalogue()
    check = anchor_check(cat)
    assert check["anchor_relative_error"] < 0.05
    assert 0.0300 < check["planner_usd_per_million_images"] < 0.0340
    for row in cat.instances:
        assert row.source and row.date and row.basis, row.name


def test_local_embed_prediction_adds_load_decode_and_tower_time() -> None:
    assert predict_local_embed_s(PROFILE, 600) == pytest.approx(3.0 + 600 / 150 + 600 / 40)


def test_bad_inputs_are_refused_with_a_hint() -> None:
    with pytest.raises(InvalidInputError):
        PlanRequest(items_per_day=-1, qps=0, p99_ms=10)
    bad = _table()
    del bad["instances"][0]["source"]
    with pytest.raises(ConfigError):
        parse_catalogue(bad)
