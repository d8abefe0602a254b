"""The one composition root: `build_runtime(settings)` builds every serving object, for the API and the CLI.

`moodboard serve`, `moodboard chat`, `moodboard search` and `moodboard recommend` all get their search
service, assistant and taste graph from here, so a conversation in the terminal and through the HTTP
API ranks with the same engine over the same catalog. Heavy parts are `Lazy`: built on first use,
thread-safe, replaceable in tests (`set`) and droppable after a snapshot swap (`reset`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Generic, TypeVar

from moodboard.catalog.pin_cache import PinCache
from moodboard.catalog.store import CatalogStore
from moodboard.core.errors import MoodboardError
from moodboard.core.settings import EmbedSettings, Settings
from moodboard.core.sizing import torch_threads
from moodboard.index.bundle import IndexHolder
from moodboard.rank.search import SearchService

if TYPE_CHECKING:
    from moodboard.assistant.engine import Assistant
    from moodboard.core.live_snapshot import LiveSnapshot
    from moodboard.core.records import Event
    from moodboard.embed.embedder import Embedder
    from moodboard.graph.live import LiveGraph
    from moodboard.rank.feed import FeedService
    from moodboard.rank.ranker import Ranker
    from moodboard.rank.sequence_source import SequenceSource
    from moodboard.rank.shop_the_look import ShopTheLook

T = TypeVar("T")
log = logging.getLogger(__name__)


class Lazy(Generic[T]):
    """A value built once on first use (thread-safe); `set` injects one, `reset` forgets it."""

    def __init__(self, build: Callable[[], T]) -> None:
        """Remember how to build the value."""
        self._build = build
        self._value: T | None = None
        self._lock = threading.Lock()

    def get(self) -> T:
        """The value, built now if it was not yet."""
        value = self._value
        if value is None:
            with self._lock:
                if self._value is None:
                    self._value = self._build()
                value = self._value
        return value

    def set(self, value: T) -> None:
        """Use `value` from now on (tests inject fakes this way)."""
        with self._lock:
            self._value = value

    def reset(self) -> None:
        """Forget the value; the next `get` builds it again."""
        with self._lock:
            self._value = None

    @property
    def built(self) -> bool:
        """Whether the value exists already."""
        return self._value is not None

    def optional(self) -> T | None:
        """The value, or None when building it fails with a moodboard error (e.g. no snapshot yet)."""
        try:
            return self.get()
        except MoodboardError:
            return None


@dataclass
class Runtime:
    """Everything a server or a command serves with, built by `build_runtime`."""

    settings: Settings
    store: CatalogStore
    embedder: Lazy[Embedder]
    index: IndexHolder
    search: SearchService
    graph: Lazy[LiveGraph]
    assistant: Lazy[Assistant]
    look: Lazy[ShopTheLook]
    pins: PinCache
    feed: Lazy[FeedService]

    def close(self) -> None:
        """Release the store."""
        self.store.close()


def build_live_graph(settings: Settings, store: CatalogStore) -> LiveGraph:
    """The live taste graph over the graph snapshot, pulling fresh events from the store."""
    from moodboard.embed.vectors import vectors_or_none
    from moodboard.graph.live import LiveGraph

    snapshots = settings.snapshots_dir
    return LiveGraph(
        settings.graph, snapshots, fetch_events=store.iter_events, load_vectors=lambda: vectors_or_none(snapshots)
    )


def build_assistant(
    settings: Settings,
    store: CatalogStore,
    search: SearchService,
    *,
    graph: LiveGraph | None,
    look: Callable[[], ShopTheLook] | None = None,
) -> Assistant:
    """The assistant over the one search service: sessions in the catalog database, taste from the graph or boards."""
    from moodboard.assistant.engine import Assistant
    from moodboard.assistant.taste import BoardTaste, GraphTaste
    from moodboard.assistant.understanding import CatalogUnderstanding
    from moodboard.catalog.images import ImageLimits, open_checked
    from moodboard.catalog.sessions import CatalogSessionStore

    limits = ImageLimits(max_file_bytes=settings.api.max_upload_bytes, max_pixels=settings.api.max_upload_pixels)

    def image_check(data: bytes) -> None:
        open_checked(data, limits)

    boards = BoardTaste(store.list_boards)
    a = settings.assistant
    return Assistant(
        search,
        CatalogUnderstanding(settings.assistant, search),
        CatalogSessionStore(
            store,
            ttl_s=a.session_ttl_s,
            sweep_every_s=a.session_sweep_s,
            max_images=a.max_session_images,
            max_image_bytes=a.max_session_image_bytes,
        ),
        taste=GraphTaste(graph, boards) if graph is not None else boards,
        image_check=image_check,
        max_message_chars=settings.assistant.max_message_chars,
        look=look if settings.look.assistant_regions else None,
        region_k=settings.look.assistant_region_k,
    )


def serving_embed_settings(settings: Settings) -> EmbedSettings:
    """The embedder settings a server (or a CLI query) runs with.

    Queries are not catalog items: their features stay out of the on-disk feature cache (it grew without
    bound and its writes were 12 % of a unique-text search); the search service keeps recent ones in
    memory. And the model runtime gets this worker's share of the cores (`serve` runs one worker per core).
    """
    threads = settings.embed.threads or torch_threads(settings.serve)
    return settings.embed.model_copy(update={"feature_cache": False, "threads": threads})


def build_runtime(settings: Settings, store: CatalogStore | None = None) -> Runtime:
    """Build the serving objects for `settings` (heavy ones lazily); nothing is loaded yet."""
    from moodboard.assistant.hints import load_hints
    from moodboard.embed.embedder import make_embedder
    from moodboard.embed.object_crop import crop_to_object

    load_hints(settings.assistant.hints_file)  # a broken hints file stops the start, not the first turn
    settings.ensure_home()
    store = store or CatalogStore.open(
        settings.database_url, echo=settings.database.echo, pool_size=settings.database.pool_size
    )
    serving_embed = serving_embed_settings(settings)
    embedder: Lazy[Embedder] = Lazy(lambda: make_embedder(serving_embed, settings.snapshots_dir))
    index = IndexHolder(settings.snapshots_dir, settings.index)

    # hydration through the ORM was most of a search (BENCHMARKS.md); bounded like every per-process cache
    cache = PinCache(store.get_pins, capacity=settings.serve.pin_cache_size, ttl_s=settings.serve.pin_cache_ttl_s)

    def pins(ids: list[int]) -> dict[int, object]:
        return {p.id: p for p in cache.get_pins(ids)}

    search = SearchService(index.get, embedder.get, settings.index, pins, crop=crop_to_object)  # type: ignore[arg-type]
    graph: Lazy[LiveGraph] = Lazy(lambda: build_live_graph(settings, store))
    look: Lazy[ShopTheLook] = Lazy(lambda: build_look(settings, search))
    assistant: Lazy[Assistant] = Lazy(
        lambda: build_assistant(settings, store, search, graph=graph.optional(), look=look.get)
    )
    feed: Lazy[FeedService] = Lazy(lambda: build_feed(settings, graph))

    def to_sequence(events: Sequence[Event]) -> None:
        # in-process events reach the sequence model's user histories at once (the model is not retrained)
        if feed.built:
            feed.get().record(events)

    store.subscribe(to_sequence)
    return Runtime(settings, store, embedder, index, search, graph, assistant, look, cache, feed)


def build_feed(settings: Settings, graph: Lazy[LiveGraph]) -> FeedService:
    """Feeds and related pins through the one blender, over the live graph, sequence and ranker snapshots."""
    from moodboard.core.live_snapshot import LiveSnapshot
    from moodboard.core.snapshot import verify_snapshot
    from moodboard.rank.feed import FeedService
    from moodboard.rank.ranker import RANKER_KIND, Ranker
    from moodboard.rank.sequence_source import SEQUENCE_KIND, load_sequence_source

    def load_sequence(path: Path) -> SequenceSource:
        verify_snapshot(path)
        return load_sequence_source(path)

    def load_ranker(path: Path) -> Ranker:
        verify_snapshot(path)
        return Ranker.load(path)

    snapshots = settings.snapshots_dir
    sequences = LiveSnapshot(snapshots, SEQUENCE_KIND, load_sequence, missing_hint="run `moodboard train sequence`")
    rankers = LiveSnapshot(snapshots, RANKER_KIND, load_ranker, missing_hint="run `moodboard train ranker`")
    return FeedService(
        lambda: graph.get().recommender(), sequence=lambda: _optional(sequences), ranker=lambda: _optional(rankers)
    )


def _optional(holder: LiveSnapshot[T]) -> T | None:
    """The live snapshot's value, or None when none was built (or none loads)."""
    try:
        return holder.get()
    except MoodboardError:
        return None


def build_look(settings: Settings, search: SearchService) -> ShopTheLook:
    """Shop the look over the one search service with the configured region proposer."""
    from moodboard.embed.regions import make_proposer
    from moodboard.rank.shop_the_look import ShopTheLook

    return ShopTheLook(search, make_proposer(settings.look), settings.look)
