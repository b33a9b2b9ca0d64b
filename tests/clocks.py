"""A clock that moves only when a test moves it, for fakes and bots that take a clock: what
a test asserts about deadlines, windows and intervals then never depends on how fast the
machine runs it."""

from __future__ import annotations

import asyncio


class ManualClock:
    """Seconds (a monotonic clock) that pass only in `advance`, with a `sleep` on them."""

    def __init__(self, start: float = 1_000.0) -> None:
        self.now = start
        self._sleepers: list[tuple[float, asyncio.Future[None]]] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        """Return once the clock has been advanced `seconds` past now."""
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        wake = asyncio.get_running_loop().create_future()
        self._sleepers.append((self.now + seconds, wake))
        await wake

    def advance(self, seconds: float) -> None:
        """Move the clock on, and wake the sleepers whose time has come."""
        self.now += seconds
        due = [wake for at, wake in self._sleepers if at <= self.now]
        self._sleepers = [(at, wake) for at, wake in self._sleepers if at > self.now]
        for wake in due:
            if not wake.done():
                wake.set_result(None)
