"""The rate limit of questions and searches: a token bucket per client address, in memory."""

from __future__ import annotations

import time
from collections.abc import Callable

from index.lru import LeastRecentlyUsed

# Client addresses whose buckets are kept; one forgotten (the least recently seen) starts
# again with a full bucket.
ADDRESSES_KEPT = 10_000


class RateLimit:
    """At most `per_minute` questions a minute from each address: a bucket of `per_minute`
    tokens each, refilled at `per_minute` / 60 tokens a second, one token a question. Used
    from the event loop, one request at a time."""

    def __init__(
        self,
        per_minute: int,
        *,
        clock: Callable[[], float] = time.monotonic,
        addresses: int = ADDRESSES_KEPT,
    ) -> None:
        self._capacity = float(per_minute)
        self._per_second = per_minute / 60
        self._clock = clock
        # (tokens, when they were counted) by address.
        self._buckets: LeastRecentlyUsed[str, tuple[float, float]] = LeastRecentlyUsed(addresses)

    def retry_after(self, address: str) -> float:
        """0 when `address` may ask now (and a token is taken), else seconds until it may."""
        now = self._clock()
        tokens, counted = self._buckets.get(address) or (self._capacity, now)
        tokens = min(self._capacity, tokens + (now - counted) * self._per_second)
        if tokens >= 1:
            self._buckets.put(address, (tokens - 1, now))
            return 0.0
        self._buckets.put(address, (tokens, now))
        return (1 - tokens) / self._per_second
