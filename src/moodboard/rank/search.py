"""The search service: text, image, pin and vector queries with weights and negatives, filters, hybrid
fusion, a calibrated relevance cutoff and facets.

Query algebra (as in rclip): `q = normalise(sum_i w_i * e(positive_i) / sum_i w_i - w_neg * mean_j e(negative_j))`.
Ranking uses `q`; relevance (the cutoff) is judged on the positive part alone, so a negative term
reorders results but never makes an irrelevant pin pass. Lexical BM25 and vector results are fused
with weighted reciprocal rank fusion; facets count the whole retrieved, filtered, relevant pool.

Encoders and the photo crop are injected (`QueryEncoder` is structural: any embedder with these members
fits), so this module does not import `moodboard.embed`. Query-text vectors and query-photo vectors
are cached (by text, and by the photo's content digest), so a conversation that re-sends its terms
every turn embeds each once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

import numpy as np

from moodboard.core.arrays import FloatArray, IntArray
from moodboard.core.errors import DependencyError, InvalidInputError, ModelMismatchError, SnapshotError
from moodboard.core.settings import IndexSettings
from moodboard.index.bundle import SearchIndex
from moodboard.index.fusion import fuse
from moodboard.rank.category_vote import category_vote_rerank
from moodboard.rank.lexical_cache import LexicalCache
from moodboard.rank.request import MODES, Mode, PinLookup, QueryImage, SearchHit, SearchRequest, SearchResponse
from moodboard.rank.vector_cache import TextVectorCache, VectorCache

_MAX_TEXT = 1000


class QueryEncoder(Protocol):
    """What search needs from an embedder: L2-normalised (n, d) float32 batches and the model id."""

    model_id: str
    dim: int

    def embed_texts(self, texts: list[str]) -> FloatArray:
        """Embed texts."""
        ...

    def embed_images(self, images: list[Any]) -> FloatArray:
        """Embed decoded images."""
        ...


def should_crop_photo(policy: str, packshot_fraction: float | None) -> bool:
    """Whether query photos are cropped to their main object: `always`, `never`, or `auto` (packshot catalogs)."""
    if policy == "always":
        return True
    if policy == "never":
        return False
    return packshot_fraction is not None and packshot_fraction >= 0.5


class SearchService:
    """Answers `SearchRequest`s against the live index with an injected query encoder."""

    def __init__(
        self,
        index: Callable[[], SearchIndex],
        encoder: Callable[[], QueryEncoder] | None,
        settings: IndexSettings,
        pins: PinLookup | None = None,
        crop: Callable[[Any], Any] | None = None,
    ) -> None:
        """Take providers for the index and encoder (called per request, so snapshots can swap), and the
        photo crop to apply to uploads for packshot catalogs (injected: rank does not import embed)."""
        self._index = index
        self._encoder = encoder
        self._crop = crop
        self.settings = settings
        self._pins = pins
        self._text_cache = TextVectorCache(settings.text_cache_size)
        self._photo_cache = VectorCache(settings.photo_cache_size)
        self._lexical = LexicalCache(settings.lexical_cache_size)  # lexical answers per snapshot (issue 12)

    def current_index(self) -> SearchIndex:
        """The live index snapshot (raises `NotFoundError` when none was built)."""
        return self._index()

    def clear_caches(self) -> None:
        """Forget cached query vectors and lexical answers (benchmarks start each conversation cold)."""
        self._text_cache = TextVectorCache(self._text_cache.capacity)
        self._photo_cache = VectorCache(self._photo_cache.capacity)
        self._lexical = LexicalCache(self._lexical.capacity)

    # ---- validation and query algebra -------------------------------------------------------------
    def _validate(self, req: SearchRequest) -> None:
        text = req.text.strip()
        has_more = bool(req.texts or req.images or req.pins)
        if not (text or has_more or req.image is not None or req.pin_id is not None or req.vector is not None):
            raise InvalidInputError(
                "the query is empty", "give text, an image, a pin id or a vector to search for", field="text"
            )
        if len(req.text) > _MAX_TEXT:
            raise InvalidInputError(f"query text is over {_MAX_TEXT} characters", "shorten it", field="text")
        if not 1 <= req.k <= self.settings.max_k:
            raise InvalidInputError(
                f"k={req.k} is out of range", f"ask for 1..{self.settings.max_k} results", field="k"
            )
        if req.mode not in MODES:
            raise InvalidInputError(f"unknown mode {req.mode!r}", f"use one of {', '.join(MODES)}", field="mode")
        if req.mode == "lexical" and not self._lexical_text(req):
            raise InvalidInputError("lexical search needs query text", "add text or use mode=vector", field="text")
        for name in ("text_weight", "image_weight", "pin_weight", "negative_weight", "vector_weight", "lexical_weight"):
            w = getattr(req, name)
            if w is None:
                continue
            if not (np.isfinite(w) and 0 <= w <= 10):
                raise InvalidInputError(f"{name}={w} must be within 0..10", "use e.g. 1.0", field=name)

    def _encoder_for(self, index: SearchIndex) -> QueryEncoder:
        if self._encoder is None:
            raise DependencyError("no query encoder is configured", "configure an embedder (settings.embed)")
        encoder = self._encoder()
        index.check_model(encoder.model_id)
        return encoder

    def _check_dim(self, vecs: FloatArray, index: SearchIndex, what: str) -> FloatArray:
        arr = np.asarray(vecs, dtype=np.float32)
        if arr.ndim != 2 or arr.shape[1] != index.vectors.dim:
            raise ModelMismatchError(
                f"{what} has dimension {arr.shape[-1]}, the index has {index.vectors.dim}",
                "rebuild the index with the current embedder",
            )
        return arr

    def _query_photo(self, image: Any, index: SearchIndex) -> Any:
        """The uploaded image as it is embedded: cropped to its main object for a packshot catalog."""
        if self._crop is None or not should_crop_photo(self.settings.photo_object_crop, index.packshot_fraction):
            return image
        return self._crop(image)

    @staticmethod
    def _lexical_text(req: SearchRequest) -> str:
        return (req.text if req.lexical_text is None else req.lexical_text).strip()

    def _photo_vectors(self, images: list[QueryImage | Any], index: SearchIndex) -> FloatArray:
        """Vectors of query photos, cached by digest (a conversation re-sends its photo every turn)."""
        enc = self._encoder_for(index)
        crop = should_crop_photo(self.settings.photo_object_crop, index.packshot_fraction)
        keyed = [(f"{im.digest}:{int(crop)}", im.image) if isinstance(im, QueryImage) else (None, im) for im in images]
        out: list[FloatArray | None] = [self._photo_cache.get(enc.model_id, k) if k else None for k, _ in keyed]
        todo = [i for i, v in enumerate(out) if v is None]
        if todo:
            fresh = enc.embed_images([self._query_photo(keyed[i][1], index) for i in todo])
            fresh = self._check_dim(fresh, index, "image")
            for i, vec in zip(todo, fresh, strict=True):
                out[i] = vec
                key = keyed[i][0]
                if key:
                    self._photo_cache.put(enc.model_id, key, vec)
        return np.stack([v for v in out if v is not None])

    def embed_photos(self, images: list[Any]) -> FloatArray:
        """(n, d) vectors of decoded images in one batch, as the live index's model embeds them (no crop)."""
        index = self._index()
        if not images:
            return np.zeros((0, index.vectors.dim), dtype=np.float32)
        return self._check_dim(self._encoder_for(index).embed_images(images), index, "image")

    def model_id(self) -> str:
        """Model id of the live index."""
        return self._index().model_id

    def query_vectors(self, req: SearchRequest, index: SearchIndex) -> tuple[FloatArray | None, str]:
        """(ranking vector, positive-only vector) as one (2, d) array, and the modality for the cutoff."""
        parts: list[tuple[float, FloatArray]] = []
        modality = "image"
        texts = [(t.strip(), w) for t, w in ((req.text, req.text_weight), *req.texts) if t.strip()]
        if texts and req.mode != "lexical":
            enc = self._encoder_for(index)
            vecs = self._check_dim(self._text_cache.embed(enc, [t for t, _ in texts]), index, "text query")
            parts += [(w, v) for (_, w), v in zip(texts, vecs, strict=True)]
            modality = "text"
        photos = [(req.image, req.image_weight)] if req.image is not None else []
        photos += list(req.images)
        if photos:
            vecs = self._photo_vectors([im for im, _ in photos], index)
            parts += [(w, v) for (_, w), v in zip(photos, vecs, strict=True)]
            modality = "image" if modality == "image" else "mixed"
        pins = [(req.pin_id, req.pin_weight)] if req.pin_id is not None else []
        pins += list(req.pins)
        if pins:
            had = bool(parts)
            vecs = index.vectors.get_vectors(np.array([p for p, _ in pins], dtype=np.int64))
            parts += [(w, v) for (_, w), v in zip(pins, vecs, strict=True)]
            modality = modality if had else "pin"
        if req.vector is not None:
            with np.errstate(over="ignore"):  # a value beyond float32 becomes inf and is refused just below
                vec = np.asarray(req.vector, dtype=np.float32)
            if vec.ndim != 1 or vec.shape[0] != index.vectors.dim or not np.isfinite(vec).all():
                raise InvalidInputError(
                    f"query vector has shape {vec.shape}; the index expects {index.vectors.dim} finite floats",
                    f"send a vector from model {index.model_id!r}",
                    field="vector",
                )
            parts.append((1.0, vec / max(float(np.linalg.norm(vec)), 1e-12)))
            modality = "vector"
        if not parts:
            return None, modality
        total = sum(w for w, _ in parts)
        if total <= 0:
            raise InvalidInputError("all positive weights are zero", "give a positive term a weight > 0")
        positive = sum(w * v for w, v in parts) / total
        negatives: list[FloatArray] = []
        if req.negative_text:
            negatives.extend(self._text_cache.embed(self._encoder_for(index), list(req.negative_text)))
        if req.negative_pin_ids:
            negatives.extend(index.vectors.get_vectors(np.array(req.negative_pin_ids, dtype=np.int64)))
        ranking = positive - req.negative_weight * np.mean(negatives, axis=0) if negatives else positive
        out = np.stack([ranking, positive]).astype(np.float32)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        if (norms < 1e-6).any():
            raise InvalidInputError("the query terms cancel out", "lower negative_weight or change the terms")
        return out / norms, modality

    # ---- search ------------------------------------------------------------------------------------
    def _cutoff(self, index: SearchIndex, modality: str) -> tuple[float, float] | None:
        """(gate, floor) for this query modality from the index's calibration, or None."""
        cal = index.calibration
        if modality in ("pin", "vector"):
            return None  # a catalog pin always has neighbours; raw vectors are the caller's business
        names: tuple[str, ...] = ("text", "image") if modality == "mixed" else (modality,)
        if not self.settings.cutoff_images:
            # Measured on a 2,000-item Myntra index: the image gate emptied 64 of 100 photos taken by
            # people (they score like noise images), so image evidence is not gated by default.
            names = tuple(n for n in names if n != "image")
        found = [cal[n] for n in names if isinstance(cal.get(n), dict) and "cutoff" in cal[n]]
        if not found:
            return None
        gate = min(float(c["cutoff"]) for c in found)
        floor = min(float(c.get("floor", c["cutoff"])) for c in found)
        return gate, min(floor, gate)

    def search(self, req: SearchRequest) -> SearchResponse:
        """Run one query.

        Raises:
            InvalidInputError: empty query, k out of range, bad weights or vector.
            ModelMismatchError: the encoder or vector does not match the index's model.
            NotFoundError: a query pin id is not indexed.
        """
        self._validate(req)
        index = self._index()
        if req.mode == "lexical" and index.lexical is None:
            raise SnapshotError("this index snapshot has no lexical index", "rebuild it with `moodboard index`")
        queries, modality = self.query_vectors(req, index)
        pool = min(max(req.k, self.settings.facet_pool), self.settings.max_k)
        flt = None if req.filters.is_empty() else req.filters
        rankings: dict[str, tuple[IntArray, FloatArray]] = {}
        if queries is not None:
            ids, scores = index.vectors.search(queries[:1], pool, flt)
            keep = ids[0] >= 0
            rankings["vector"] = self._category_vote(index, ids[0][keep], scores[0][keep])
        text = self._lexical_text(req)
        full_match: set[int] = set()
        if text and req.mode != "vector" and index.lexical is not None:
            # speed (issue 12): cached per snapshot; without filters 2x pool is enough to fill the pool
            lex_k = 2 * pool if req.filters.is_empty() else max(4 * pool, 1000)
            lex_ids, lex_scores = self._lexical.search(index.lexical, text, lex_k, " ".join(req.negative_text))
            ok = index.vectors.allowed(lex_ids, req.filters)
            lex_ids, lex_scores = lex_ids[ok][:pool], lex_scores[ok][:pool]
            rankings["lexical"] = (lex_ids, lex_scores)
            full_match = set(self._lexical.matches_all(index.lexical, text, lex_ids).tolist())
        if req.mode == "vector":
            rankings.pop("lexical", None)
        if req.mode == "lexical":
            rankings.pop("vector", None)
        if req.exclude_ids:
            out = np.array(sorted(req.exclude_ids), dtype=np.int64)
            rankings = {k: (ids[~np.isin(ids, out)], sc[~np.isin(ids, out)]) for k, (ids, sc) in rankings.items()}
        levels = self._cutoff(index, modality) if req.cutoff and queries is not None else None
        below = 0
        if levels is not None:
            rankings, below = self._apply_cutoff(rankings, index, queries, levels, full_match)
        weights = {
            "vector": self.settings.hybrid_vector_weight if req.vector_weight is None else req.vector_weight,
            "lexical": self.settings.hybrid_lexical_weight if req.lexical_weight is None else req.lexical_weight,
        }
        fused = fuse(rankings, weights, k=self.settings.rrf_k)  # the pool as arrays; records for the top k only
        single = len(rankings) == 1
        facets = index.vectors.facet_counts(fused.ids, req.facets) if req.facets else {}
        top = fused.hits(req.k)
        pins = self._pins([h.pin_id for h in top]) if self._pins and top else {}
        hits = [
            SearchHit(
                h.pin_id,
                next(iter(h.sources.values())).score if single else h.score,
                {s: {"rank": hit.rank, "score": round(hit.score, 6)} for s, hit in h.sources.items()},
                pins.get(h.pin_id),
            )
            for h in top
        ]
        return SearchResponse(hits, facets, levels[0] if levels else None, below, index.model_id)

    def _category_vote(self, index: SearchIndex, ids: IntArray, scores: FloatArray) -> tuple[IntArray, FloatArray]:
        """Re-order by the categories of the top vector results (`category_vote`); a no-op at weight 0."""
        weight = self.settings.category_vote_weight
        if weight <= 0 or ids.shape[0] == 0:
            return ids, scores
        codes = index.vectors.attribute_codes(ids, "category")
        return category_vote_rerank(ids, scores, codes, self.settings.category_vote_depth, weight)

    @staticmethod
    def _apply_cutoff(
        rankings: dict[str, tuple[IntArray, FloatArray]],
        index: SearchIndex,
        queries: FloatArray | None,
        levels: tuple[float, float],
        full_match: set[int],
    ) -> tuple[dict[str, tuple[IntArray, FloatArray]], int]:
        """Keep candidates that every query word matched lexically (relevant by construction), plus,
        when the best positive-only similarity reaches the gate, those at or above the floor."""
        assert queries is not None
        candidates = np.unique(np.concatenate([ids for ids, _ in rankings.values()] or [np.zeros(0, np.int64)]))
        if candidates.shape[0] == 0:
            return rankings, 0
        present = index.vectors.contains(candidates)
        sims = np.full(candidates.shape[0], -np.inf, dtype=np.float32)
        if present.any():
            sims[present] = index.vectors.get_vectors(candidates[present]) @ queries[1]
        gate, floor = levels
        passed = sims >= floor if sims.max() >= gate else np.zeros(sims.shape[0], dtype=bool)
        relevant = set(candidates[passed].tolist()) | full_match
        out = {}
        for source, (ids, scores) in rankings.items():
            keep = np.array([i in relevant for i in ids.tolist()], dtype=bool)
            out[source] = (ids[keep], scores[keep])
        return out, int(candidates.shape[0] - len(relevant & set(candidates.tolist())))


__all__ = [  # the records and caches live in rank/request.py and rank/vector_cache.py; callers import them here
    "MODES",
    "Mode",
    "PinLookup",
    "QueryEncoder",
    "QueryImage",
    "SearchHit",
    "SearchRequest",
    "SearchResponse",
    "SearchService",
    "TextVectorCache",
    "VectorCache",
    "should_crop_photo",
]
