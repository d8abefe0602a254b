"""`moodboard train sequence` (the sequence-model candidate source) and `moodboard train ranker` (the blend)."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from moodboard.cli.context import JsonFlag, console, get_settings, open_store, report
from moodboard.cli.embed import _train_group

_COLUMNS = (
    TextColumn("{task.description}"),
    BarColumn(),
    MofNCompleteColumn(),
    TimeElapsedColumn(),
    TextColumn("{task.fields[info]}"),
)


def _epoch_info(metrics: dict[str, float]) -> str:
    """Progress text of one epoch: training loss, and validation HR@10 when it was measured."""
    text = f"loss {metrics.get('loss', float('nan')):.3f}"
    return text + (f", val HR@10 {metrics['val']:.3f}" if "val" in metrics else "")


def register(app: typer.Typer) -> None:
    """Add `train sequence` and `train ranker` to the shared `train` group."""
    train = _train_group(app)

    @train.command("sequence")
    def sequence_cmd(
        ctx: typer.Context,
        epochs: Annotated[int | None, typer.Option(help="most epochs (MOODBOARD_SEQUENCE__EPOCHS)")] = None,
        objective: Annotated[
            str | None, typer.Option(help="next_item or all_action (MOODBOARD_SEQUENCE__OBJECTIVE)")
        ] = None,
        json_out: JsonFlag = False,
    ) -> None:
        """Train the sequence transformer on every user's engagement; writes a `sequence` snapshot."""
        from moodboard.jobs.runners import make_runner
        from moodboard.jobs.sequence_job import read_sequences, run_sequence_job

        settings = get_settings(ctx)
        overrides: dict[str, Any] = {}
        if epochs is not None:
            overrides["epochs"] = epochs
        if objective is not None:
            overrides["objective"] = objective
        seq_settings = type(settings.sequence).model_validate({**settings.sequence.model_dump(), **overrides})
        store = open_store(settings)
        try:
            data = read_sequences(store, settings.snapshots_dir)
        finally:
            store.close()
        with Progress(*_COLUMNS, console=console, transient=json_out) as bar:
            task = bar.add_task("train sequence", total=seq_settings.epochs, info="")
            result = run_sequence_job(
                data,
                seq_settings,
                settings.snapshots_dir,
                progress=lambda e, n, m: bar.update(task, completed=e, total=n, info=_epoch_info(m)),
                runner=make_runner(settings.jobs),
            )
        out = {
            "snapshot": str(result.snapshot),
            "users": result.users,
            "items": result.items,
            "events": result.events,
            "val_hr_at_10": result.val_hr_at_10,
            "best_epoch": result.best_epoch,
            "seconds": round(result.seconds, 2),
        }
        val = "n/a" if result.val_hr_at_10 is None else f"{result.val_hr_at_10:.3f}"
        report(
            out,
            json_out,
            f"trained on {result.events} events of {result.users} users ({result.items} pins), "
            f"val HR@10 {val} at epoch {result.best_epoch} -> {result.snapshot}",
        )

    @train.command("ranker")
    def ranker_cmd(
        ctx: typer.Context,
        json_out: JsonFlag = False,
    ) -> None:
        """Train the LambdaMART blend by replaying each user's newest engagement; writes a `ranker` snapshot.

        Needs a `sequence` snapshot (`moodboard train sequence`) for candidates and user embeddings.
        """
        from moodboard.jobs.ranker_job import run_ranker_job
        from moodboard.jobs.runners import make_runner

        settings = get_settings(ctx)
        store = open_store(settings)
        try:
            with console.status("replaying engagement and training the ranker", spinner="dots"):
                result = run_ranker_job(store, settings.ranker, settings.snapshots_dir, make_runner(settings.jobs))
        finally:
            store.close()
        out = {
            "snapshot": str(result.snapshot),
            "requests": result.requests,
            "rows": result.rows,
            "train_seconds": round(result.train_seconds, 3),
        }
        report(
            out,
            json_out,
            f"trained the ranker on {result.requests} replayed requests ({result.rows} candidates) "
            f"in {result.train_seconds:.1f} s -> {result.snapshot}",
        )
