"""A first-come, first-served limit on concurrent provider calls, with queue positions.

An `asyncio.Semaphore` already queues fairly; this adds the one thing users care about
while they wait: their place in the line, reported when it changes.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

log = logging.getLogger(__name__)

PositionCallback = Callable[[int], Awaitable[None]]


class SlotQueue:
    """At most `size` holders at once; others wait in arrival order."""

    def __init__(self, size: int) -> None:
        if size < 1:
            raise ValueError("size must be at least 1")
        self._free = asyncio.Semaphore(size)
        self._waiting: list[asyncio.Event] = []  # arrival order; an event is set when moved up

    @property
    def waiting(self) -> int:
        """How many callers are queued behind the running ones."""
        return len(self._waiting)

    @asynccontextmanager
    async def slot(self, on_position: PositionCallback | None = None) -> AsyncIterator[None]:
        """Hold a slot for the block; while queued, `on_position(n)` reports place n (1 = next).

        Every waiter holds a place in line, reported or not; a cancelled waiter leaves it.
        """
        if not self._free.locked():
            async with self._free:  # free now: taken without waiting
                yield
            return
        moved = asyncio.Event()
        self._waiting.append(moved)
        acquire = asyncio.ensure_future(self._free.acquire())
        try:
            while not acquire.done():
                moved.clear()  # before reporting, so a move during the report is seen
                if on_position is not None:
                    await on_position(self._waiting.index(moved) + 1)
                waiter = asyncio.ensure_future(moved.wait())
                try:
                    await asyncio.wait({acquire, waiter}, return_when=asyncio.FIRST_COMPLETED)
                finally:
                    waiter.cancel()
        except BaseException:
            acquire.cancel()
            if acquire.done() and not acquire.cancelled():
                self._free.release()
            raise
        finally:
            self._leave(moved)
        try:
            yield
        finally:
            self._free.release()

    def _leave(self, moved: asyncio.Event) -> None:
        index = self._waiting.index(moved)
        self._waiting.remove(moved)
        for behind in self._waiting[index:]:
            behind.set()
