"""Retrieval indexes: the `VectorIndex` interface (exact and faiss HNSW backends), filters and facets,
the SQLite FTS5 lexical index, reciprocal rank fusion, and the atomically swapped index snapshot."""
