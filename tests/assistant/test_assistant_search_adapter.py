"""The adapter from assistant queries to the real search service (`moodboard.rank.search`), on the
generated catalog with the deterministic fake embedder, and a whole conversation through it."""

from __future__ import annotations

import numpy as np
import pytest

from moodboard.assistant.engine import Assistant
from moodboard.assistant.parser import Parser
from moodboard.assistant.retrieval import RetrievalQuery, pin_passes
from moodboard.assistant.search_retriever import SearchServiceRetriever
from moodboard.assistant.vocabulary import Vocabulary
from moodboard.catalog.sessions import CatalogSessionStore
from moodboard.catalog.store import CatalogStore
from moodboard.core.query import Filters
from moodboard.core.records import Pin
from moodboard.core.settings import IndexSettings
from moodboard.embed.fake import FakeEmbedder
from moodboard.index.attributes import ItemAttrs
from moodboard.index.bundle import SearchIndex
from moodboard.index.lexical import LexicalDoc, LexicalIndex
from moodboard.index.vector_index import make_index
from moodboard.rank.search import SearchService


@pytest.fixture(scope="module")
def adapter(pins: list[Pin], vocab: Vocabulary, tmp_path_factory: pytest.TempPathFactory) -> SearchServiceRetriever:
    enc = FakeEmbedder(dim=32)
    settings = IndexSettings(facet_pool=50)
    vectors = make_index(settings, enc.dim, enc.model_id)
    vectors.add(
        np.array([p.id for p in pins]), enc.embed_texts([p.title for p in pins]), [ItemAttrs.from_pin(p) for p in pins]
    )
    lex = LexicalIndex.create(tmp_path_factory.mktemp("lex") / "lex.sqlite")
    lex.add(LexicalDoc.from_pin(p) for p in pins)
    bundle = SearchIndex(vectors, lex, {})
    by_id = {p.id: p for p in pins}
    service = SearchService(lambda: bundle, lambda: enc, settings, lambda ids: {i: by_id[i] for i in ids})
    return SearchServiceRetriever(
        service, lambda ids: {i: by_id[i] for i in ids}, vocab.audience_field, vocab.audience_values
    )


def test_filters_the_index_cannot_express_are_applied(adapter: SearchServiceRetriever, vocab: Vocabulary) -> None:
    f = Filters(
        categories=("Jeans", "Shirts"),
        exclude_colours=("Black",),
        audience="women",
        attributes={"usage": ("Casual",)},
        price_max=80,
    )
    hits = adapter.retrieve(RetrievalQuery(texts=(("striped", 1.0),), filters=f, k=10))
    assert hits
    assert all(pin_passes(h.pin, f, vocab.audience_field, vocab.audience_values) for h in hits)


def test_pins_negatives_and_exclusions(adapter: SearchServiceRetriever) -> None:
    hits = adapter.retrieve(
        RetrievalQuery(pins=((7, 2.0),), negative_pins=((8, 1.0),), exclude_ids=frozenset({7}), k=5)
    )
    assert hits and 7 not in {h.pin.id for h in hits} and 8 not in {h.pin.id for h in hits}
    assert adapter.retrieve(RetrievalQuery()) == []


def test_conversation_through_the_search_service(
    adapter: SearchServiceRetriever, parser: Parser, store: CatalogStore
) -> None:
    assistant = Assistant(adapter, parser, CatalogSessionStore(store))
    sid = assistant.start().id
    r = assistant.respond(sid, "leather jeans for women, not white")
    assert r.results and all(x.category == "Jeans" and x.color != "White" for x in r.results)
    r = assistant.respond(sid, "under $40")
    assert r.results and all(x.price is not None and x.price <= 40 for x in r.results)
    r = assistant.respond(sid, "an outfit for the office")
    assert len(r.sections) >= 3 and all(s.results for s in r.sections)


def test_category_filtered_sections_are_not_gated_by_the_cutoff(adapter: SearchServiceRetriever) -> None:
    """Regression: goal words ("beach wedding tops") scored below the text cutoff and emptied whole
    sections of a cascade on the full Myntra index; a category filter already guarantees relevance."""
    section = RetrievalQuery(texts=(("beach wedding", 1.0),), filters=Filters(categories=("Shirts",)))
    assert adapter.request(section).cutoff is False
    free_text = RetrievalQuery(texts=(("beach wedding", 1.0),))
    assert adapter.request(free_text).cutoff is True
