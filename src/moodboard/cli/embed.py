"""`moodboard embed` (vector snapshot of the catalog) and `moodboard train align` (the lite aligner)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from moodboard.cli.context import JsonFlag, console, get_settings, open_store, report
from moodboard.core.errors import ConfigError, InvalidInputError

_COLUMNS = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())


def _train_group(app: typer.Typer) -> typer.Typer:
    """The shared `moodboard train` group (created by the first registrar that needs it)."""
    for group in app.registered_groups:
        if group.name == "train" and group.typer_instance is not None:
            return group.typer_instance
    train = typer.Typer(help="Train models (aligner, ranker, ...).", no_args_is_help=True)
    app.add_typer(train, name="train")
    return train


def _train_info(metrics: dict[str, float]) -> str:
    """Progress text of one training epoch: validation recall, or the refit on every pin."""
    if metrics.get("refit"):
        return f"refit on all pins, loss {metrics.get('loss', float('nan')):.3f}"
    return f"val R@10 {metrics.get('val_recall_at_10', float('nan')):.3f}"


def register(app: typer.Typer) -> None:
    """Add `embed` and `train align`."""

    @app.command("embed")
    def embed_cmd(
        ctx: typer.Context,
        batch_size: Annotated[
            int | None, typer.Option(help="images per model call (MOODBOARD_EMBED__BATCH_SIZE)")
        ] = None,
        workers: Annotated[int | None, typer.Option(help="decode threads; 0 = CPUs (MOODBOARD_EMBED__WORKERS)")] = None,
        runner: Annotated[
            str | None, typer.Option(help="local or ray (MOODBOARD_JOBS__RUNNER); Ray: MOODBOARD_JOBS__RAY_ADDRESS")
        ] = None,
        json_out: JsonFlag = False,
    ) -> None:
        """Embed every pin image into a versioned `vectors` snapshot (a re-run embeds only new images).

        Runs as resumable partitions (MOODBOARD_JOBS__PARTITION_SIZE) in this process or on Ray; a killed
        run, started again, recomputes only the partitions that were in flight.
        """
        from functools import partial

        from moodboard.embed.embedder import make_embedder
        from moodboard.embed.feature_cache import FeatureCache
        from moodboard.jobs.embed_job import read_pins, run_embed_job
        from moodboard.jobs.runners import make_runner

        settings = get_settings(ctx)
        if runner is not None:
            if runner not in ("local", "ray"):
                raise InvalidInputError(f"unknown runner {runner!r}", "pass --runner local or --runner ray")
            settings = settings.model_copy(update={"jobs": settings.jobs.model_copy(update={"runner": runner})})
        store = open_store(settings)
        embedder = make_embedder(settings.embed, settings.snapshots_dir)
        items = list(read_pins(store, settings.thumbnails_dir))
        store.close()
        cache = FeatureCache(settings.layout.vector_cache)
        with Progress(*_COLUMNS, console=console, transient=json_out) as bar:
            task = bar.add_task("embed", total=len(items))
            result = run_embed_job(
                items,
                embedder,
                settings.snapshots_dir,
                cache=cache,
                batch_size=batch_size or settings.embed.batch_size,
                workers=settings.embed.workers if workers is None else workers,
                settings_manifest=settings.embed.model_dump(),
                progress=lambda done, total, _n: bar.update(task, completed=done, total=total),
                runner=make_runner(settings.jobs),
                partition_size=settings.jobs.partition_size,
                work_url=settings.jobs.work_url or str(settings.layout.jobs),
                embedder_factory=partial(make_embedder, settings.embed, settings.snapshots_dir),
            )
        out = {
            "snapshot": str(result.snapshot),
            "model_id": result.model_id,
            "dim": result.dim,
            "total": result.total,
            "embedded": result.embedded,
            "cached": result.cached,
            "failed": len(result.failed),
            "seconds": round(result.seconds, 2),
            "runner": settings.jobs.runner,
            "partitions_computed": len(result.partitions_computed),
            "partitions_reused": len(result.partitions_reused),
        }
        report(
            out,
            json_out,
            f"embedded {result.embedded} new, reused {result.cached} cached, {len(result.failed)} failed "
            f"-> {result.snapshot} ({result.model_id}, dim {result.dim})",
        )

    train = _train_group(app)

    @train.command("align")
    def align_cmd(
        ctx: typer.Context,
        epochs: Annotated[int | None, typer.Option(help="training epochs (early stopping on validation)")] = None,
        mlp: Annotated[bool, typer.Option("--mlp", help="residual MLP heads instead of linear ones")] = False,
        photos: Annotated[
            Path | None,
            typer.Option(help="people's photos as DIR/<class>/<image>: adapts image search to photos"),
        ] = None,
        photo_classes: Annotated[
            Path | None,
            typer.Option(help="JSON {class: [pin categories]} for --photos (default: class = category)"),
        ] = None,
        json_out: JsonFlag = False,
    ) -> None:
        """Train the aligner heads (LiT) on the catalog's own (image, title) pairs; writes an `aligner` snapshot.

        Uses the towers of the configured backend: `lite` (offline) or `open_clip` (domain adapter; set
        MOODBOARD_EMBED__OPEN_CLIP_ADAPTER=true to use it). With --photos, the image-only block is learnt
        from labelled people's photos and the pins' categories (a photo domain adapter).
        """
        from dataclasses import replace
        from functools import partial

        from moodboard.embed.aligner import AlignerConfig
        from moodboard.embed.feature_cache import FeatureCache
        from moodboard.embed.lite import feature_cache_path, lite_runtime_towers
        from moodboard.jobs.align_job import read_labelled_photos, read_pairs, run_align_job
        from moodboard.jobs.runners import make_runner

        settings = get_settings(ctx)
        backend = settings.embed.backend
        towers: tuple[Any, Any]
        if backend == "lite":
            # the runtime the index job embeds with (ONNX Runtime on a CPU); Ray actors load their own
            tower_factory: Any = partial(lite_runtime_towers, settings.embed, settings.snapshots_dir)
        elif backend == "open_clip":
            from moodboard.embed.open_clip_backend import open_clip_towers

            tower_factory = partial(open_clip_towers, settings.embed)
        else:
            raise ConfigError(
                f"backend {backend!r} has no frozen towers to align",
                "set MOODBOARD_EMBED__BACKEND=lite (or open_clip)",
            )
        towers = tower_factory()
        # settings.embed.dim is the model's whole output: joint space + the image-only block
        extra = min(AlignerConfig.image_extra_dims, settings.embed.dim // 4)
        # the image-only block comes from the image tower's main feature group (lite: its pooled head)
        group = "head_avg" if backend == "lite" else "embedding"
        config = AlignerConfig(dim=settings.embed.dim - extra, image_extra_dims=extra, image_extra_group=group)
        if epochs is not None:
            config = replace(config, epochs=epochs)
        if mlp:
            config = replace(config, mlp=True)
        class_map = None
        if photo_classes is not None:
            try:
                class_map = json.loads(photo_classes.read_text())
            except (OSError, ValueError) as exc:
                raise InvalidInputError(
                    f"cannot read the photo class mapping {photo_classes}: {exc}",
                    'write JSON like {"folder": ["Category A", "Category B"]}',
                ) from exc
            if not isinstance(class_map, dict) or not all(
                isinstance(v, list) and all(isinstance(c, str) for c in v) for v in class_map.values()
            ):
                raise InvalidInputError(
                    f"photo class mapping {photo_classes} must map each class to a list of category names",
                    'write JSON like {"folder": ["Category A", "Category B"]}',
                )
        labelled = read_labelled_photos(photos, class_map) if photos is not None else []
        store = open_store(settings)
        items = list(read_pairs(store, settings.thumbnails_dir))
        store.close()
        crop_photos = False  # labelled photos are cropped the way search will crop uploads of this catalog
        if labelled:
            from moodboard.embed.object_crop import packshot_fraction, should_crop

            crop_photos = should_crop(settings.index.photo_object_crop, packshot_fraction([it.path for it in items])[0])
        with Progress(*_COLUMNS, TextColumn("{task.fields[info]}"), console=console, transient=json_out) as bar:
            feats = bar.add_task("features", total=len(items), info="")
            fit = bar.add_task("train", total=config.epochs, info="")
            result = run_align_job(
                items,
                towers[0],
                towers[1],
                settings.snapshots_dir,
                config,
                cache=FeatureCache(feature_cache_path(settings.snapshots_dir)),
                batch_size=settings.embed.batch_size,
                workers=settings.embed.workers,
                crop_photos=crop_photos,
                extract_progress=lambda done, total: bar.update(feats, completed=done, total=total),
                train_progress=lambda e, n, m: bar.update(fit, completed=e, total=n, info=_train_info(m)),
                photos=labelled,
                runner=make_runner(settings.jobs),
                partition_size=settings.jobs.partition_size,
                work_url=settings.jobs.work_url or str(settings.layout.jobs),
                tower_factory=tower_factory,
            )
        out = {
            "snapshot": str(result.snapshot),
            "pairs": result.pairs,
            "failed": len(result.failed),
            "computed_images": result.computed_images,
            "metrics": result.metrics,
            "seconds": round(result.seconds, 2),
        }
        best = result.metrics.get("best_val_recall_at_10")
        report(
            out,
            json_out,
            f"trained aligner on {result.pairs} pairs ({len(result.failed)} failed images)"
            + (f", validation text→image R@10 {best:.3f}" if best is not None else "")
            + f" -> {result.snapshot}",
        )
