"""Fleet sizing and cost: measured stage rates x the instance table -> instances and $/month (pure math).

Embedding is a throughput problem: an instance's rate is its image tower's rate (an accelerator's published
images/s, or the measured per-vCPU rate here scaled by the table's relative factor and the vCPU count),
limited by JPEG decoding on its vCPUs. On a CPU-only instance both stages share the cores, so their
per-image times add; with an accelerator the host decodes while the chip runs, so the slower one wins.
Serving is a latency problem: each instance is an M/M/c queue (c = vCPUs, one request per vCPU at a time);
the planner adds the Erlang-C 99th-percentile wait to the 99th-percentile service time and takes the
fewest replicas that keep it under the target.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from moodboard.capacity.catalogue import Catalogue, InstanceType
from moodboard.core.errors import InvalidInputError

HOURS_PER_MONTH = 730.0
"""AWS bills a month of on-demand time as 730 hours."""
SERVING_STAGES = ("http", "text_tower", "ann")
"""What one text search costs: the request through the app, one query through the text tower, one ANN query."""


@dataclass(frozen=True, slots=True)
class LocalProfile:
    """Throughput measured on this machine.

    `per_vcpu` holds single-thread rates (items/s) per stage; `image_tower` the single-thread images/s per
    model; `p99_s` single-thread 99th-percentile latencies of one request per serving stage. `machine_*` are
    rates with every core, as the embed job runs them here; `load_s` is the image tower's load time.
    """

    per_vcpu: dict[str, float]
    image_tower: dict[str, float]
    p99_s: dict[str, float] = field(default_factory=dict)
    machine_decode: float = 0.0
    machine_image_tower: float = 0.0
    load_s: float = 0.0
    vcpus: int = 1


@dataclass(frozen=True, slots=True)
class PlanRequest:
    """The question: N items/day to embed and Q searches/s at p99 <= X, on which fleet."""

    items_per_day: float
    qps: float
    p99_ms: float
    model: str = "lite"
    window_hours: float = 24.0
    utilisation: float = 0.7
    include_decode: bool = True
    local_vs_reference: float = 1.0
    min_replicas: int = 2
    walk_share: float = 0.0

    def __post_init__(self) -> None:
        """Reject values the arithmetic cannot use."""
        if self.items_per_day < 0 or self.qps < 0 or self.p99_ms <= 0:
            raise InvalidInputError("items/day and searches/s must be >= 0 and p99 > 0", "pass positive numbers")
        if not 0 < self.utilisation <= 1 or not 0 < self.window_hours <= 24:
            raise InvalidInputError("utilisation must be in (0, 1] and the window in (0, 24] hours", "fix the option")


@dataclass(frozen=True, slots=True)
class EmbedRate:
    """How fast one instance embeds, what limits it, and whether the figure is an estimate."""

    images_per_s: float
    tower_per_s: float
    decode_per_s: float
    bottleneck: str
    estimated: bool


@dataclass(frozen=True, slots=True)
class EmbedPlan:
    """One instance type's answer for the embed workload."""

    instance: str
    rate: EmbedRate
    instances: int
    instance_hours_per_day: float
    usd_per_month: float
    usd_per_million_images: float


@dataclass(frozen=True, slots=True)
class ServePlan:
    """One instance type's answer for the search workload (None replicas: the latency target is out of reach)."""

    instance: str
    service_ms: float
    service_p99_ms: float
    replicas: int | None
    p99_ms: float | None
    usd_per_month: float | None


@dataclass(frozen=True, slots=True)
class Plan:
    """All instance types for both workloads, and the cheapest feasible choice of each."""

    request: PlanRequest
    embed: list[EmbedPlan]
    serve: list[ServePlan]
    best_embed: EmbedPlan | None
    best_serve: ServePlan | None

    @property
    def usd_per_month(self) -> float | None:
        """Cost of the cheapest fleet for both workloads, or None when serving is infeasible."""
        if self.best_serve is None or self.best_serve.usd_per_month is None:
            return None
        return (self.best_embed.usd_per_month if self.best_embed else 0.0) + self.best_serve.usd_per_month


def _scale(inst: InstanceType, stage: str, req: PlanRequest) -> float:
    """Per-vCPU speed of `inst` on `stage` relative to one vCPU of this machine."""
    return inst.relative[stage] * req.local_vs_reference


def accelerator_rate(
    inst: InstanceType, model: str, profile: LocalProfile | None, catalogue: Catalogue
) -> tuple[float, bool] | None:
    """Images/s of `inst`'s accelerator for `model`, and whether it is derived (None: no accelerator).

    A model the table has no figure for is scaled from a model it has: by the ratio of their single-thread
    rates measured here when both were measured, else by the ratio of their GFLOPs.
    """
    if not inst.accelerator_images_per_s:
        return None
    if model in inst.accelerator_images_per_s:
        return inst.accelerator_images_per_s[model], False
    base, base_rate = next(iter(inst.accelerator_images_per_s.items()))
    if profile is not None and model in profile.image_tower and base in profile.image_tower:
        return base_rate * profile.image_tower[model] / profile.image_tower[base], True
    if model in catalogue.model_gflops and base in catalogue.model_gflops:
        return base_rate * catalogue.model_gflops[base] / catalogue.model_gflops[model], True
    return None


def embed_rate(
    inst: InstanceType, profile: LocalProfile | None, req: PlanRequest, catalogue: Catalogue
) -> EmbedRate | None:
    """Images/s one `inst` embeds `req.model` at (None when nothing measured or tabled covers it)."""
    decode = math.inf
    if req.include_decode:
        if profile is None or not profile.per_vcpu.get("decode"):
            return None
        decode = profile.per_vcpu["decode"] * _scale(inst, "decode", req) * inst.vcpus
    accel = accelerator_rate(inst, req.model, profile, catalogue)
    if accel is not None:
        tower, estimated = accel
        rate = min(tower, decode)  # the host decodes while the accelerator runs
    else:
        if profile is None or req.model not in profile.image_tower:
            return None
        tower = profile.image_tower[req.model] * _scale(inst, "image_tower", req) * inst.vcpus
        estimated = False
        rate = 1.0 / (1.0 / tower + 1.0 / decode)  # both stages share the same cores
    bottleneck = "decode" if decode < tower else "image_tower"
    return EmbedRate(rate, tower, decode, bottleneck, estimated)


def plan_embed(inst: InstanceType, rate: EmbedRate, req: PlanRequest) -> EmbedPlan:
    """Instances to finish a day's items within the window, and the monthly bill (billed while running)."""
    effective = rate.images_per_s * req.utilisation  # (images/s) one instance sustains
    hours_per_day = req.items_per_day / effective / 3600.0
    instances = math.ceil(hours_per_day / req.window_hours - 1e-9) if req.items_per_day > 0 else 0
    usd_month = hours_per_day * inst.usd_per_hour * HOURS_PER_MONTH / 24.0
    per_million = inst.usd_per_hour / (effective * 3600.0) * 1e6
    return EmbedPlan(inst.name, rate, instances, hours_per_day, usd_month, per_million)


def erlang_c(servers: int, offered: float) -> float:
    """Probability that a request waits in an M/M/c queue with `servers` and `offered` = lambda/mu load."""
    if offered <= 0:
        return 0.0
    if offered >= servers:
        return 1.0
    term, total = 1.0, 1.0  # a^k / k!, summed for k < c
    for k in range(1, servers):
        term *= offered / k
        total += term
    last = term * offered / servers  # a^c / c!
    rho = offered / servers
    waiting = last / (1.0 - rho)
    return waiting / (total + waiting)


def wait_quantile(servers: int, service_s: float, arrival_per_s: float, q: float = 0.99) -> float:
    """The q-quantile of the queueing wait (s) of an M/M/c queue; inf when the queue is unstable."""
    mu = 1.0 / service_s
    spare = servers * mu - arrival_per_s
    if spare <= 0:
        return math.inf
    c = erlang_c(servers, arrival_per_s / mu)
    if c <= 1.0 - q:
        return 0.0
    return math.log(c / (1.0 - q)) / spare


def serving_times(inst: InstanceType, profile: LocalProfile, req: PlanRequest) -> tuple[float, float]:
    """Mean and p99 service time (s) of one search on one vCPU of `inst`."""
    stages = [*SERVING_STAGES, *(("walk",) if req.walk_share > 0 else ())]
    mean = p99 = 0.0
    for stage in stages:
        share = req.walk_share if stage == "walk" else 1.0
        speed = _scale(inst, stage, req)
        mean += share / (profile.per_vcpu[stage] * speed)
        p99 += share * profile.p99_s.get(stage, 1.0 / profile.per_vcpu[stage]) / speed
    return mean, p99


def plan_serve(inst: InstanceType, profile: LocalProfile, req: PlanRequest, max_replicas: int = 100_000) -> ServePlan:
    """Fewest replicas of `inst` that serve `req.qps` at p99 <= target and utilisation <= target."""
    mean, p99 = serving_times(inst, profile, req)
    target = req.p99_ms / 1000.0
    if p99 >= target:
        return ServePlan(inst.name, mean * 1000, p99 * 1000, None, None, None)
    capacity = inst.vcpus / mean  # requests/s one replica completes at 100 % busy
    n = max(req.min_replicas, math.ceil(req.qps / (capacity * req.utilisation) - 1e-9), 1)
    while n <= max_replicas:
        total = p99 + wait_quantile(inst.vcpus, mean, req.qps / n)
        if total <= target:
            return ServePlan(
                inst.name, mean * 1000, p99 * 1000, n, total * 1000, n * inst.usd_per_hour * HOURS_PER_MONTH
            )
        n += max(1, n // 20)
    return ServePlan(inst.name, mean * 1000, p99 * 1000, None, None, None)


def plan(catalogue: Catalogue, profile: LocalProfile, req: PlanRequest) -> Plan:
    """Answer the request for every instance type and pick the cheapest feasible one per workload."""
    embeds: list[EmbedPlan] = []
    for inst in catalogue.instances:
        rate = embed_rate(inst, profile, req, catalogue)
        if rate is not None:
            embeds.append(plan_embed(inst, rate, req))
    serves = [plan_serve(inst, profile, req) for inst in catalogue.instances]
    best_embed = min(embeds, key=lambda e: e.usd_per_month, default=None) if req.items_per_day > 0 else None
    feasible = [s for s in serves if s.usd_per_month is not None]
    best_serve = min(feasible, key=lambda s: s.usd_per_month or 0.0, default=None)
    return Plan(req, embeds, serves, best_embed, best_serve)


def anchor_check(catalogue: Catalogue) -> dict[str, float | str]:
    """Recompute the anchor's $ per million images from the table, as the planner prices any fleet.

    The planner is asked to embed one anchor-instance-day of images (anchor images/s x 86,400) with the
    anchor model, before decoding and at 100 % utilisation; its monthly bill divided by the images of a
    month is compared with the anchor's own price / throughput.
    """
    a = catalogue.anchor
    inst = catalogue.get(a.instance)
    req = PlanRequest(
        items_per_day=a.images_per_s * 86_400, qps=0.0, p99_ms=1.0, model=a.model, utilisation=1.0, include_decode=False
    )
    rate = embed_rate(inst, None, req, catalogue)
    if rate is None:
        raise InvalidInputError(f"the table has no {a.model} figure for {a.instance}", "add it to the table")
    e = plan_embed(inst, rate, req)
    billed_per_million = e.usd_per_month / (req.items_per_day * HOURS_PER_MONTH / 24.0) * 1e6
    exact = a.usd_per_hour / (a.images_per_s * 3600.0) * 1e6
    return {
        "instance": a.instance,
        "model": a.model,
        "planner_images_per_s": rate.images_per_s,
        "planner_usd_per_hour": inst.usd_per_hour,
        "planner_usd_per_million_images": billed_per_million,
        "anchor_usd_per_million_images": exact,
        "anchor_relative_error": abs(billed_per_million - exact) / exact,
        "anchor_rounded_usd_per_million_images": a.usd_per_million_images,
        "relative_error_vs_rounded": abs(billed_per_million - a.usd_per_million_images) / a.usd_per_million_images,
        "throughput_relative_error": abs(rate.images_per_s - a.images_per_s) / a.images_per_s,
    }


def predict_local_embed_s(profile: LocalProfile, items: int) -> float:
    """Predicted wall time (s) of the embed job on this machine: tower load + decode + tower per image.

    Decoding and the tower share this machine's cores, so their per-image times add.
    """
    if profile.machine_decode <= 0 or profile.machine_image_tower <= 0:
        raise InvalidInputError("the profile has no whole-machine decode/tower rates", "measure them first")
    return profile.load_s + items * (1.0 / profile.machine_decode + 1.0 / profile.machine_image_tower)
