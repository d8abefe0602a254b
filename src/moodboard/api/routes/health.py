"""Liveness and readiness endpoints."""

from __future__ import annotations

import contextlib
import os
from typing import Any

from fastapi import APIRouter

from moodboard import __version__
from moodboard.api.services import Services, ServicesDep
from moodboard.core.errors import MoodboardError
from moodboard.core.live_snapshot import snapshot_health

router = APIRouter(tags=["health"])

# snapshot kind -> the command that (re)builds it
SNAPSHOT_JOBS = {
    "index": "run `moodboard index`",
    "vectors": "run `moodboard embed` (or `moodboard index`, which embeds too)",
    "graph": "run `moodboard graph build`",
}


@router.get("/healthz", summary="Liveness: the process is up")
async def healthz() -> dict[str, str]:
    """Report that the server process is alive (on the event loop: no thread-pool hop for a probe)."""
    return {"status": "ok", "version": __version__}


@router.get("/readyz", summary="Readiness: the catalog store answers; which snapshots are missing or corrupt")
def readyz(services: ServicesDep) -> dict[str, Any]:
    """Report whether the catalog store answers, how many pins it holds, and the state of each snapshot.

    `snapshots` maps each kind to `ok`, `missing` or `corrupt`; `problems` lists the others with a hint
    naming the command that fixes them; `worker` and `serving` say which process answered and which
    index and graph versions it serves. A missing or corrupt snapshot does not make the server unready:
    the catalog routes still answer, and a corrupt new snapshot is refused while the last good one serves.
    """
    settings = services.settings
    jobs = dict(SNAPSHOT_JOBS)
    if settings.embed.backend == "lite":
        jobs["aligner"] = "run `moodboard train align`"
    snapshots = {kind: snapshot_health(settings.snapshots_dir, kind, hint) for kind, hint in jobs.items()}
    problems = [
        {"snapshot": kind, "state": s["state"], "detail": s["detail"], "hint": s["hint"]}
        for kind, s in snapshots.items()
        if s["state"] != "ok"
    ]
    return {
        "status": "ready",
        "pins": services.store.count_pins(),
        "database": services.store.dialect,
        "snapshots": {kind: s["state"] for kind, s in snapshots.items()},
        "problems": problems,
        "worker": os.getpid(),
        "serving": _serving(services),
    }


def _serving(services: Services) -> dict[str, str | None]:
    """The snapshot versions this worker process answers from (None: not loaded yet).

    Once the index is loaded, the probe checks its pointer as a search would (so a worker that gets no
    search still swaps, and a rollout can see each worker reach the new version); it never loads the
    first one, which warm-up or the first search does.
    """
    index = services.runtime.index
    if index.status().serving is not None:
        with contextlib.suppress(MoodboardError):  # a refused snapshot: the last good one serves (see `snapshots`)
            index.get()
    served = index.status().serving
    graph = services.runtime.graph
    graph_path = graph.get().status().serving if graph.built else None
    return {"index": served.name if served else None, "graph": graph_path.name if graph_path else None}
