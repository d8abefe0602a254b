"""Distributed vector-database backend: a Milvus collection behind `VectorIndex` (pymilvus `MilvusClient`).

Why Milvus, measured (`benchmarks/vector_backends.py`, figures in BENCHMARKS.md): both candidates' test
modes are pure Python today, but Milvus Lite keeps real scalar (`INVERTED`) indexes and per-segment faiss
HNSW indexes, and speaks the Milvus gRPC protocol even for a local `.db` file (it starts an in-process
server on 127.0.0.1), so tests exercise the same client code and wire protocol as a cluster. Qdrant's
local mode ignores payload indexes (it warns so) and scanned 50k points per filtered query at 2.5 QPS
against Milvus Lite's 18 QPS single-query (364 QPS batched), both at recall 1.0 on 1 % selectivity.

Where the data lives: in the collection, not in this process. `index.milvus.uri` names the engine: a
`.db` path (Milvus Lite, embedded) or `http://host:19530` (Milvus standalone or distributed, Zilliz).
Every `create()` makes a new collection, so each index snapshot names its own collection; `save()` writes
only that pointer. Filter attributes are multi-valued arrays (`milvus_filters.py`), so every filter the
embedded backends accept works here with the same meaning; filters are Milvus boolean expressions
evaluated inside the engine's search (pre-filtering), so a 1 %-selective filter keeps full recall. The
names of the other attribute fields live in the collection's properties, so every client knows them.
"""

from __future__ import annotations

import json
import logging
import math
import uuid
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from moodboard.core.arrays import FloatArray, IntArray
from moodboard.core.errors import ConfigError, DependencyError, InvalidInputError, NotFoundError, SnapshotError
from moodboard.core.query import Filters
from moodboard.core.settings import IndexSettings
from moodboard.index.attributes import CODE_FIELDS, FACET_FIELDS, BoolArray, ItemAttrs, price_buckets
from moodboard.index.milvus_filters import (
    ELEMENT_CHARS,
    EXTRA,
    MAX_TOKENS,
    MAX_VALUES,
    SCHEMA_VERSION,
    VALUE_CHARS,
    field_values,
    filter_expression,
    row_columns,
)
from moodboard.index.vector_index import as_ids, check_vectors

log = logging.getLogger(__name__)

_VECTOR = "vector"
_QUERY_CHUNK = 1000  # ids per `id in [...]` expression
_MAX_EF = 4096
_FIELDS_PROPERTY = "moodboard.attribute_fields"  # JSON list of the other attribute fields' names
_SCHEMA_PROPERTY = "moodboard.schema"


def _pymilvus() -> Any:
    try:
        import pymilvus
    except ImportError as exc:
        raise DependencyError("pymilvus is not installed", 'pip install "moodboard[milvus]"') from exc
    return pymilvus


def _ids_expression(ids: Sequence[int], extra: str = "") -> str:
    expr = f"id in [{','.join(str(int(i)) for i in ids)}]"
    return f"{expr} and ({extra})" if extra else expr


class MilvusIndex:
    """`VectorIndex` over one Milvus collection (inner product on L2-normalised vectors, HNSW)."""

    backend = "milvus"

    def __init__(self, settings: IndexSettings, dim: int, model_id: str, collection: str, uri: str) -> None:
        """Attach to `collection` at `uri` (use `create` or `load`)."""
        if dim < 1:
            raise InvalidInputError(f"index dimension must be positive, got {dim}", "pass the embedder's dim")
        self.settings = settings
        self.dim = int(dim)
        self.model_id = model_id
        self.collection = collection
        self.uri = uri
        self._client = _pymilvus().MilvusClient(uri=uri, token=settings.milvus.token or "", db_name=settings.milvus.db)
        self._codes: dict[str, dict[str, int]] = {}  # field -> value -> code, for `attribute_codes`
        self._selectivity: dict[str, float] = {}  # filter expression -> fraction kept; cleared on writes
        self._fields: set[str] = set(CODE_FIELDS)  # every field with a column; others join from properties

    # ---- lifecycle --------------------------------------------------------------------------------
    @staticmethod
    def _uri(settings: IndexSettings) -> str:
        uri = settings.milvus.uri
        if not uri:
            raise ConfigError(
                "index.backend is milvus but index.milvus.uri is empty",
                "set MOODBOARD_INDEX__MILVUS__URI to http://<host>:19530 (a cluster) or a .db path (Milvus Lite)",
            )
        if "://" not in uri:
            return str(Path(uri).expanduser().resolve())
        return uri

    @classmethod
    def create(cls, settings: IndexSettings, dim: int, model_id: str) -> MilvusIndex:
        """Create an empty collection (named `<prefix>_<random>`) with HNSW and scalar indexes."""
        name = f"{settings.milvus.collection_prefix}_{uuid.uuid4().hex[:16]}"
        index = cls(settings, dim, model_id, name, cls._uri(settings))
        index._create_collection()
        return index

    def _create_collection(self) -> None:
        data_type = _pymilvus().DataType
        client = self._client
        schema = client.create_schema(auto_id=False, enable_dynamic_field=False)
        schema.add_field("id", data_type.INT64, is_primary=True)
        schema.add_field(_VECTOR, data_type.FLOAT_VECTOR, dim=self.dim)
        schema.add_field("price", data_type.FLOAT)
        schema.add_field("has_price", data_type.BOOL)
        for name in CODE_FIELDS:  # every value of the field, in order (a category path's levels)
            array = {"element_type": data_type.VARCHAR, "max_capacity": MAX_VALUES, "max_length": VALUE_CHARS}
            schema.add_field(name, data_type.ARRAY, **array)
        array = {"element_type": data_type.VARCHAR, "max_capacity": MAX_TOKENS, "max_length": ELEMENT_CHARS}
        schema.add_field(EXTRA, data_type.ARRAY, **array)  # ["field","value"] tokens of the other fields
        params = client.prepare_index_params()
        params.add_index(
            _VECTOR,
            index_type="HNSW",
            metric_type="IP",
            params={"M": self.settings.hnsw_m, "efConstruction": self.settings.hnsw_ef_construction},
        )
        params.add_index("price", index_type="INVERTED")
        properties = {_SCHEMA_PROPERTY: SCHEMA_VERSION, _FIELDS_PROPERTY: "[]"}
        client.create_collection(self.collection, schema=schema, consistency_level="Strong", properties=properties)
        # sync=False: the engine builds indexes in the background (pymilvus otherwise polls 0.5 s per index)
        client.create_index(self.collection, params, sync=False)
        self._index_arrays()
        client.load_collection(self.collection)

    def _index_arrays(self) -> None:
        """`INVERTED` indexes on the attribute arrays, where the engine has them (the Milvus server documents them).

        Milvus Lite has no scalar index on arrays; there the filter is evaluated row by row inside the
        engine: still exact (recall holds), only slower (BENCHMARKS.md, "Vector backends").
        """
        milvus_exception = _pymilvus().exceptions.MilvusException
        rpc_log = logging.getLogger("pymilvus.decorators")  # logs every refused call as an error, with a trace
        level = rpc_log.level
        rpc_log.setLevel(logging.CRITICAL)
        try:
            for name in (*CODE_FIELDS, EXTRA):
                params = self._client.prepare_index_params()
                params.add_index(name, index_type="INVERTED")
                self._client.create_index(self.collection, params, sync=False)
        except milvus_exception as exc:  # the engine refuses every array alike
            log.info("no scalar index on the attribute arrays of %s: %s", self.collection, exc)
        finally:
            rpc_log.setLevel(level)

    def drop(self) -> None:
        """Delete the collection from the engine (an index snapshot that names it becomes unloadable)."""
        self._client.drop_collection(self.collection)

    # ---- validation -------------------------------------------------------------------------------
    @staticmethod
    def _as_ids(ids: Any) -> IntArray:
        return as_ids(ids)

    def _check_vectors(self, vectors: Any, n: int | None, what: str) -> FloatArray:
        return check_vectors(vectors, n, what, self.dim, self.model_id)

    def _check_k(self, k: int) -> int:
        if not isinstance(k, int | np.integer) or k < 1 or k > self.settings.max_k:
            raise InvalidInputError(
                f"k={k} is out of range", f"ask for 1..{self.settings.max_k} results (index.max_k)", field="k"
            )
        return int(k)

    # ---- mutations --------------------------------------------------------------------------------
    def add(self, ids: IntArray, vectors: FloatArray, attrs: Sequence[ItemAttrs] | None = None) -> None:
        """Upsert items; an id that already exists is replaced (vector and attributes).

        Every row is checked before the first is written, so bad input leaves the collection untouched.
        """
        id_arr = self._as_ids(ids)
        vecs = self._check_vectors(vectors, id_arr.shape[0], "vectors")
        if np.unique(id_arr).shape[0] != id_arr.shape[0]:
            raise InvalidInputError("duplicate ids in one add() call", "deduplicate the batch first")
        rows = list(attrs) if attrs is not None else [ItemAttrs()] * id_arr.shape[0]
        if len(rows) != id_arr.shape[0]:
            raise InvalidInputError(f"{len(rows)} attribute rows for {id_arr.shape[0]} ids", "pass one per id")
        data: list[dict[str, Any]] = []
        names: set[str] = set()
        for i, a in enumerate(rows):
            columns, row_names = row_columns(a)
            names |= row_names
            price = a.price if a.price is not None and math.isfinite(a.price) else None
            row: dict[str, Any] = {
                "id": int(id_arr[i]),
                _VECTOR: vecs[i],
                "price": float(price) if price is not None else 0.0,
                "has_price": price is not None,
                **columns,
            }
            data.append(row)
        if names - self._fields:
            self._register_fields(names)  # before the rows: a reader never meets values of an unknown field
        batch = max(1, self.settings.milvus.insert_batch)
        for start in range(0, len(data), batch):
            self._client.upsert(self.collection, data[start : start + batch])
        self._selectivity.clear()

    def _stored_fields(self) -> set[str]:
        props = self._client.describe_collection(self.collection).get("properties") or {}
        return {str(n) for n in json.loads(props.get(_FIELDS_PROPERTY) or "[]")}

    def _register_fields(self, names: set[str]) -> None:
        """Record new attribute field names in the collection's properties (read back by every client)."""
        merged = self._stored_fields() | (self._fields - set(CODE_FIELDS)) | names
        value = json.dumps(sorted(merged))
        self._client.alter_collection_properties(self.collection, properties={_FIELDS_PROPERTY: value})
        self._fields |= merged

    def _known(self, wanted: Sequence[str]) -> set[str]:
        """The fields with a column; re-read from the collection when `wanted` names one not seen yet."""
        if set(wanted) - self._fields:
            self._fields |= self._stored_fields()  # another client may have added the field
        return self._fields

    def _expression(self, flt: Filters | None) -> str:
        names = [*flt.includes(), *flt.excludes()] if flt is not None else []
        return filter_expression(flt, self._known(names))

    def remove(self, ids: IntArray) -> int:
        """Delete items by id; unknown ids are ignored. Returns how many existed."""
        present = self._present(np.unique(self._as_ids(ids)))
        if present:
            self._client.delete(self.collection, ids=present)
            self._selectivity.clear()
        return len(present)

    # ---- reads ------------------------------------------------------------------------------------
    def _query_ids(self, ids: Sequence[int], fields: list[str], extra: str = "") -> dict[int, dict[str, Any]]:
        out: dict[int, dict[str, Any]] = {}
        for start in range(0, len(ids), _QUERY_CHUNK):
            chunk = ids[start : start + _QUERY_CHUNK]
            if not len(chunk):
                continue
            rows = self._client.query(
                self.collection, filter=_ids_expression(chunk, extra), output_fields=["id", *fields]
            )
            out.update({int(r["id"]): r for r in rows})
        return out

    def _present(self, ids: IntArray, extra: str = "") -> list[int]:
        return sorted(self._query_ids([int(i) for i in ids], [], extra))

    def __len__(self) -> int:
        """Number of live items."""
        rows = self._client.query(self.collection, filter="", output_fields=["count(*)"])
        return int(rows[0]["count(*)"]) if rows else 0

    def search(self, queries: FloatArray, k: int, flt: Filters | None = None) -> tuple[IntArray, FloatArray]:
        """Top-k ids and scores per query, (n, k) each; missing slots are id -1 and score -inf.

        The filter runs inside the engine against its scalar indexes; HNSW breadth grows as the filter
        narrows (as in the faiss backend: the engine's selector hides filtered nodes from the result heap,
        not from navigation), so selective filters keep their recall. The filter's selectivity is counted
        once and cached until this object's next write (writes by other clients may leave it stale; it only
        sizes the search breadth).
        """
        q = self._check_vectors(queries, None, "queries")
        kk = self._check_k(k)
        expr = self._expression(flt)
        ef = max(self.settings.hnsw_ef_search, kk)
        if expr and flt is not None:
            selectivity = self._selectivity.get(expr)
            if selectivity is None:  # two count queries, once per filter until the next write
                selectivity = max(self.count_allowed(flt) / max(1, len(self)), 1e-6)
                self._selectivity[expr] = selectivity
            ef = min(_MAX_EF, max(ef, int(np.ceil(ef / selectivity))))
        hits = self._client.search(
            self.collection,
            data=[row.tolist() for row in q],
            limit=kk,
            filter=expr,
            anns_field=_VECTOR,
            search_params={"metric_type": "IP", "params": {"ef": ef}},
            output_fields=[],
        )
        out_ids = np.full((q.shape[0], kk), -1, dtype=np.int64)
        out_scores = np.full((q.shape[0], kk), -np.inf, dtype=np.float32)
        for row, found in enumerate(hits):
            for col, hit in enumerate(list(found)[:kk]):
                out_ids[row, col] = int(hit["id"])
                out_scores[row, col] = float(hit["distance"])
        return out_ids, out_scores

    def get_vectors(self, ids: IntArray) -> FloatArray:
        """Stored vectors of `ids`, (n, d). Raises NotFoundError when an id is not indexed."""
        id_arr = self._as_ids(ids)
        rows = self._query_ids([int(i) for i in np.unique(id_arr)], [_VECTOR])
        missing = [int(i) for i in id_arr if int(i) not in rows]
        if missing:
            raise NotFoundError(f"pin {missing[0]} is not in the vector index", "run `moodboard index`")
        if not id_arr.shape[0]:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([np.asarray(rows[int(i)][_VECTOR], dtype=np.float32) for i in id_arr])

    def contains(self, ids: IntArray) -> BoolArray:
        """Whether each id is live in the index."""
        id_arr = self._as_ids(ids)
        present = set(self._present(np.unique(id_arr)))
        return np.array([int(i) in present for i in id_arr], dtype=bool)

    def allowed(self, ids: IntArray, flt: Filters) -> BoolArray:
        """Whether each id is live and passes `flt`."""
        id_arr = self._as_ids(ids)
        present = set(self._present(np.unique(id_arr), self._expression(flt)))
        return np.array([int(i) in present for i in id_arr], dtype=bool)

    def count_allowed(self, flt: Filters) -> int:
        """Number of live items that pass `flt` (counted by the engine)."""
        rows = self._client.query(self.collection, filter=self._expression(flt), output_fields=["count(*)"])
        return int(rows[0]["count(*)"]) if rows else 0

    def _columns_of(self, names: Sequence[str]) -> list[str]:
        """The collection columns holding fields `names`."""
        return sorted({n if n in CODE_FIELDS else EXTRA for n in names})

    def facet_counts(self, ids: IntArray, fields: Sequence[str] = FACET_FIELDS) -> dict[str, dict[str, int]]:
        """Facet counts over the given (retrieved) ids, every value of a multi-valued field counted once per
        item; ids not in the index are skipped.

        Raises:
            InvalidInputError: on an unknown facet field.
        """
        known = self._known([f for f in fields if f != "price"])
        for name in fields:
            if name != "price" and name not in known:
                raise InvalidInputError(
                    f"unknown facet field {name!r}", f"use {', '.join((*sorted(known), 'price'))}", field="facets"
                )
        codes = [f for f in fields if f != "price"]
        wanted = self._columns_of(codes) + (["price", "has_price"] if "price" in fields else [])
        rows = list(self._query_ids([int(i) for i in self._as_ids(ids)], wanted).values())
        out: dict[str, dict[str, int]] = {}
        for name in fields:
            if name == "price":
                prices = np.array([r["price"] for r in rows if r["has_price"]], dtype=np.float32)
                out[name] = price_buckets(prices)
                continue
            counts = Counter(v for r in rows for v in field_values(r, name))
            out[name] = dict(sorted(counts.items(), key=lambda kv: -kv[1]))
        return out

    def attribute_codes(self, ids: IntArray, name: str) -> IntArray:
        """Integer code of a field's last value (a category path's deepest level) per id; -1 = missing or not
        indexed. Codes are stable within this object.

        Raises:
            InvalidInputError: on a field the index holds no values of.
        """
        known = self._known([name])
        if name not in known:
            raise InvalidInputError(f"unknown attribute field {name!r}", f"use {', '.join(sorted(known))}")
        id_arr = self._as_ids(ids)
        rows = self._query_ids([int(i) for i in np.unique(id_arr)], self._columns_of([name]))
        vocab = self._codes.setdefault(name, {})
        out = np.full(id_arr.shape[0], -1, dtype=np.int64)
        for pos, i in enumerate(id_arr):
            values = field_values(rows.get(int(i), {}), name)
            if values:
                out[pos] = vocab.setdefault(values[-1], len(vocab))
        return out

    # ---- persistence ------------------------------------------------------------------------------
    def save(self, folder: Path) -> dict[str, Any]:
        """Flush the collection and record where it lives (the vectors stay in the engine)."""
        self._client.flush(self.collection)
        return {"collection": self.collection, "uri": self.uri, "count": len(self)}

    @classmethod
    def load(cls, folder: Path, settings: IndexSettings) -> MilvusIndex:
        """Attach to the collection a snapshot names, at `index.milvus.uri` (else the uri it was saved with)."""
        from moodboard.index.vector_index import read_vector_meta

        meta = dict(read_vector_meta(folder))
        uri = cls._uri(settings) if settings.milvus.uri else str(meta.get("uri", ""))
        index = cls(settings, int(meta["dim"]), str(meta["model_id"]), str(meta["collection"]), uri)
        if not index._client.has_collection(index.collection):
            raise SnapshotError(
                f"Milvus collection {index.collection!r} named by {folder} does not exist at {uri}",
                "rebuild the index (`moodboard index`) or point MOODBOARD_INDEX__MILVUS__URI at its cluster",
            )
        props = index._client.describe_collection(index.collection).get("properties") or {}
        if props.get(_SCHEMA_PROPERTY) != SCHEMA_VERSION:
            raise SnapshotError(
                f"Milvus collection {index.collection!r} was built by an older moodboard (one value per field)",
                "rebuild the index with `moodboard index` (its filters hold every value of a field)",
            )
        index._fields |= index._stored_fields()
        index._client.load_collection(index.collection)
        return index
