"""A bounded, per-address rate limit for the anonymous question APIs."""
from __future__ import annotations

import threading
from collections import OrderedDict

from core.errors import DomainError
from core.text import _l


class RateLimited(DomainError):
    def __init__(self, retry_s: int):
        super().__init__("rate_limited", _l("Too many questions; try again in %(retry_s)s s.",
                                            retry_s=retry_s), 429,
                         details={"retry_after_s": retry_s})


class RateLimiter:
    """Fixed one-minute windows per key; at most ``max_keys`` keys are remembered
    (the least recently seen go first), so memory stays bounded under a flood."""

    def __init__(self, per_minute: int, max_keys: int = 10_000):
        self.per_minute = per_minute
        self.max_keys = max_keys
        self.windows: OrderedDict[str, tuple[int, int]] = OrderedDict()
        self.lock = threading.Lock()

    def hit(self, key: str, now_ts: float) -> None:
        minute = int(now_ts // 60)
        with self.lock:
            start, count = self.windows.pop(key, (minute, 0))
            if start != minute:
                start, count = minute, 0
            count += 1
            self.windows[key] = (start, count)
            while len(self.windows) > self.max_keys:
                self.windows.popitem(last=False)
        if count > self.per_minute:
            raise RateLimited(max(1, int(60 - now_ts % 60)))
