"""Embedding: the `Embedder` interface, its backends (`lite`, `open_clip`, `fake`) and the LiT aligner.

Importing this package loads no model and no torch; backends load on `make_embedder`.
"""

from moodboard.embed.embedder import Embedder, backends, make_embedder, register_backend

__all__ = ["Embedder", "backends", "make_embedder", "register_backend"]
