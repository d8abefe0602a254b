"""The in-process catalog retriever: filter semantics, text gating, query algebra, dense path."""

from __future__ import annotations

import hashlib
import io

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from moodboard.assistant.catalog_retriever import CatalogRetriever
from moodboard.assistant.retrieval import RetrievalQuery, pin_passes
from moodboard.assistant.vocabulary import Vocabulary
from moodboard.core.query import Filters
from moodboard.core.records import ImageInfo, Pin
from moodboard.embed.fake import FakeEmbedder
from tests.assistant.conftest import COLOURS, TYPES

filter_strategy = st.builds(
    Filters,
    price_min=st.none() | st.integers(0, 100).map(float),
    price_max=st.none() | st.integers(0, 100).map(float),
    colours=st.lists(st.sampled_from(COLOURS), max_size=2).map(tuple),
    exclude_colours=st.lists(st.sampled_from(COLOURS), max_size=2).map(tuple),
    categories=st.lists(st.sampled_from([t[0] for t in TYPES]), max_size=2).map(tuple),
    exclude_categories=st.lists(st.sampled_from([t[0] for t in TYPES]), max_size=1).map(tuple),
    attributes=st.sampled_from([{}, {"usage": ("Formal",)}, {"subCategory": ("Shoes", "Topwear")}]),
    exclude_attributes=st.sampled_from([{}, {"masterCategory": ("Accessories",)}]),
    audience=st.none() | st.sampled_from(["men", "women", "kids"]),
)


@settings(max_examples=80, deadline=None)
@given(filter_strategy)
def test_vectorised_mask_matches_reference_semantics(retriever: CatalogRetriever, f: Filters) -> None:
    vocab = retriever.vocab
    expected = [pin_passes(p, f, vocab.audience_field, vocab.audience_values) for p in retriever.pins]
    assert retriever.mask(f).tolist() == expected


def test_text_without_catalog_words_returns_nothing(retriever: CatalogRetriever) -> None:
    assert retriever.retrieve(RetrievalQuery(texts=(("velvet sofa", 1.0),))) == []
    hits = retriever.retrieve(RetrievalQuery(texts=(("leather", 1.0),)))
    assert hits and all("leather" in h.pin.title.lower() for h in hits)


def test_filters_apply_and_k_is_respected(retriever: CatalogRetriever) -> None:
    f = Filters(colours=("Red",), price_max=50)
    hits = retriever.retrieve(RetrievalQuery(filters=f, k=5))
    assert 0 < len(hits) <= 5 and all(h.pin.color == "Red" and float(h.pin.product.price) <= 50 for h in hits)


def test_pin_algebra_and_exclusions(retriever: CatalogRetriever) -> None:
    hits = retriever.retrieve(RetrievalQuery(pins=((7, 2.0),), k=10))
    assert hits[0].pin.id == 7
    same = retriever.neighbours(7, 9)
    assert {h.pin.id for h in hits[1:]} & set(same)
    hits = retriever.retrieve(RetrievalQuery(pins=((7, 2.0),), exclude_ids=frozenset({7}), k=10))
    assert 7 not in {h.pin.id for h in hits}
    assert any(k.startswith("pin:7") for k in hits[0].contributions)


def test_dense_space_with_fake_embedder(pins: list[Pin], vocab: Vocabulary) -> None:
    emb = FakeEmbedder(dim=16)
    vecs = emb.embed_texts([p.title for p in pins])
    r = CatalogRetriever(pins, vocab, vectors=vecs, embedder=emb)
    hits = r.retrieve(RetrievalQuery(texts=(("Striped Red Jeans", 1.0),), k=5))
    assert hits and "dense" in hits[0].sources
    img = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 10, 10)).save(img, format="PNG")
    hits = r.retrieve(RetrievalQuery(images=((img.getvalue(), 1.0),), k=3))
    assert len(hits) == 3


def test_catalog_photo_found_by_content_hash(pins: list[Pin], vocab: Vocabulary) -> None:
    data = b"\x89PNG fake bytes of pin 3"
    digest = hashlib.sha256(data).hexdigest()
    with_image = [
        p
        if p.id != 3
        else Pin(**{**{f: getattr(p, f) for f in p.__slots__}, "image": ImageInfo(digest, 1, 1, "", "", "PNG")})  # type: ignore[attr-defined]
        for p in pins
    ]
    r = CatalogRetriever(with_image, vocab)
    hits = r.retrieve(RetrievalQuery(images=((data, 1.0),), k=3))
    assert hits[0].pin.id == 3
    assert r.retrieve(RetrievalQuery(images=((b"unknown", 1.0),))) == []
    assert np.isfinite(r.similarity(3, 4))


def test_cached_retriever_repeats_answers_until_the_ttl(retriever: CatalogRetriever) -> None:
    from moodboard.assistant.retrieval import CachedRetriever

    calls = []

    class Counting:
        name = "counting"

        def retrieve(self, query: RetrievalQuery) -> list:
            calls.append(query)
            return retriever.retrieve(query)

    cached = CachedRetriever(Counting(), size=2, ttl_s=60)
    q = RetrievalQuery(filters=Filters(colours=("Red",)), k=5)
    assert cached.retrieve(q) == cached.retrieve(q) and len(calls) == 1
    cached.retrieve(RetrievalQuery(filters=Filters(colours=("Red",)), k=5, exclude_ids=frozenset({1})))
    cached.retrieve(RetrievalQuery(images=((b"x", 1.0),)))
    cached.retrieve(q)  # evicted (size 2): asked again
    assert len(calls) == 4
    stale = CachedRetriever(Counting(), ttl_s=0)
    stale.retrieve(q)
    stale.retrieve(q)
    assert len(calls) == 6


def test_unmatched_soft_words_do_not_empty_a_filtered_query(retriever: CatalogRetriever) -> None:
    # regression: a beach-wedding "bottoms" section (Trousers + soft word "linen", absent from the
    # catalog) came back empty although the catalog has trousers
    f = Filters(categories=("Trousers",))
    hits = retriever.retrieve(RetrievalQuery(texts=(("linen", 0.5),), filters=f, k=5))
    assert hits and all(h.pin.category == "Trousers" for h in hits)
    assert retriever.retrieve(RetrievalQuery(texts=(("linen", 0.5),), k=5)) == []


def test_browsing_by_filters_alone_is_diverse(retriever: CatalogRetriever) -> None:
    hits = retriever.retrieve(RetrievalQuery(filters=Filters(colours=("Blue",)), k=8))
    assert len(hits) == 8 and all(h.pin.color == "Blue" for h in hits)
    assert len({h.pin.category for h in hits}) == 8  # one of each type before any repeat
    again = retriever.retrieve(RetrievalQuery(filters=Filters(colours=("Blue",)), k=8))
    assert [h.pin.id for h in hits] == [h.pin.id for h in again]  # deterministic
