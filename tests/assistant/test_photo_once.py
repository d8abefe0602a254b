"""A photo turn on a goal cascade embeds the photo once, however many sections search with it (review step 1:
the photo used to be decoded, cropped and embedded again for every section and every later turn)."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from moodboard.assistant.engine import Assistant
from moodboard.assistant.understanding import CatalogUnderstanding
from moodboard.catalog.sessions import CatalogSessionStore
from moodboard.catalog.store import CatalogStore
from moodboard.core.records import Pin
from moodboard.core.settings import IndexSettings, load_settings
from moodboard.embed.fake import FakeEmbedder
from moodboard.index.bundle import SearchIndex
from moodboard.rank.search import SearchService


class CountingEmbedder(FakeEmbedder):
    """The fake embedder, counting the images it embeds."""

    images = 0

    def embed_images(self, images: Any) -> Any:
        type(self).images += len(images)
        return super().embed_images(images)


def test_a_photo_turn_on_a_cascade_embeds_the_photo_once(
    index: SearchIndex, pins: list[Pin], store: CatalogStore, tmp_path: Path
) -> None:
    by_id = {p.id: p for p in pins}
    enc = CountingEmbedder(dim=32)
    service = SearchService(lambda: index, lambda: enc, IndexSettings(facet_pool=200), lambda ids: by_id)
    settings = load_settings(home=tmp_path / "home")
    assistant = Assistant(service, CatalogUnderstanding(settings.assistant, service), CatalogSessionStore(store))
    sid = assistant.start().id
    plan = assistant.respond(sid, "help me plan an outfit for a party")
    assert len(plan.sections) >= 2, plan.message
    photo = io.BytesIO()
    Image.fromarray(np.full((64, 48, 3), (180, 30, 40), np.uint8)).save(photo, format="JPEG")
    CountingEmbedder.images = 0
    reply = assistant.respond(sid, "", photo.getvalue())
    assert len(reply.sections) >= 2 and any(s.results for s in reply.sections)
    assert CountingEmbedder.images == 1
    assistant.respond(sid, "cheaper")  # a later turn re-sends the photo's term: its vector is cached
    assert CountingEmbedder.images == 1
