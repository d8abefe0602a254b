"""Per-client token-bucket rate limiting, in one process or shared by the worker processes of one server.

`TokenBuckets` keeps the buckets in a dict (one process). `SharedTokenBuckets` keeps them in a small
memory-mapped file that every worker of `moodboard serve --workers N` opens, guarded by `flock`, so a
client gets the configured quota in total, whichever worker its connections land on (a keep-alive
connection stays on one worker; a per-worker quota would give it 1/N). Separate API replicas still
limit on their own.
"""

from __future__ import annotations

import fcntl
import hashlib
import mmap
import os
import struct
import threading
import time
from collections import OrderedDict
from pathlib import Path
from typing import Protocol

from moodboard.core.settings import ApiSettings, ServeSettings


class RateLimiter(Protocol):
    """Spend one token for a client; 0 when allowed, else the seconds until a token is free."""

    def take(self, key: str, now: float | None = None) -> float:
        """Spend one token for `key`."""
        ...


def _refill(tokens: float, last: float, now: float, rate: float, burst: float) -> tuple[float, float]:
    """(tokens after refilling and spending one if possible, wait in seconds) for one bucket."""
    tokens = min(burst, tokens + max(0.0, now - last) * rate)
    if tokens >= 1.0:
        return tokens - 1.0, 0.0
    return tokens, (1.0 - tokens) / rate


class TokenBuckets:
    """Token buckets keyed by client: `burst` requests at once, refilled at `per_minute`/60 per second."""

    def __init__(self, per_minute: int, burst: int, max_clients: int = 100_000) -> None:
        """Configure the refill rate, bucket size and how many clients are remembered."""
        self.rate = per_minute / 60.0
        self.burst = float(burst)
        self.max_clients = max_clients
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        """Clients remembered now (at most `max_clients`)."""
        return len(self._buckets)

    def take(self, key: str, now: float | None = None) -> float:
        """Spend one token for `key`; returns 0 when allowed, else the seconds until a token is free."""
        now = time.monotonic() if now is None else now
        with self._lock:
            tokens, last = self._buckets.pop(key, (self.burst, now))
            tokens, wait = _refill(tokens, last, now, self.rate, self.burst)
            self._buckets[key] = (tokens, now)
            while len(self._buckets) > self.max_clients:
                self._buckets.popitem(last=False)
            return wait


_SLOT = struct.Struct("<Qdd")  # key hash (0 = empty), tokens, last refill (CLOCK_MONOTONIC, same in every process)
_PROBES = 8


class SharedTokenBuckets:
    """Token buckets in a memory-mapped file shared by processes (open-addressed table of client slots).

    A client whose 8 probe slots are all taken by others evicts the least recently seen of them, which
    only ever hands that evicted client a full bucket again; 65,536 slots hold far more active clients
    than one server sees within a refill period.
    """

    def __init__(self, path: Path, per_minute: int, burst: int, slots: int = 65_536) -> None:
        """Open (creating and sizing if needed) the shared file at `path`."""
        self.rate = per_minute / 60.0
        self.burst = float(burst)
        self.slots = slots
        self.path = path
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        size = slots * _SLOT.size
        if os.fstat(self._fd).st_size < size:
            os.ftruncate(self._fd, size)
        self._map = mmap.mmap(self._fd, size)
        self._lock = threading.Lock()  # flock does not exclude threads sharing one file descriptor

    @staticmethod
    def create(folder: Path, name: str) -> Path:
        """A fresh, empty shared file for one server run; returns its path."""
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / name
        path.unlink(missing_ok=True)
        return path

    def take(self, key: str, now: float | None = None) -> float:
        """Spend one token for `key`; returns 0 when allowed, else the seconds until a token is free."""
        now = time.monotonic() if now is None else now
        h = int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "little") or 1
        start = h % self.slots
        with self._lock:
            fcntl.flock(self._fd, fcntl.LOCK_EX)
            try:
                pick, oldest = -1, (float("inf"), -1)
                tokens, last = self.burst, now
                for i in range(_PROBES):
                    slot = (start + i) % self.slots
                    owner, t, seen = _SLOT.unpack_from(self._map, slot * _SLOT.size)
                    if owner == h:
                        pick, tokens, last = slot, t, min(seen, now)
                        break
                    if owner == 0 and pick < 0:
                        pick = slot
                    if seen < oldest[0]:
                        oldest = (seen, slot)
                if pick < 0:
                    pick = oldest[1]
                tokens, wait = _refill(tokens, last, now, self.rate, self.burst)
                _SLOT.pack_into(self._map, pick * _SLOT.size, h, tokens, now)
                return wait
            finally:
                fcntl.flock(self._fd, fcntl.LOCK_UN)

    def close(self) -> None:
        """Unmap and close the file (the file itself stays for the other workers)."""
        self._map.close()
        os.close(self._fd)


def make_rate_limiter(api: ApiSettings, serve: ServeSettings) -> RateLimiter:
    """The shared limiter when `serve` named a shared file for its workers, else the in-process one; either
    remembers at most `api.rate_limit_clients` clients (dict entries, or slots of the fixed-size file)."""
    per_minute, burst, clients = api.rate_limit_per_minute, api.rate_limit_burst, api.rate_limit_clients
    if serve.rate_limit_file:
        return SharedTokenBuckets(Path(serve.rate_limit_file), per_minute, burst, slots=clients)
    return TokenBuckets(per_minute, burst, max_clients=clients)
