"""Rate limits per signing key and per client address: token buckets in the worker's
memory (each of N workers allows its own share; a proxy in front can do more)."""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass, field

from consentry.errors import RateLimitedError

__all__ = ["RateLimiter"]


@dataclass(slots=True)
class _Bucket:
    tokens: float
    at: float


@dataclass(slots=True)
class RateLimiter:
    """``rate`` requests a second on average, ``burst`` at once; ``rate`` 0 is no limit."""

    rate: float
    burst: int
    what: str
    _buckets: dict[str, _Bucket] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def take(self, who: str) -> None:
        """Spend one request of ``who``'s; ``RateLimitedError`` when none is left."""
        if self.rate <= 0:
            return
        now = time.monotonic()
        with self._lock:
            bucket = self._buckets.get(who)
            if bucket is None:
                if len(self._buckets) > 100_000:
                    self._forget(now)
                bucket = self._buckets[who] = _Bucket(float(self.burst), now)
            bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.at) * self.rate)
            bucket.at = now
            if bucket.tokens < 1:
                wait = math.ceil((1 - bucket.tokens) / self.rate)
                raise RateLimitedError(
                    f"too many requests from {self.what} {who}; wait {wait} s and send it again",
                    retry_after=wait,
                )
            bucket.tokens -= 1

    def _forget(self, now: float) -> None:
        full = [w for w, b in self._buckets.items() if now - b.at > self.burst / self.rate]
        for who in full:
            del self._buckets[who]
