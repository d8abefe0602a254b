"""The table of instance types the planner prices fleets from (package data `instances.json`).

Each row holds an instance type's vCPUs, on-demand price, per-stage CPU throughput relative to one vCPU
of the reference family, and the images/s of its accelerator for named models, with sources and date.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from moodboard.core.errors import ConfigError

STAGES = ("decode", "image_tower", "text_tower", "ann", "walk", "http")
"""Pipeline stages whose throughput the planner measures and scales."""


@dataclass(frozen=True, slots=True)
class InstanceType:
    """One row of the table: an instance type with its price and relative throughputs."""

    name: str
    family: str
    arch: str
    vcpus: int
    usd_per_hour: float
    relative: dict[str, float]
    accelerator: str | None = None
    accelerator_images_per_s: dict[str, float] = field(default_factory=dict)
    basis: str = ""
    source: str = ""
    date: str = ""


@dataclass(frozen=True, slots=True)
class Anchor:
    """A published throughput and price that the planner's arithmetic must reproduce."""

    instance: str
    model: str
    images_per_s: float
    usd_per_hour: float
    usd_per_million_images: float
    source: str
    date: str


@dataclass(frozen=True, slots=True)
class Catalogue:
    """All instance types, the anchor, and per-model image-tower cost (GFLOPs)."""

    instances: tuple[InstanceType, ...]
    anchor: Anchor
    model_gflops: dict[str, float]
    reference_family: str

    def get(self, name: str) -> InstanceType:
        """The instance type called `name`.

        Raises:
            ConfigError: no row has that name.
        """
        for row in self.instances:
            if row.name == name:
                return row
        raise ConfigError(f"unknown instance type {name!r}", f"use one of {', '.join(r.name for r in self.instances)}")


def _row(raw: dict[str, Any]) -> InstanceType:
    missing = [s for s in STAGES if s not in raw.get("relative", {})]
    if missing or not raw.get("source") or not raw.get("date"):
        raise ConfigError(
            f"instance row {raw.get('name')!r} lacks {missing or 'a source and date'}",
            "give every row a relative throughput per stage, a source and a date",
        )
    return InstanceType(
        name=str(raw["name"]),
        family=str(raw["family"]),
        arch=str(raw["arch"]),
        vcpus=int(raw["vcpus"]),
        usd_per_hour=float(raw["usd_per_hour"]),
        relative={s: float(raw["relative"][s]) for s in STAGES},
        accelerator=raw.get("accelerator"),
        accelerator_images_per_s={k: float(v) for k, v in raw.get("accelerator_images_per_s", {}).items()},
        basis=str(raw.get("basis", "")),
        source=str(raw["source"]),
        date=str(raw["date"]),
    )


def parse_catalogue(data: dict[str, Any]) -> Catalogue:
    """Build a `Catalogue` from the JSON structure of `instances.json`.

    Raises:
        ConfigError: a row lacks a field the planner needs.
    """
    try:
        a = data["anchor"]
        anchor = Anchor(
            instance=str(a["instance"]),
            model=str(a["model"]),
            images_per_s=float(a["images_per_s"]),
            usd_per_hour=float(a["usd_per_hour"]),
            usd_per_million_images=float(a["usd_per_million_images"]),
            source=str(a["source"]),
            date=str(a["date"]),
        )
        rows = tuple(_row(r) for r in data["instances"])
        gflops = {k: float(v["image_gflops"]) for k, v in data.get("models", {}).items()}
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigError(
            f"the instance table is malformed: {exc}", "compare it with the bundled instances.json"
        ) from exc
    return Catalogue(rows, anchor, gflops, str(data.get("reference_family", "")))


def load_catalogue(path: Path | None = None) -> Catalogue:
    """Load the instance table from `path`, or the one bundled with moodboard.

    Raises:
        ConfigError: the file is missing, not JSON, or malformed.
    """
    try:
        if path is None:
            text = resources.files("moodboard.capacity").joinpath("instances.json").read_text(encoding="utf-8")
        else:
            text = path.read_text(encoding="utf-8")
        data = json.loads(text)
    except (OSError, ValueError) as exc:
        raise ConfigError(
            f"cannot read the instance table {path or 'instances.json'}: {exc}", "pass a JSON file"
        ) from exc
    return parse_catalogue(data)
