"""The search service on a tiny generated catalog with the deterministic fake embedder.

Item vectors live in a combined fake space, normalise(text(title) + image(picture)), so both text and
image queries have obvious answers without a trained model.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from moodboard.core.errors import DependencyError, InvalidInputError, ModelMismatchError, NotFoundError
from moodboard.core.records import Pin, Product
from moodboard.core.settings import IndexSettings
from moodboard.embed.fake import FakeEmbedder
from moodboard.embed.object_crop import crop_to_object
from moodboard.index.attributes import ItemAttrs, parse_filter
from moodboard.index.bundle import SearchIndex
from moodboard.index.lexical import LexicalDoc, LexicalIndex
from moodboard.index.vector_index import make_index
from moodboard.jobs.index_job import calibrate
from moodboard.rank.search import SearchRequest, SearchService

COLOURS = {"red": (220, 20, 20), "blue": (20, 20, 220), "green": (20, 200, 20), "yellow": (230, 230, 20)}
TYPES = ["dress", "shirt", "boots", "bag"]


def picture(rgb: tuple[int, int, int], shade: int = 0) -> Image.Image:
    """A solid-colour picture with a lighter top-left corner (so items are not identical)."""
    arr = np.zeros((32, 32, 3), dtype=np.uint8) + np.array(rgb, dtype=np.uint8)
    arr[:8, :8] = np.clip(np.array(rgb) + 30 + shade, 0, 255)
    return Image.fromarray(arr)


@pytest.fixture(scope="module")
def catalog() -> tuple[list[Pin], dict[int, Image.Image]]:
    pins, images = [], {}
    pid = 1
    for c, rgb in COLOURS.items():
        for j, t in enumerate(TYPES):
            pins.append(Pin(pid, f"ext-{pid}", f"{c} {t}", category=t, color=c, product=Product(price=10.0 * pid)))
            images[pid] = picture(rgb, shade=5 * j)
            pid += 1
    return pins, images


@pytest.fixture(scope="module")
def encoder() -> FakeEmbedder:
    return FakeEmbedder(dim=64)


def _combined(encoder: FakeEmbedder, pins: list[Pin], images: dict[int, Image.Image]) -> np.ndarray:
    x = encoder.embed_texts([p.title for p in pins]) + encoder.embed_images([images[p.id] for p in pins])
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


@pytest.fixture(scope="module")
def bundle(catalog, encoder, tmp_path_factory) -> SearchIndex:
    pins, images = catalog
    settings = IndexSettings(facet_pool=50)
    vectors = make_index(settings, encoder.dim, encoder.model_id)
    vectors.add(np.array([p.id for p in pins]), _combined(encoder, pins, images), [ItemAttrs.from_pin(p) for p in pins])
    lex = LexicalIndex.create(tmp_path_factory.mktemp("lex") / "lex.sqlite")
    lex.add(LexicalDoc.from_pin(p) for p in pins)
    cal = calibrate(encoder, vectors, pins, n=40)
    return SearchIndex(vectors, lex, {"calibration": cal})


@pytest.fixture
def service(bundle, encoder, catalog) -> SearchService:
    by_id = {p.id: p for p in catalog[0]}
    return SearchService(lambda: bundle, lambda: encoder, IndexSettings(facet_pool=50), lambda ids: by_id)


def titles(resp) -> list[str]:
    return [h.pin.title for h in resp.hits]


def test_text_query_hybrid(service: SearchService) -> None:
    resp = service.search(SearchRequest(text="red dress", k=5))
    assert titles(resp)[0] == "red dress"
    assert set(resp.hits[0].sources) == {"vector", "lexical"}
    out = resp.to_json()
    assert out["results"][0]["external_id"] == resp.hits[0].pin.external_id
    assert {"pin_id", "external_id", "title", "score", "sources"} <= set(out["results"][0])


def test_image_query_finds_same_colour(service: SearchService) -> None:
    resp = service.search(SearchRequest(image=picture(COLOURS["blue"], shade=3), k=4, cutoff=False))
    assert {h.pin.color for h in resp.hits} == {"blue"}
    assert list(resp.hits[0].sources) == ["vector"]


def test_pin_query_returns_itself_first(service: SearchService) -> None:
    resp = service.search(SearchRequest(pin_id=7, k=3))
    assert resp.hits[0].pin_id == 7 and resp.hits[0].score == pytest.approx(1.0, abs=1e-5)


def test_text_plus_image_weights(service: SearchService) -> None:
    blue = picture(COLOURS["blue"])
    resp = service.search(SearchRequest(text="dress", image=blue, image_weight=1.0, mode="vector", k=1))
    assert titles(resp) == ["blue dress"]
    text_heavy = service.search(
        SearchRequest(text="green dress", image=blue, text_weight=3.0, image_weight=0.2, mode="vector", k=1)
    )
    assert titles(text_heavy) == ["green dress"]


def test_negative_terms_push_down(service: SearchService) -> None:
    plain = service.search(SearchRequest(text="dress", k=4, mode="vector", cutoff=False))
    neg = service.search(
        SearchRequest(text="dress", negative_text=("red",), negative_weight=1.0, k=4, mode="vector", cutoff=False)
    )
    rank = {t: i for i, t in enumerate(titles(plain))}
    neg_rank = {t: i for i, t in enumerate(titles(neg))}
    assert neg_rank.get("red dress", 99) > rank.get("red dress", 99) or "red dress" not in neg_rank
    lexical = service.search(SearchRequest(text="dress", negative_text=("red",), k=10, mode="lexical"))
    assert "red dress" not in titles(lexical) and "blue dress" in titles(lexical)


def test_filters_and_facets_over_retrieved_set(service: SearchService) -> None:
    resp = service.search(SearchRequest(text="dress", filters=parse_filter({"color": "blue"}), k=10))
    assert resp.hits and {h.pin.color for h in resp.hits} == {"blue"}
    assert set(resp.facets["color"]) == {"blue"}  # not the catalog's four colours
    total = sum(resp.facets["category"].values())
    assert total <= 4
    cheap = service.search(SearchRequest(text="bag", filters=parse_filter({"price_max": 80}), k=10, cutoff=False))
    assert all(float(h.pin.product.price) <= 80 for h in cheap.hits)


def test_calibrated_cutoff_gives_honest_empty_result(service: SearchService, bundle: SearchIndex) -> None:
    cal = bundle.calibration["text"]
    assert 0 < cal["relevant_kept"] <= 1 and cal["cutoff"] > cal["null_q50"]
    nothing = service.search(SearchRequest(text="zorbulent quivaxe plimtrock", k=10))
    assert nothing.hits == [] and nothing.below_cutoff > 0 and nothing.facets["color"] == {}
    something = service.search(SearchRequest(text="green shirt", k=10))
    assert titles(something)[0] == "green shirt"
    off = service.search(SearchRequest(text="zorbulent quivaxe plimtrock", k=10, cutoff=False))
    assert len(off.hits) == 10  # without the cutoff the same query returns arbitrary pins


@pytest.mark.parametrize(
    ("req", "error"),
    [
        (SearchRequest(text="   "), InvalidInputError),
        (SearchRequest(), InvalidInputError),
        (SearchRequest(text="red", k=10**6), InvalidInputError),
        (SearchRequest(text="red", k=0), InvalidInputError),
        (SearchRequest(text="red", mode="fuzzy"), InvalidInputError),  # type: ignore[arg-type]
        (SearchRequest(vector=[0.1] * 5), InvalidInputError),
        (SearchRequest(pin_id=99999), NotFoundError),
        (SearchRequest(text="red", text_weight=-1), InvalidInputError),
    ],
)
def test_bad_requests(service: SearchService, bundle: SearchIndex, req: SearchRequest, error: type) -> None:
    before = len(bundle.vectors), bundle.vectors.search(np.eye(64, dtype=np.float32)[:2], 3)[0].tolist()
    with pytest.raises(error) as exc:
        service.search(req)
    assert exc.value.hint
    assert (len(bundle.vectors), bundle.vectors.search(np.eye(64, dtype=np.float32)[:2], 3)[0].tolist()) == before


def test_model_mismatch(bundle: SearchIndex) -> None:
    other = FakeEmbedder(dim=32)
    svc = SearchService(lambda: bundle, lambda: other, IndexSettings())
    with pytest.raises(ModelMismatchError):
        svc.search(SearchRequest(text="red dress"))
    no_encoder = SearchService(lambda: bundle, None, IndexSettings())
    with pytest.raises(DependencyError):
        no_encoder.search(SearchRequest(text="red dress"))
    assert no_encoder.search(SearchRequest(pin_id=1, k=1)).hits[0].pin_id == 1  # pins need no encoder


def test_raw_vector_query(service: SearchService, bundle: SearchIndex) -> None:
    vec = bundle.vectors.get_vectors(np.array([5]))[0]
    assert service.search(SearchRequest(vector=vec.tolist(), k=1)).hits[0].pin_id == 5
    huge = [1e300] * len(vec)  # beyond float32: refused as not finite, without a numpy warning
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(InvalidInputError, match="finite floats"):
            service.search(SearchRequest(vector=huge, k=1))


def test_snapshot_round_trip_through_index_holder(bundle: SearchIndex, catalog, tmp_path: Path) -> None:
    from moodboard.index.bundle import IndexHolder, write_index_snapshot

    pins = catalog[0]
    write_index_snapshot(tmp_path, bundle.vectors, (LexicalDoc.from_pin(p) for p in pins), bundle.manifest)
    holder = IndexHolder(tmp_path, IndexSettings(), check_every_s=0)
    first = holder.get()
    assert len(first.vectors) == len(pins) and first.lexical is not None and len(first.lexical) == len(pins)
    assert first.calibration == bundle.calibration
    assert holder.get() is first  # unchanged pointer: same object
    write_index_snapshot(tmp_path, bundle.vectors, iter([]), {"calibration": {}})
    second = holder.get()
    assert second is not first and second.calibration == {}


def test_request_fusion_weights_override_settings(service: SearchService) -> None:
    # "red" matches red items lexically; the vector side of the fake also likes "red"-titled items, so
    # compare a query whose two sources disagree: lexical-only weight must equal lexical mode's order.
    lex_only = service.search(SearchRequest(text="dress boots", k=4, cutoff=False, vector_weight=0.0))
    lexical = service.search(SearchRequest(text="dress boots", k=4, cutoff=False, mode="lexical"))
    assert [h.pin_id for h in lex_only.hits] == [h.pin_id for h in lexical.hits]
    with pytest.raises(InvalidInputError):
        service.search(SearchRequest(text="red", lexical_weight=-1.0))


def test_index_holder_keeps_serving_when_a_new_snapshot_is_broken(bundle: SearchIndex, catalog, tmp_path: Path) -> None:
    from moodboard.index.bundle import IndexHolder, write_index_snapshot

    write_index_snapshot(tmp_path, bundle.vectors, (LexicalDoc.from_pin(p) for p in catalog[0]), bundle.manifest)
    holder = IndexHolder(tmp_path, IndexSettings(), check_every_s=0)
    good = holder.get()
    broken = write_index_snapshot(tmp_path, bundle.vectors, iter([]), {})
    (broken / "vectors" / "ids.npy").write_bytes(b"garbage")
    assert holder.get() is good


def test_lexical_mode_without_lexical_index_is_a_snapshot_error(bundle: SearchIndex, encoder) -> None:
    from moodboard.core.errors import SnapshotError

    no_lex = SearchIndex(bundle.vectors, None, bundle.manifest)
    svc = SearchService(lambda: no_lex, lambda: encoder, IndexSettings())
    with pytest.raises(SnapshotError):
        svc.search(SearchRequest(text="red", mode="lexical"))
    assert svc.search(SearchRequest(text="red dress", k=3, cutoff=False)).hits  # hybrid falls back to vectors


def test_text_vector_cache_encodes_each_text_once_per_model() -> None:
    """Regression: the search service re-encoded the same query text on every call (assistant turns
    re-send their terms), which made turns through the search service miss the latency goal."""
    from moodboard.rank.search import TextVectorCache

    calls: list[list[str]] = []

    class Counting(FakeEmbedder):
        def embed_texts(self, texts):  # type: ignore[no-untyped-def, override]
            calls.append(list(texts))
            return super().embed_texts(texts)

    enc = Counting(dim=16)
    cache = TextVectorCache(capacity=2)
    first = cache.embed(enc, ["red dress", "blue jeans"])
    again = cache.embed(enc, ["blue jeans", "red dress", "blue jeans"])
    assert calls == [["red dress", "blue jeans"]]
    assert np.allclose(again[1], first[0]) and np.allclose(again[0], first[1]) and np.allclose(again[2], first[1])
    assert np.allclose(first, enc.embed_texts(["red dress", "blue jeans"]))
    cache.embed(enc, ["green hat"])  # capacity 2: evicts the least recently used ("blue jeans")
    cache.embed(enc, ["red dress"])
    assert calls[-1] == ["green hat"]
    cache.embed(enc, ["blue jeans"])
    assert calls[-1] == ["blue jeans"]


def test_text_vector_cache_sends_concurrent_misses_to_the_tower_together() -> None:
    """Misses of requests answered at once share one tower run; a text two of them miss is encoded once."""
    import threading
    import time

    from moodboard.rank.search import TextVectorCache

    calls: list[list[str]] = []
    gate = threading.Event()

    class Slow(FakeEmbedder):
        def embed_texts(self, texts):  # type: ignore[no-untyped-def, override]
            calls.append(list(texts))
            gate.wait(5)
            return super().embed_texts(texts)

    enc, cache = Slow(dim=16), TextVectorCache(capacity=64)
    out: dict[str, np.ndarray] = {}
    texts = ["first", "red dress", "blue jeans", "red dress"]
    threads = [threading.Thread(target=lambda t=t: out.__setitem__(t, cache.embed(enc, [t])[0])) for t in texts]
    threads[0].start()
    while not calls:
        time.sleep(0.001)
    for t in threads[1:]:
        t.start()
    while cache._batcher(enc).calls < 4:
        time.sleep(0.001)
    gate.set()
    for t in threads:
        t.join(5)
    assert calls == [["first"], ["red dress", "blue jeans"]]
    for t in texts:
        assert np.allclose(out[t], enc.embed_texts([t])[0])


def test_category_vote_reranks_vector_results(bundle: SearchIndex, encoder, catalog) -> None:
    """With one voter and a big bonus, the top result's category fills the head of the list."""
    pins = catalog[0]
    by_id = {p.id: p for p in pins}
    query = SearchRequest(pin_id=pins[0].id, mode="vector", k=len(pins), cutoff=False)
    plain = SearchService(lambda: bundle, lambda: encoder, IndexSettings(category_vote_weight=0.0), lambda ids: by_id)
    voted = SearchService(
        lambda: bundle,
        lambda: encoder,
        IndexSettings(category_vote_weight=10.0, category_vote_depth=1),
        lambda ids: by_id,
    )
    p_hits, v_hits = plain.search(query).hits, voted.search(query).hits
    p_scores = [h.score for h in p_hits]
    assert p_scores == sorted(p_scores, reverse=True)
    same = sum(1 for p in pins if p.category == pins[0].category)
    assert {h.pin.category for h in v_hits[:same] if h.pin} == {pins[0].category}
    assert [h.pin.category for h in p_hits[:same] if h.pin] != [pins[0].category] * same  # the vote changed it
    assert {h.pin_id for h in v_hits} == {h.pin_id for h in p_hits}


class SpyEncoder(FakeEmbedder):
    """The fake embedder, remembering the size of every image it embeds."""

    def __init__(self, dim: int) -> None:
        super().__init__(dim=dim)
        self.sizes: list[tuple[int, int]] = []

    def embed_images(self, images):  # type: ignore[no-untyped-def]
        self.sizes += [im.size for im in images]
        return super().embed_images(images)


@pytest.mark.parametrize(
    ("mode", "packshots", "cropped"),
    [("always", None, True), ("never", 1.0, False), ("auto", 0.9, True), ("auto", 0.1, False), ("auto", None, False)],
)
def test_uploaded_photos_are_cropped_for_packshot_catalogs(
    bundle, catalog, mode: str, packshots: float | None, cropped: bool
) -> None:
    """Uploads are cropped to their object when asked to, or ("auto") when the index says the catalog is packshots."""
    rng = np.random.default_rng(0)
    arr = np.clip(rng.normal((160, 130, 100), 18, size=(200, 240, 3)), 0, 255).astype(np.uint8)  # a floor
    arr[40:160, 80:170] = COLOURS["blue"]  # the garment
    manifest = dict(bundle.manifest)
    if packshots is not None:
        manifest["photo_domain"] = {"packshot_fraction": packshots, "sampled": 16}
    index = SearchIndex(bundle.vectors, bundle.lexical, manifest)
    spy = SpyEncoder(dim=64)
    by_id = {p.id: p for p in catalog[0]}
    settings = IndexSettings(facet_pool=50, photo_object_crop=mode)
    service = SearchService(lambda: index, lambda: spy, settings, lambda ids: by_id, crop=crop_to_object)
    resp = service.search(SearchRequest(image=Image.fromarray(arr), k=4, cutoff=False))
    assert spy.sizes
    w, h = spy.sizes[-1]
    if cropped:
        assert w < 120 and h < 140, spy.sizes  # about the 90x120 garment, not the 240x200 photo
        assert all(hit.pin.color == "blue" for hit in resp.hits[:4])
    else:
        assert (w, h) == (240, 200)
