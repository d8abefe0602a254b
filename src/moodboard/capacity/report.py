"""Turn a `Plan` into rows, a JSON document and a plot (PNG with matplotlib, or a self-contained HTML page)."""

from __future__ import annotations

import html
from dataclasses import asdict
from pathlib import Path
from typing import Any

from moodboard.capacity.planner import Plan
from moodboard.core.errors import DependencyError


def embed_rows(plan: Plan) -> list[dict[str, Any]]:
    """One row per instance type for the embed workload, cheapest first."""
    rows = []
    for e in sorted(plan.embed, key=lambda e: e.usd_per_month):
        rows.append({
            "instance": e.instance,
            "images_per_s": round(e.rate.images_per_s, 1),
            "bottleneck": e.rate.bottleneck,
            "estimated": e.rate.estimated,
            "instances": e.instances,
            "instance_hours_per_day": round(e.instance_hours_per_day, 3),
            "usd_per_month": round(e.usd_per_month, 2),
            "usd_per_million_images": round(e.usd_per_million_images, 4),
        })  # fmt: skip
    return rows


def serve_rows(plan: Plan) -> list[dict[str, Any]]:
    """One row per instance type for the search workload, feasible and cheapest first."""
    rows = []
    for s in sorted(plan.serve, key=lambda s: (s.usd_per_month is None, s.usd_per_month or 0.0)):
        rows.append({
            "instance": s.instance,
            "service_ms": round(s.service_ms, 2),
            "service_p99_ms": round(s.service_p99_ms, 2),
            "replicas": s.replicas,
            "p99_ms": None if s.p99_ms is None else round(s.p99_ms, 2),
            "usd_per_month": None if s.usd_per_month is None else round(s.usd_per_month, 2),
        })  # fmt: skip
    return rows


def plan_document(plan: Plan) -> dict[str, Any]:
    """The JSON-ready answer: the request, both tables and the chosen fleet with its monthly cost."""
    best_e, best_s = plan.best_embed, plan.best_serve
    return {
        "request": asdict(plan.request),
        "embed": embed_rows(plan),
        "serve": serve_rows(plan),
        "fleet": {
            "embed": None if best_e is None else {"instance": best_e.instance, "instances": best_e.instances,
                                                  "usd_per_month": round(best_e.usd_per_month, 2)},
            "serve": None if best_s is None else {"instance": best_s.instance, "replicas": best_s.replicas,
                                                  "usd_per_month": round(best_s.usd_per_month or 0.0, 2)},
            "usd_per_month": None if plan.usd_per_month is None else round(plan.usd_per_month, 2),
        },
    }  # fmt: skip


def write_plot(plan: Plan, path: Path) -> Path:
    """Draw $/month per instance type for both workloads; `.html` writes an SVG page, anything else a PNG.

    Raises:
        DependencyError: a PNG was asked for and matplotlib is not installed.
    """
    embed = [(r["instance"], r["usd_per_month"]) for r in embed_rows(plan)]
    serve = [(r["instance"], r["usd_per_month"]) for r in serve_rows(plan) if r["usd_per_month"] is not None]
    if path.suffix.lower() in {".html", ".htm"}:
        path.write_text(_html(plan, embed, serve), encoding="utf-8")
        return path
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise DependencyError(
            "the PNG plot needs matplotlib", "pip install matplotlib, or pass --plot OUT.html"
        ) from exc
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5), constrained_layout=True)
    r = plan.request
    for ax, rows, title in (
        (axes[0], embed, f"embed {r.items_per_day:,.0f} items/day ({r.model})"),
        (axes[1], serve, f"serve {r.qps:,.0f} searches/s at p99 <= {r.p99_ms:g} ms"),
    ):
        names = [n for n, _ in rows]
        ax.barh(names, [v for _, v in rows], color="#4c72b0")
        ax.invert_yaxis()
        ax.set_xlabel("$ / month (on-demand)")
        ax.set_title(title)
        if rows:
            ax.barh(names[:1], [rows[0][1]], color="#dd8452")
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _bars_svg(rows: list[tuple[str, float]], title: str) -> str:
    top = max((v for _, v in rows), default=1.0) or 1.0
    parts = [f'<h2>{html.escape(title)}</h2><svg width="720" height="{24 * len(rows) + 10}">']
    for i, (name, value) in enumerate(rows):
        w = 460 * value / top
        fill = "#dd8452" if i == 0 else "#4c72b0"
        parts.append(
            f'<text x="0" y="{24 * i + 17}" font-size="13">{html.escape(name)}</text>'
            f'<rect x="120" y="{24 * i + 4}" width="{w:.1f}" height="18" fill="{fill}"/>'
            f'<text x="{126 + w:.1f}" y="{24 * i + 17}" font-size="12">${value:,.2f}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _html(plan: Plan, embed: list[tuple[str, float]], serve: list[tuple[str, float]]) -> str:
    r = plan.request
    body = _bars_svg(embed, f"embed {r.items_per_day:,.0f} items/day ({r.model}): $/month") + _bars_svg(
        serve, f"serve {r.qps:,.0f} searches/s at p99 <= {r.p99_ms:g} ms: $/month"
    )
    head = '<!doctype html><meta charset="utf-8"><title>moodboard capacity</title>'
    return f'{head}<body style="font-family:sans-serif">{body}</body>'
