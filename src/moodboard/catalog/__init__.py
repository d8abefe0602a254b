"""Catalog: the store of pins, images, products, boards, users and events, and ingestion into it."""
