"""Turn latency of the conversational assistant (parse + refine + retrieve + rank, no LLM).

Catalog: the Myntra catalog from the shared data dir (9,583 items), topped up to `--items` (default
10,000) with copies of its first rows under new ids; prices are the deterministic synthetic ones of the
conversation tests. Without the data dir a synthetic catalog of the same size is generated.

Model: the offline `lite` embedder (frozen MiniLM text tower + aligner heads). If `--home` holds a
trained aligner snapshot it is used; otherwise untrained heads of the same shape are built, which cost
exactly the same compute (this benchmark measures time, not quality). Item vectors are the embedded
titles (cached under --cache-dir). Torch runs single-threaded by default (`--torch-threads`), as a
serving process on a 2-core machine should.

Retrieval is the one path the served app uses: the assistant asks the search service (exact vector
index + FTS5 lexical, hybrid RRF, filters in the index) over an index snapshot with the catalog profile
and vocabulary, built here from the same item vectors.

Photo turns (a person's photo from clothing-small/validation, no words) are timed through the search
service path twice, interleaved photo by photo: with uploads cropped to their object (GrabCut, as for a
packshot catalog) and without, so the crop's cost is measured against its own baseline.

Caches (the query-text and query-photo vector caches) are emptied before every conversation, so a
replayed script gains nothing from earlier rounds, only from reuse within its own turns.

Each turn is timed around `Assistant.respond`: parse, refine, query-text embedding, sparse+dense
retrieval over all items with filters, explanations, chips, and the atomic session write. Baseline,
interleaved turn by turn in the same run: the bare retrieval kernel (embed the same message + one dense
matmul + top-k, no cache).

    python benchmarks/assistant_latency.py --json /tmp/assistant_latency.json
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np

from moodboard.assistant.engine import Assistant
from moodboard.assistant.understanding import CatalogUnderstanding
from moodboard.assistant.vocabulary import Vocabulary
from moodboard.catalog.sessions import CatalogSessionStore
from moodboard.catalog.store import CatalogStore
from moodboard.core.records import Pin, Product

SCRIPTS: list[list[str]] = [
    ["tshirts for men", "not white", "under $30", "more like the third one", "cheaper"],
    ["casual shoes", "no black", "between 20 and 60", "less like #2", "none of these"],
    ["red dresses for women", "in blue", "under $50", "the second one", "less than that"],
    ["an outfit for a beach wedding", "the footwear, but brown", "the accessories under $40"],
    ["watches for women", "more expensive", "only sunglasses", "also show handbags"],
    ["leather belts", "without stripes", "more like the first one", "start over", "navy blue shirts"],
    ["what to wear to the office, for men", "the tops, but in white", "start over"],
    ["sports shoes for men under $60", "more like #4", "not grey", "cheaper"],
    ["kurtas", "for women", "no white", "more like the last one"],
    ["jeans", "gray trousers", "only shoes", "flibbertigibbet"],
    ["an outfit for the gym", "the footwear, but black", "start over", "a tee"],
    ["formal shoes for men under $60 not black", "more like this", "cheaper", "none of these"],
]


def _h(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little")


def synthetic_price(item_id: str, article_type: str) -> Decimal:
    """Same rule as tests/conversations/myntra.py: seeded by articleType and item id."""
    base = 12 + _h("type:" + article_type) % 60
    spread = 0.4 + 1.2 * ((_h("item:" + item_id) % 10_000) / 10_000)
    return Decimal(str(round(base * spread, 2)))


def myntra_pins(data_dir: Path, n: int) -> list[Pin]:
    """`n` pins from Myntra, topped up with copies of the first rows under new ids."""
    rows = [json.loads(line) for line in (data_dir / "myntra" / "catalog.jsonl").open(encoding="utf-8")]
    pins = []
    for i in range(n):
        r = rows[i % len(rows)]
        ext = r["id"] if i < len(rows) else f"{r['id']}-copy{i // len(rows)}"
        attrs = {
            k: r[k] for k in ("gender", "masterCategory", "subCategory", "articleType", "season", "usage") if r.get(k)
        }
        pins.append(
            Pin(
                id=i + 1,
                external_id=ext,
                title=r.get("productDisplayName") or r["articleType"],
                category=r["articleType"],
                color=r["baseColour"],
                attributes=attrs,
                product=Product(price=synthetic_price(ext, r["articleType"]), currency="USD"),
            )
        )
    return pins


def synthetic_pins(n: int) -> list[Pin]:
    """A generated fashion-like catalog when the real data is absent."""
    types = ["Tshirts", "Shirts", "Jeans", "Trousers", "Casual Shoes", "Sports Shoes", "Watches", "Belts", "Kurtas"]
    colours = ["Black", "White", "Blue", "Red", "Grey", "Brown", "Navy Blue", "Green"]
    genders = ["Men", "Women", "Unisex", "Boys", "Girls"]
    pins = []
    for i in range(n):
        t, c, g = types[_h(f"t{i}") % len(types)], colours[_h(f"c{i}") % len(colours)], genders[i % len(genders)]
        pins.append(
            Pin(
                id=i + 1,
                external_id=f"s{i}",
                title=f"Brand{i % 97} {g} {'Leather' if i % 5 == 0 else 'Cotton'} {c} {t}",
                category=t,
                color=c,
                attributes={"gender": g, "usage": "Formal" if i % 4 == 0 else "Casual"},
                product=Product(price=synthetic_price(f"s{i}", t)),
            )
        )
    return pins


def offline_embedder(home: Path | None, feature_cache: bool = True) -> tuple[Any, str]:
    """The lite embedder: a trained aligner from `home` if there is one, else same-shape untrained heads.

    `feature_cache=False` turns off the home's frozen-feature cache (photo turns must run the image tower).
    """
    from moodboard.core.settings import EmbedSettings
    from moodboard.embed.aligned import TowerEmbedder
    from moodboard.embed.aligner import Aligner, AlignerConfig, AlignerSpec, build_heads
    from moodboard.embed.device import select_device
    from moodboard.embed.towers import EfficientNetLiteTower, MiniLMTextTower

    if home is not None:
        from moodboard.core.errors import MoodboardError
        from moodboard.embed.embedder import make_embedder

        try:
            settings = EmbedSettings(backend="lite", device="cpu", feature_cache=feature_cache)
            emb = make_embedder(settings, home / "snapshots")
            return emb, f"lite, trained aligner ({emb.model_id})"
        except MoodboardError as exc:
            print(f"no trained aligner under {home}: {exc}; using untrained heads", file=sys.stderr)
    text = MiniLMTextTower(select_device("cpu"))
    spec = AlignerSpec(
        AlignerConfig(), EfficientNetLiteTower.tower_id, text.tower_id, EfficientNetLiteTower.dim, text.dim
    )
    aligner = Aligner(spec, build_heads(spec))
    emb = TowerEmbedder(
        "lite:untrained:256", 256, lambda: EfficientNetLiteTower(select_device("cpu")), lambda: text, aligner
    )
    return emb, "lite towers + untrained aligner heads of the trained shape (same compute)"


def item_vectors(pins: list[Pin], embedder: Any, cache_dir: Path) -> np.ndarray:
    """Embedded titles, cached by model id and catalog."""
    # the probe's output size is in the key: an older aligner shape under the same model id must not match
    probe_dim = int(embedder.embed_texts(["probe"]).shape[1])
    key = hashlib.sha256(f"{embedder.model_id}:{probe_dim}:{'|'.join(p.title for p in pins)}".encode()).hexdigest()[:16]
    path = cache_dir / f"assistant-latency-{key}.npy"
    if path.is_file():
        return np.load(path)
    out = []
    step = 512
    for s in range(0, len(pins), step):
        out.append(embedder.embed_texts([p.title for p in pins[s : s + step]]))
        print(f"  embedded {min(s + step, len(pins))}/{len(pins)} titles", file=sys.stderr)
    vecs = np.ascontiguousarray(np.concatenate(out), dtype=np.float32)
    cache_dir.mkdir(parents=True, exist_ok=True)
    np.save(path, vecs)
    return vecs


def cold(assistant: Assistant) -> None:
    """Empty every cache, so a replayed script gains nothing from earlier rounds, only from its own turns."""
    assistant.search.clear_caches()


def _sessions(folder: Path, name: str) -> CatalogSessionStore:
    """Sessions in their own SQLite catalog database, as `moodboard serve` keeps them (no pins needed)."""
    return CatalogSessionStore(CatalogStore.open(f"sqlite:///{folder / f'sessions-{name}.db'}"))


def measure(assistant: Assistant, embedder: Any, vecs: np.ndarray, rounds: int) -> dict[str, Any]:
    """Replay every script `rounds` times in new sessions; time each turn and, interleaved, the kernel."""
    for msg in SCRIPTS[0]:  # warm-up (model load, first-call allocations)
        assistant.respond(assistant.start().id, msg)
    total, parse, retrieve, base = [], [], [], []
    n_turns = rounds * sum(len(s) for s in SCRIPTS)
    for _round in range(rounds):
        for script in SCRIPTS:
            cold(assistant)
            sid = assistant.start().id
            for msg in script:
                t = time.perf_counter()
                reply = assistant.respond(sid, msg)
                total.append((time.perf_counter() - t) * 1000)
                parse.append(reply.timings_ms["parse"])
                retrieve.append(reply.timings_ms["retrieve_rank"])
                # baseline, interleaved so both see the same machine load: the bare dense kernel for the
                # same message (embed the text, one matmul over all items, top-k), no cache
                t = time.perf_counter()
                q = embedder.embed_texts([msg])[0]
                np.argpartition(-(vecs @ q), 24)[:24]
                base.append((time.perf_counter() - t) * 1000)
        print(f"  {len(total)}/{n_turns} turns, p50 so far {statistics.median(total):.1f} ms", file=sys.stderr)
    return {
        "turns": len(total),
        "p50_ms": round(pct(total, 50), 2),
        "p90_ms": round(pct(total, 90), 2),
        "p99_ms": round(pct(total, 99), 2),
        "mean_ms": round(statistics.fmean(total), 2),
        "max_ms": round(max(total), 2),
        "parse_p50_ms": round(pct(parse, 50), 3),
        "retrieve_rank_p50_ms": round(pct(retrieve, 50), 2),
        "retrieve_rank_p99_ms": round(pct(retrieve, 99), 2),
        "baseline_kernel_p50_ms": round(pct(base, 50), 2),
        "baseline_kernel_p99_ms": round(pct(base, 99), 2),
    }


def one_path_assistant(pins: list[Pin], vecs: np.ndarray, embedder: Any, tmp: Path, photo_crop: str = "auto") -> Any:
    """The assistant over the search service and an index snapshot of these vectors (profile, vocabulary)."""
    from moodboard.core.settings import IndexSettings, load_settings
    from moodboard.embed.object_crop import crop_to_object
    from moodboard.index.attributes import ItemAttrs
    from moodboard.index.bundle import PROFILE_FILE, VOCABULARY_FILE, load_index_snapshot, write_index_snapshot
    from moodboard.index.lexical import LexicalDoc
    from moodboard.index.profile import learn_profile
    from moodboard.index.vector_index import make_index
    from moodboard.rank.search import SearchService

    settings = IndexSettings(photo_object_crop=photo_crop)  # type: ignore[arg-type]
    profile = learn_profile(pins)
    vocab = Vocabulary.from_pins(pins, profile)
    index = make_index(settings, vecs.shape[1], embedder.model_id)
    index.add(np.array([p.id for p in pins], dtype=np.int64), vecs, [ItemAttrs.from_pin(p, profile) for p in pins])
    files = {PROFILE_FILE: profile.to_json(), VOCABULARY_FILE: json.dumps(vocab.to_dict())}
    snap = write_index_snapshot(
        tmp / f"snap-{photo_crop}", index, (LexicalDoc.from_pin(p) for p in pins), {}, files=files
    )
    bundle = load_index_snapshot(snap, settings)
    by_id = {p.id: p for p in pins}
    service = SearchService(
        lambda: bundle, lambda: embedder, settings, lambda ids: {i: by_id[i] for i in ids}, crop=crop_to_object
    )
    home = load_settings(home=tmp / f"home-{photo_crop}")
    return Assistant(service, CatalogUnderstanding(home.assistant, service), _sessions(tmp, photo_crop))


def measure_photos(crop: Any, plain: Any, photos: list[bytes]) -> dict[str, Any]:
    """Photo turns (a person's photo, no words) through two assistants on the search service, interleaved
    photo by photo: uploads cropped to their object (`crop`) and embedded as they are (`plain`)."""
    for assistant in (crop, plain):  # warm-up: the image tower's first call
        assistant.respond(assistant.start().id, "", image=photos[0])
    times: dict[str, list[float]] = {"crop": [], "plain": []}
    for data in photos:
        for name, assistant in (("crop", crop), ("plain", plain)):
            cold(assistant)
            sid = assistant.start().id
            t = time.perf_counter()
            assistant.respond(sid, "", image=data)
            times[name].append((time.perf_counter() - t) * 1000)
    print(f"  {len(photos)} photo turns each way", file=sys.stderr)
    out: dict[str, Any] = {"turns": len(photos)}
    for name, values in times.items():
        out[f"{name}_p50_ms"] = round(pct(values, 50), 2)
        out[f"{name}_p99_ms"] = round(pct(values, 99), 2)
    out["crop_cost_p50_ms"] = round(out["crop_p50_ms"] - out["plain_p50_ms"], 2)
    return out


def pct(values: list[float], q: float) -> float:
    """q-th percentile (0..100), linear interpolation."""
    return float(np.percentile(np.asarray(values), q))


def main() -> None:
    """Run the benchmark and write the JSON figures."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--json", type=Path, required=True, help="where to write the figures")
    ap.add_argument("--items", type=int, default=10_000)
    ap.add_argument("--rounds", type=int, default=8, help="times each script is replayed in a new session")
    ap.add_argument("--data-dir", type=Path, default=Path(os.environ.get("MOODBOARD_DATA_DIR", "../shared/data")))
    ap.add_argument("--home", type=Path, default=None, help="moodboard home with a trained lite aligner")
    ap.add_argument("--cache-dir", type=Path, default=Path(tempfile.gettempdir()) / "moodboard-bench")
    ap.add_argument("--torch-threads", type=int, default=1, help="intra-op threads (1 avoids oversubscription)")
    ap.add_argument("--photos", type=int, default=40, help="people's photos (clothing-small/validation) to time")
    args = ap.parse_args()
    import torch

    torch.set_num_threads(args.torch_threads)

    t0 = time.perf_counter()
    real = (args.data_dir / "myntra" / "catalog.jsonl").is_file()
    pins = myntra_pins(args.data_dir, args.items) if real else synthetic_pins(args.items)
    print(f"catalog: {len(pins)} items ({'Myntra' if real else 'synthetic'})", file=sys.stderr)
    embedder, model_note = offline_embedder(args.home)
    vecs = item_vectors(pins, embedder, args.cache_dir)
    setup_s = time.perf_counter() - t0
    with tempfile.TemporaryDirectory() as tmp:
        search_fig = measure(one_path_assistant(pins, vecs, embedder, Path(tmp)), embedder, vecs, args.rounds)
        photo_fig: dict[str, Any] | None = None
        photo_paths = sorted((args.data_dir / "clothing-small" / "validation").glob("*/*"))[: args.photos]
        if photo_paths:
            photo_embedder = offline_embedder(args.home, feature_cache=False)[0]  # every photo is new
            pair = [one_path_assistant(pins, vecs, photo_embedder, Path(tmp), mode) for mode in ("always", "never")]
            photo_fig = measure_photos(pair[0], pair[1], [p.read_bytes() for p in photo_paths])

    fig: dict[str, Any] = {
        "items": len(pins),
        "catalog": "myntra (+copies to reach items)" if real else "synthetic",
        "model": model_note,
        "retriever": "the search service (one path: exact index + FTS5, filters in the index)",
        **search_fig,
        "photo_turns": photo_fig,
        "goal_p50_ms": 50,
        "goal_p99_ms": 150,
        "setup_s": round(setup_s, 1),
        "torch_threads": args.torch_threads,
        "load_average_1m_at_end": round(os.getloadavg()[0], 2),
        "machine": f"{platform.machine()}, {os.cpu_count()} cpus, {platform.python_version()}",
    }
    fig["meets_goal"] = fig["p50_ms"] <= 50 and fig["p99_ms"] <= 150
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(fig, indent=2))
    print(json.dumps(fig, indent=2))


if __name__ == "__main__":
    main()
