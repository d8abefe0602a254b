"""`moodboard capacity`: measure this machine's stage throughputs and price a fleet for a workload."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from moodboard.cli.context import console, get_settings
from moodboard.core.errors import InvalidInputError

# Queries for the text-tower stage: plain shopping phrases, no catalog's own vocabulary.
_QUERIES = (
    "blue cotton shirt", "wooden desk lamp", "ceramic coffee mug with a handle", "black leather boots",
    "soft grey throw blanket", "minimal silver watch", "a gift for a new baby", "linen summer shirt",
)  # fmt: skip


def _http_probe(ctx: typer.Context) -> Any:
    """A callable that sends one request through the app built for this home (TestClient, no network)."""
    from fastapi.testclient import TestClient

    from moodboard.api.app import create_app

    client = TestClient(create_app(get_settings(ctx)))

    def probe() -> None:
        r = client.get("/readyz")
        if r.status_code != 200:
            raise InvalidInputError(f"/readyz answered {r.status_code}", "check the catalog store settings")

    return probe


def _embed_check(profile: Any, result_file: Path) -> dict[str, Any]:
    """Compare the predicted local embed wall time with a measured `moodboard embed --json` result."""
    from moodboard.capacity.planner import predict_local_embed_s

    try:
        result = json.loads(result_file.read_text())
        n, measured = int(result["embedded"]), float(result["seconds"])
    except (OSError, ValueError, KeyError) as exc:
        raise InvalidInputError(
            f"cannot read an embed result from {result_file}: {exc}", "pass the output of `moodboard embed --json`"
        ) from exc
    if n <= 0 or int(result.get("cached", 0)) > 0.01 * int(result.get("total", n)):
        raise InvalidInputError(
            f"{result_file} embedded {n} images and reused {result.get('cached')} cached ones",
            "measure a run that embeds every image (fresh home, MOODBOARD_EMBED__FEATURE_CACHE=false)",
        )
    predicted = predict_local_embed_s(profile, n)
    return {
        "items": n,
        "measured_s": measured,
        "predicted_s": round(predicted, 2),
        "relative_error": abs(predicted - measured) / measured,
        "model": "tower load + n x (1/decode rate + 1/tower rate), both at this machine's thread counts",
    }


def _print_tables(doc: dict[str, Any]) -> None:
    embed = Table(title="embed fleet (cheapest first)")
    for col in ("instance", "images/s", "bottleneck", "instances", "h/day", "$/month", "$/M images"):
        embed.add_column(col, justify="left" if col in {"instance", "bottleneck"} else "right")
    for r in doc["embed"]:
        embed.add_row(r["instance"] + (" *" if r["estimated"] else ""), f"{r['images_per_s']:,.0f}", r["bottleneck"],
                      str(r["instances"]), f"{r['instance_hours_per_day']:.2f}", f"{r['usd_per_month']:,.2f}",
                      f"{r['usd_per_million_images']:.4f}")  # fmt: skip
    serve = Table(title="search fleet (cheapest feasible first)")
    for col in ("instance", "service ms", "service p99 ms", "replicas", "p99 ms", "$/month"):
        serve.add_column(col, justify="left" if col == "instance" else "right")
    for r in doc["serve"]:
        serve.add_row(r["instance"], f"{r['service_ms']:.2f}", f"{r['service_p99_ms']:.2f}",
                      "-" if r["replicas"] is None else str(r["replicas"]),
                      "-" if r["p99_ms"] is None else f"{r['p99_ms']:.1f}",
                      "infeasible" if r["usd_per_month"] is None else f"{r['usd_per_month']:,.2f}")  # fmt: skip
    console.print(embed)
    console.print("[dim]* accelerator rate derived from another model's figure (see the table's basis)[/]")
    console.print(serve)


def register(app: typer.Typer) -> None:
    """Add `capacity`."""

    @app.command("capacity")
    def capacity_cmd(
        ctx: typer.Context,
        items_per_day: Annotated[float, typer.Option(help="new or changed images to embed per day")] = 1_000_000,
        qps: Annotated[float, typer.Option(help="text searches per second at peak")] = 50.0,
        p99_ms: Annotated[float, typer.Option(help="99th-percentile latency target of a search (ms)")] = 200.0,
        model: Annotated[str, typer.Option(help="image model: lite or clip-vit-b-32")] = "lite",
        window_hours: Annotated[float, typer.Option(help="hours a day the embed job may run")] = 24.0,
        utilisation: Annotated[float, typer.Option(help="target busy fraction of every instance")] = 0.7,
        no_decode: Annotated[bool, typer.Option("--no-decode", help="price the image tower alone")] = False,
        local_vs_reference: Annotated[
            float, typer.Option(help="speed of one vCPU here relative to one vCPU of the reference family (c7i)")
        ] = 1.0,
        min_replicas: Annotated[int, typer.Option(help="fewest API replicas (availability)")] = 2,
        images: Annotated[Path | None, typer.Option(help="folder of sample images (default: synthetic JPEGs)")] = None,
        sample: Annotated[int, typer.Option(help="images to measure decode on")] = 192,
        min_s: Annotated[float, typer.Option(help="seconds each stage is timed for at least")] = 2.0,
        no_clip: Annotated[bool, typer.Option("--no-clip", help="skip measuring CLIP ViT-B/32 on this CPU")] = False,
        profile_in: Annotated[
            Path | None, typer.Option("--profile", help="reuse the `measured` block of an earlier --json output")
        ] = None,
        table: Annotated[Path | None, typer.Option(help="instance table JSON (default: the bundled one)")] = None,
        embed_result: Annotated[
            Path | None, typer.Option(help="`moodboard embed --json` output of a run on this machine, to check")
        ] = None,
        json_out: Annotated[Path | None, typer.Option("--json", help="write the whole answer as JSON here")] = None,
        plot: Annotated[Path | None, typer.Option(help="write a plot: OUT.png (matplotlib) or OUT.html")] = None,
    ) -> None:
        """Measure decode, towers, ANN, walk and HTTP here, then price the cheapest fleet for the workload."""
        from moodboard.capacity.catalogue import load_catalogue
        from moodboard.capacity.measure import MeasureOptions, measure_all, profile_from
        from moodboard.capacity.planner import PlanRequest, anchor_check, plan
        from moodboard.capacity.report import plan_document, write_plot

        catalogue = load_catalogue(table)
        if model not in catalogue.model_gflops:
            raise InvalidInputError(f"unknown model {model!r}", f"use one of {', '.join(catalogue.model_gflops)}")
        if profile_in is not None:
            try:
                measured = json.loads(profile_in.read_text())["measured"]
            except (OSError, ValueError, KeyError) as exc:
                raise InvalidInputError(
                    f"{profile_in} holds no `measured` block: {exc}", "pass a --json output"
                ) from exc
        else:
            from moodboard.embed.lite import lite_image_tower, lite_text_tower

            settings = get_settings(ctx)
            embed = settings.embed
            opts = MeasureOptions(images=images, sample=sample, min_s=min_s, clip=not no_clip,
                                  batch_size=embed.batch_size, workers=embed.workers,
                                  threads_at_load=embed.runtime == "onnx")  # fmt: skip
            with console.status("measuring") as status:
                measured = measure_all(
                    opts, _QUERIES, _http_probe(ctx), progress=lambda m: status.update(m),
                    image_tower=lambda t: lite_image_tower(embed, settings.snapshots_dir, t),
                    text_tower=lambda t: lite_text_tower(embed, settings.snapshots_dir, t),
                )  # fmt: skip
        profile = profile_from(measured)
        req = PlanRequest(items_per_day=items_per_day, qps=qps, p99_ms=p99_ms, model=model, window_hours=window_hours,
                          utilisation=utilisation, include_decode=not no_decode,
                          local_vs_reference=local_vs_reference, min_replicas=min_replicas)  # fmt: skip
        result = plan(catalogue, profile, req)
        doc = plan_document(result)
        anchor = anchor_check(catalogue)
        anchor_with_decode = plan(catalogue, profile, PlanRequest(
            items_per_day=catalogue.anchor.images_per_s * 86_400, qps=0, p99_ms=1, model=catalogue.anchor.model,
            utilisation=1.0, local_vs_reference=local_vs_reference))  # fmt: skip
        for e in anchor_with_decode.embed:
            if e.instance == catalogue.anchor.instance:
                anchor["with_decode_images_per_s"] = e.rate.images_per_s
                anchor["with_decode_usd_per_million_images"] = e.usd_per_million_images
        check = _embed_check(profile, embed_result) if embed_result is not None else None
        out = {
            "anchor_relative_error": anchor["anchor_relative_error"],
            "embed_prediction_relative_error": None if check is None else check["relative_error"],
            "anchor": anchor,
            "embed_prediction": check,
            "plan": doc,
            "measured": measured,
        }
        if json_out is not None:
            json_out.write_text(json.dumps(out, indent=2))
        if plot is not None:
            write_plot(result, plot)
        _print_tables(doc)
        fleet = doc["fleet"]
        console.print(f"fleet: embed {fleet['embed']}, serve {fleet['serve']}, total ${fleet['usd_per_month']}/month")
        console.print(
            f"anchor {anchor['instance']}: ${anchor['planner_usd_per_million_images']:.4f}/M images from the table "
            f"(anchor ${anchor['anchor_usd_per_million_images']:.4f}, error {anchor['anchor_relative_error']:.2%}); "
            f"with JPEG decoding on its vCPUs: {anchor.get('with_decode_images_per_s', float('nan')):,.0f} images/s"
        )
        if check is not None:
            console.print(
                f"embed prediction: {check['predicted_s']:.1f} s predicted vs {check['measured_s']:.1f} s measured "
                f"for {check['items']} images ({check['relative_error']:.1%} off)"
            )
