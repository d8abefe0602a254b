"""The quick measurement behind the choice of vector database: Qdrant local mode vs Milvus Lite.

Usage: `python benchmarks/vector_db_choice.py milvus|qdrant [--n 50000]` (needs `pip install qdrant-client`
for the Qdrant run; Milvus comes with `moodboard[milvus]`).

Both test engines run in-process, as they would in `make test`: n random unit vectors (128-d), an integer
`cat` field with 100 values and a scalar/payload index on it, 50 queries near stored items. Prints insert
seconds, single-query QPS and recall@10 unfiltered and at 1 % selectivity (`cat == 0`), against exact truth.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from typing import Any

import numpy as np


def main() -> None:
    """Run one engine and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("engine", choices=["milvus", "qdrant"])
    parser.add_argument("--n", type=int, default=50_000)
    args = parser.parse_args()
    n, d, nq = args.n, 128, 50
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, d)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    q = x[rng.choice(n, nq)] + 0.1 * rng.standard_normal((nq, d)).astype(np.float32)
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    cat = np.arange(n) % 100

    def truth(mask: np.ndarray) -> np.ndarray:
        s = q @ x.T
        s[:, ~mask] = -9
        return np.argsort(-s, axis=1)[:, :10]

    truths = {"none": truth(np.ones(n, bool)), "1%": truth(cat == 0)}

    def recall(got: list[list[int]], t: np.ndarray) -> float:
        return float(np.mean([len(set(g) & set(r.tolist())) / 10 for g, r in zip(got, t, strict=True)]))

    search: dict[str, Any]
    start = time.time()
    if args.engine == "qdrant":
        from qdrant_client import QdrantClient, models

        client = QdrantClient(":memory:")
        client.create_collection("x", vectors_config=models.VectorParams(size=d, distance=models.Distance.DOT))
        client.create_payload_index("x", "cat", models.PayloadSchemaType.INTEGER)
        for s in range(0, n, 5000):
            ids = list(range(s, min(n, s + 5000)))
            client.upsert(
                "x",
                points=models.Batch(ids=ids, vectors=x[ids].tolist(), payloads=[{"cat": int(cat[i])} for i in ids]),
            )
        one = models.Filter(must=[models.FieldCondition(key="cat", match=models.MatchValue(value=0))])
        search = {
            name: (
                lambda v, f=f: [
                    p.id for p in client.query_points("x", query=v.tolist(), limit=10, query_filter=f).points
                ]
            )
            for name, f in {"none": None, "1%": one}.items()
        }
    else:
        from pymilvus import DataType, MilvusClient

        mc = MilvusClient(tempfile.mkdtemp() + "/choice.db")
        schema = mc.create_schema(auto_id=False)
        schema.add_field("id", DataType.INT64, is_primary=True)
        schema.add_field("v", DataType.FLOAT_VECTOR, dim=d)
        schema.add_field("cat", DataType.INT64)
        params = mc.prepare_index_params()
        params.add_index("v", index_type="HNSW", metric_type="IP", params={"M": 16, "efConstruction": 64})
        params.add_index("cat", index_type="INVERTED")
        mc.create_collection("x", schema=schema, index_params=params)
        for s in range(0, n, 5000):
            mc.insert("x", [{"id": i, "v": x[i], "cat": int(cat[i])} for i in range(s, min(n, s + 5000))])
        mc.flush("x")
        search = {
            name: (
                lambda v, e=e: [
                    h["id"]
                    for h in mc.search("x", data=[v], limit=10, filter=e, search_params={"params": {"ef": 64}})[0]
                ]
            )
            for name, e in {"none": "", "1%": "cat == 0"}.items()
        }
    print(f"{args.engine}: insert {time.time() - start:.1f} s", file=sys.stderr)
    for name, fn in search.items():
        start = time.time()
        got = [fn(v) for v in q]
        qps = nq / (time.time() - start)
        print(f"{args.engine} {name}: single-query QPS {qps:.1f}, recall@10 {recall(got, truths[name]):.3f}")


if __name__ == "__main__":
    main()
