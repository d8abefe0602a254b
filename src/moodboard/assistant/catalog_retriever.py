"""An in-process retriever over the whole catalog: TF-IDF text space plus optional dense vectors.

It serves the assistant when no search index has been built, and is the deterministic reference in
tests. Every pin becomes a sparse TF-IDF row over its title, category, colour and attribute words; a
query is the weighted sum of its positive terms minus its negative terms in that space (the query
algebra of rclip), and "more like pin 7" uses pin 7's own row. When item vectors and an embedder are
given, the same algebra runs in the dense space and the two cosine scores are added. Filters are
vectorised masks over compact columns, with `retrieval.pin_passes` as the reference semantics.
Texts that match no catalog word get no results (an honest empty answer, not random pins); a text-only
query keeps only items sharing a word with it, while with structured filters text only ranks.
"""

from __future__ import annotations

import hashlib
import io
import math
import threading
from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray
from scipy import sparse

from moodboard.assistant.retrieval import Hit, RetrievalQuery, audience_values
from moodboard.assistant.vocabulary import Vocabulary, singular, words
from moodboard.core.arrays import FloatArray
from moodboard.core.errors import ImageError
from moodboard.core.query import Filters
from moodboard.core.records import Pin

if TYPE_CHECKING:
    from moodboard.embed.embedder import Embedder

BoolArray = NDArray[np.bool_]
BROWSE_POOL = 300
"""Candidates (in catalog order) a filters-only browse diversifies over."""
TEXT_CACHE = 4096
"""Query-text vectors kept in memory (oldest dropped first)."""


def stem(word: str) -> str:
    """Crude suffix stripping so 'striped', 'stripes' and 'stripe' share one lexical term.

    '-ing' is left alone on purpose: 'lighting' is not 'light' (a kitchen's lighting is no light tee).
    """
    w = singular(word)
    if len(w) > 5 and w.endswith("ed"):
        w = w[:-2]
    return w[:-1] if len(w) > 3 and w.endswith("e") else w


def _pin_words(pin: Pin) -> list[str]:
    parts = [pin.title, pin.category or "", pin.color or ""]
    parts += [str(v) for v in pin.attributes.values() if isinstance(v, str)]
    return [stem(w) for w in words(" ".join(parts))]


class CatalogRetriever:
    """Brute-force retrieval over all pins held in memory (fine up to ~10^5 pins)."""

    name = "catalog"

    def __init__(
        self,
        pins: Sequence[Pin],
        vocab: Vocabulary,
        vectors: FloatArray | None = None,
        embedder: Embedder | None = None,
    ) -> None:
        """Index `pins`; `vectors` (n, d), aligned with `pins`, enable the dense space."""
        self.pins = list(pins)
        self.vocab = vocab
        self.row_of = {p.id: i for i, p in enumerate(self.pins)}
        self.by_hash = {p.image.content_hash: p.id for p in self.pins if p.image is not None}
        self.vectors = vectors
        self.embedder = embedder
        self._text_cache: dict[str, FloatArray] = {}
        self._cache_lock = threading.Lock()
        self._build_text_space()
        self._build_columns()

    # --- building ------------------------------------------------------------------------------

    def _build_text_space(self) -> None:
        docs = [Counter(_pin_words(p)) for p in self.pins]
        df: Counter[str] = Counter()
        for d in docs:
            df.update(d.keys())
        self.term_index = {t: j for j, t in enumerate(sorted(df))}
        n = max(1, len(docs))
        self.idf = np.array([math.log((1 + n) / (1 + df[t])) + 1.0 for t in sorted(df)], dtype=np.float32)
        rows, cols, vals = [], [], []
        for i, d in enumerate(docs):
            for t, c in d.items():
                rows.append(i)
                cols.append(self.term_index[t])
                vals.append((1.0 + math.log(c)) * self.idf[self.term_index[t]])
        x = sparse.csr_matrix((vals, (rows, cols)), shape=(len(docs), len(self.term_index)), dtype=np.float32)
        norms = np.sqrt(np.asarray(x.multiply(x).sum(axis=1)).ravel())
        self.x = sparse.csr_matrix(sparse.diags(1.0 / np.maximum(norms, 1e-12)) @ x, dtype=np.float32)

    def _build_columns(self) -> None:
        self.price = np.array(
            [float(p.product.price) if p.product.price is not None else np.nan for p in self.pins],
            dtype=np.float32,
        )
        self.colour = np.array([(p.color or "").lower() for p in self.pins], dtype=object)
        self.category = np.array([(p.category or "").lower() for p in self.pins], dtype=object)
        self._attr_cols: dict[str, NDArray[np.object_]] = {}

    def _attr(self, fld: str) -> NDArray[np.object_]:
        if fld not in self._attr_cols:
            self._attr_cols[fld] = np.array([str(p.attributes.get(fld, "")).lower() for p in self.pins], dtype=object)
        return self._attr_cols[fld]

    # --- querying ------------------------------------------------------------------------------

    def mask(self, filters: Filters) -> BoolArray:
        """Which pins pass `filters`, as a boolean array aligned with `self.pins`."""
        m = np.ones(len(self.pins), dtype=bool)
        with np.errstate(invalid="ignore"):
            if filters.price_min is not None:
                m &= self.price >= filters.price_min
            if filters.price_max is not None:
                m &= self.price <= filters.price_max
        if filters.colours:
            m &= np.isin(self.colour, [c.lower() for c in filters.colours])
        if filters.exclude_colours:
            m &= ~np.isin(self.colour, [c.lower() for c in filters.exclude_colours])
        if filters.categories:
            m &= np.isin(self.category, [c.lower() for c in filters.categories])
        if filters.exclude_categories:
            m &= ~np.isin(self.category, [c.lower() for c in filters.exclude_categories])
        for fld, allowed in filters.attributes.items():
            m &= np.isin(self._attr(fld), [a.lower() for a in allowed])
        for fld, refused in filters.exclude_attributes.items():
            m &= ~np.isin(self._attr(fld), [a.lower() for a in refused])
        wanted = audience_values(filters, self.vocab.audience_values)
        if self.vocab.audience_field and wanted:
            m &= np.isin(self._attr(self.vocab.audience_field), [w.lower() for w in wanted])
        return m

    def text_vector(self, text: str) -> NDArray[np.float32]:
        """TF-IDF vector of a query text (dense, length = number of catalog words); zero if no match."""
        v = np.zeros(len(self.term_index), dtype=np.float32)
        for w in words(text):
            j = self.term_index.get(stem(w))
            if j is not None:
                v[j] += self.idf[j]
        n = float(np.linalg.norm(v))
        return v / n if n > 0 else v

    def _pin_row(self, pin_id: int) -> NDArray[np.float32] | None:
        i = self.row_of.get(pin_id)
        return None if i is None else np.asarray(self.x[i].toarray()).ravel()

    def _image_pins(self, images: Sequence[tuple[bytes, float]]) -> list[tuple[int, float]]:
        found = []
        for data, w in images:
            pid = self.by_hash.get(hashlib.sha256(data).hexdigest())
            if pid is not None:
                found.append((pid, w))
        return found

    def retrieve(self, query: RetrievalQuery) -> list[Hit]:
        """Top `query.k` pins passing the filters, scored by sparse (+ dense) query algebra."""
        m = self.mask(query.filters)
        for pid in query.exclude_ids:
            i = self.row_of.get(pid)
            if i is not None:
                m[i] = False
        image_pins = [] if self._dense_ready() else self._image_pins(query.images)
        pos_pins = list(query.pins) + image_pins
        q = np.zeros(len(self.term_index), dtype=np.float32)
        text_matched = False
        for text, w in query.texts:
            tv = self.text_vector(text)
            text_matched |= bool(tv.any())
            q += w * tv
        for text, w in query.negative_texts:
            q -= w * self.text_vector(text)
        for pid, w in pos_pins + list(query.profile_pins):
            row = self._pin_row(pid)
            if row is not None:
                q += w * row
        for pid, w in query.negative_pins:
            row = self._pin_row(pid)
            if row is not None:
                q -= 0.5 * w * row
        has_positive = bool(pos_pins) or text_matched
        scores = np.asarray(self.x @ q).ravel().astype(np.float32)
        dense = self._dense_scores(query, pos_pins)
        if dense is not None:
            scores = scores + dense
            has_positive = True
        if query.texts and not has_positive and not query.pins and query.filters.is_empty():
            return []  # nothing in the catalog matches the words asked for, and nothing else was asked
        if query.texts and not has_positive and not query.images:
            has_positive = True  # soft words the catalog lacks ("linen"); the filters still answer
        if not has_positive and not query.is_empty():
            return []
        if query.texts and not pos_pins and dense is None and query.filters.is_empty():
            m &= scores > 0  # text alone, lexical only: an item must share a word with the query
        return self._top(scores, m, query, pos_pins)

    def _embed_texts(self, texts: list[str]) -> FloatArray:
        """Embed texts, reusing vectors of texts seen before (a session re-sends its terms every turn)."""
        assert self.embedder is not None
        with self._cache_lock:
            known = {t: self._text_cache[t] for t in texts if t in self._text_cache}
        missing = list(dict.fromkeys(t for t in texts if t not in known))
        if missing:
            fresh = dict(zip(missing, self.embedder.embed_texts(missing), strict=True))
            known.update(fresh)
            with self._cache_lock:
                for t, v in fresh.items():
                    if len(self._text_cache) >= TEXT_CACHE:
                        self._text_cache.pop(next(iter(self._text_cache)))
                    self._text_cache[t] = v
        return np.stack([known[t] for t in texts])

    def clear_cache(self) -> None:
        """Forget cached query-text vectors (benchmarks use this to measure cold conversations)."""
        with self._cache_lock:
            self._text_cache.clear()

    def _dense_ready(self) -> bool:
        return self.vectors is not None and self.embedder is not None

    def _dense_scores(self, query: RetrievalQuery, pos_pins: list[tuple[int, float]]) -> FloatArray | None:
        if self.vectors is None or self.embedder is None:
            return None
        vecs = self.vectors
        qd = np.zeros(vecs.shape[1], dtype=np.float32)
        texts = [t for t, _ in query.texts] + [t for t, _ in query.negative_texts]
        if texts:
            emb = self._embed_texts(texts)  # (t, d)
            for i, (_t, w) in enumerate(query.texts):
                qd += w * emb[i]
            for j, (_t, w) in enumerate(query.negative_texts):
                qd -= 0.5 * w * emb[len(query.texts) + j]
        if query.images:
            from PIL import Image, UnidentifiedImageError

            try:
                imgs = [Image.open(io.BytesIO(data)).convert("RGB") for data, _w in query.images]
            except (UnidentifiedImageError, OSError) as exc:
                raise ImageError(f"cannot decode the uploaded image: {exc}", "upload a JPEG or PNG") from exc
            emb = self.embedder.embed_images(imgs)
            for j, (_d, w) in enumerate(query.images):
                qd += w * emb[j]
        for pid, w in pos_pins + list(query.profile_pins):
            row = self.row_of.get(pid)
            if row is not None:
                qd += w * vecs[row]
        for pid, w in query.negative_pins:
            row = self.row_of.get(pid)
            if row is not None:
                qd -= 0.5 * w * vecs[row]
        n = float(np.linalg.norm(qd))
        if n == 0:
            return None
        return np.asarray(vecs @ (qd / n), dtype=np.float32)  # (n,)

    def _top(
        self, scores: FloatArray, m: BoolArray, query: RetrievalQuery, pos_pins: list[tuple[int, float]]
    ) -> list[Hit]:
        idx = np.flatnonzero(m)
        if idx.size == 0:
            return []
        k = min(query.k, idx.size)
        s = scores[idx]
        if not np.any(s):
            order = self._browse_order(idx, k)
        else:
            part = np.argpartition(-s, k - 1)[:k] if k < idx.size else np.arange(idx.size)
            order = part[np.lexsort((idx[part], -s[part]))]
        hits = []
        sources = ("lexical", "dense") if self._dense_ready() else ("lexical",)
        for j in order:
            i = int(idx[j])
            hits.append(
                Hit(
                    pin=self.pins[i],
                    score=float(s[j]),
                    sources=sources,
                    contributions=self._contributions(i, query, pos_pins),
                )
            )
        return hits

    def _browse_order(self, idx: NDArray[np.int64], k: int) -> NDArray[np.int64]:
        """Order for a query of filters alone (every score 0): greedy max-min diversity over a pool.

        Without it a browse lists catalog order, often the same product in several sizes in a row.
        """
        pool = np.arange(min(idx.size, BROWSE_POOL))
        rows = self.x[idx[pool]]  # (p, V) unit rows
        sims = np.asarray((rows @ rows.T).todense(), dtype=np.float32)  # (p, p)
        chosen = [0]
        closest = sims[0].copy()
        for _ in range(1, min(k, pool.size)):
            closest[chosen] = np.inf
            nxt = int(np.argmin(closest))  # the item least like anything chosen (ties: catalog order)
            chosen.append(nxt)
            closest = np.maximum(closest, sims[nxt])
        return pool[chosen]

    def similarity(self, a: int, b: int) -> float:
        """Similarity of two pins in the retriever's space (dense if present, else TF-IDF)."""
        i, j = self.row_of[a], self.row_of[b]
        if self.vectors is not None:
            return float(self.vectors[i] @ self.vectors[j])
        return float(self.x[i].multiply(self.x[j]).sum())

    def _contributions(self, i: int, query: RetrievalQuery, pos_pins: list[tuple[int, float]]) -> dict[str, float]:
        out: dict[str, float] = {}
        pid = self.pins[i].id
        for ref, _w in pos_pins:
            if ref in self.row_of and ref != pid:
                out[f"pin:{ref}"] = self.similarity(pid, ref)
        for ref, _w in query.profile_pins:
            if ref in self.row_of and ref != pid:
                out[f"profile:{ref}"] = self.similarity(pid, ref)
        return out

    def neighbours(self, pin_id: int, k: int) -> list[int]:
        """The `k` pins most similar to `pin_id` in this retriever's space (itself excluded)."""
        i = self.row_of[pin_id]
        if self.vectors is not None:
            s = self.vectors @ self.vectors[i]
        else:
            s = np.asarray(self.x @ self.x[i].T.toarray()).ravel()
        s[i] = -np.inf
        top = np.argsort(-s, kind="stable")[:k]
        return [self.pins[int(t)].id for t in top]
