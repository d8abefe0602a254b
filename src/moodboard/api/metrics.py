"""Prometheus metrics of one app instance: request latency histograms, catalog size, cache hits."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    """The app's metrics in their own registry (so several apps in one process never collide)."""

    def __init__(self) -> None:
        """Create the registry and every metric."""
        self.registry = CollectorRegistry()
        self.latency = Histogram(
            "moodboard_request_seconds",
            "HTTP request latency by route template, method and status",
            ["route", "method", "status"],
            buckets=BUCKETS,
            registry=self.registry,
        )
        self.rate_limited = Counter("moodboard_rate_limited_total", "requests refused with 429", registry=self.registry)
        self.cache_hits = Counter(
            "moodboard_cache_hits_total", "cache hits by cache name", ["cache"], registry=self.registry
        )
        self.cache_misses = Counter(
            "moodboard_cache_misses_total", "cache misses by cache name", ["cache"], registry=self.registry
        )
        self.pins = Gauge("moodboard_catalog_pins", "pins in the catalog", registry=self.registry)
        self.index_size = Gauge("moodboard_index_vectors", "vectors in the loaded vector index", registry=self.registry)

    def render(self) -> bytes:
        """The exposition text."""
        return generate_latest(self.registry)
