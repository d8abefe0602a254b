"""Per-client token-bucket rate limiting (in-process; each API replica limits on its own)."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict


class TokenBuckets:
    """Token buckets keyed by client: `burst` requests at once, refilled at `per_minute`/60 per second."""

    def __init__(self, per_minute: int, burst: int, max_clients: int = 100_000) -> None:
        """Configure the refill rate, bucket size and how many clients are remembered."""
        self.rate = per_minute / 60.0
        self.burst = float(burst)
        self.max_clients = max_clients
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, key: str, now: float | None = None) -> float:
        """Spend one token for `key`; returns 0 when allowed, else the seconds until a token is free."""
        now = time.monotonic() if now is None else now
        with self._lock:
            tokens, last = self._buckets.pop(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            wait = 0.0
            if tokens >= 1.0:
                tokens -= 1.0
            else:
                wait = (1.0 - tokens) / self.rate
            self._buckets[key] = (tokens, now)
            while len(self._buckets) > self.max_clients:
                self._buckets.popitem(last=False)
            return wait
