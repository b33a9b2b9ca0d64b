"""The provider's rate limit, counted over a moving window by the `limits` library.

`limits` also keeps its windows in Redis, which is how several processes will share one
provider limit.
"""

from __future__ import annotations

import time
from collections import deque

import limits
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

_MIN_RATE_WAIT = 0.001  # `limits` refuses a hit at the window's exact edge; look again just after
# The provider counts a call when it arrives, we when we send it: between the two lie a few
# milliseconds that vary (the event loop, the network). A call that would fill the window
# waits this much longer, so two calls a window apart can never arrive inside one.
RATE_MARGIN = 0.25


class RateLimit:
    """The provider's limit in the notation of the `limits` library ("6 per 10 seconds",
    "50 per minute"), counted over a moving window."""

    def __init__(self, spec: str) -> None:
        try:
            items = limits.parse_many(spec)
        except ValueError:
            raise ValueError(
                f"rate limit {spec!r} is not understood; write it like '6 per 10 seconds' "
                "or '50 per minute'"
            ) from None
        if len(items) != 1 or items[0].amount < 1:
            raise ValueError(f"rate limit {spec!r} must be one limit of at least 1 call")
        self._spec = spec
        self._item = items[0]
        self._window = MovingWindowRateLimiter(MemoryStorage())
        self._sent: deque[float] = deque(maxlen=self._item.amount)  # this process's last calls

    def acquire(self, cost: int = 1) -> float:
        """Take `cost` hits now (pictures: a provider counts each picture of a call) and
        return 0.0, or take nothing and return the seconds until they will be possible (a
        full window also waits out `RATE_MARGIN`). More than the whole limit counts as it."""
        cost = min(cost, self._item.amount)
        now = time.time()
        over = len(self._sent) + cost - self._item.amount
        if over > 0:
            early = self._sent[over - 1] + self._item.get_expiry() + RATE_MARGIN - now
            if early > 0:
                return early
        if self._window.hit(self._item, cost=cost):
            self._sent.extend([now] * cost)
            return 0.0
        stats = self._window.get_window_stats(self._item)
        return max(stats.reset_time + RATE_MARGIN - now, _MIN_RATE_WAIT)

    @property
    def per_second(self) -> float:
        """Calls allowed per second on average (amount / window), for estimates."""
        return self._item.amount / self._item.get_expiry()

    def __str__(self) -> str:
        return self._spec
