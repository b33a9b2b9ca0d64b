"""One coalescing reporter for every progress message, so Discord's rate limits are kept.

Each message (a `key`) is edited at most once per `interval`, never twice at the same time,
and never to show what it already shows: a burst of updates becomes the first one at once and
the latest one after the interval, and everything in between is dropped.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass

log = logging.getLogger(__name__)

Send = Callable[[], Awaitable[None]]
Sleep = Callable[[float], Awaitable[None]]

_UNKNOWN = object()  # what a message shows after a failed send: anything differs from it


@dataclass(eq=False, slots=True)
class _Message:
    shown: object = _UNKNOWN  # what the last send started showed
    sent_at: float | None = None
    pending: tuple[Hashable, Send] | None = None
    worker: asyncio.Task[None] | None = None
    flight: asyncio.Future[None] | None = None  # done when the send in flight ends


class Reporter:
    """Latest-wins progress updates: at most one send per message per `interval`.

    `expected` are the errors a send may meet in normal life (the adapter passes its HTTP
    error, e.g. a message that was deleted); they are logged as one warning line.
    """

    def __init__(
        self,
        *,
        interval: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Sleep = asyncio.sleep,
        expected: tuple[type[Exception], ...] = (OSError, TimeoutError),
        may_send: Callable[[Hashable], bool] = lambda key: True,
    ) -> None:
        self._interval = interval
        self._may_send = may_send  # asked right before each send: may `key` still be shown?
        self._clock = clock
        self._sleep = sleep
        self._expected = expected
        self._messages: dict[Hashable, _Message] = {}

    def show(self, key: Hashable, shown: Hashable, send: Send) -> None:
        """Make message `key` show `shown` (what the person will read, used only to compare)
        by calling `send`: at once if the message was not sent to within `interval`, else at
        the end of it, and only if nothing newer came meanwhile. Never awaits `send` itself."""
        message = self._messages.setdefault(key, _Message())
        if shown == message.shown:  # it shows that (or will when the send in flight ends)
            message.pending = None  # so whatever was to follow is moot
            return
        message.pending = (shown, send)  # the same text again just keeps its place
        if message.worker is None:
            message.worker = asyncio.create_task(self._deliver(key, message))

    async def take_over(self, key: Hashable) -> None:
        """Drop what is pending for `key` and wait for a send of it in flight to end; a later
        show() for `key` starts fresh. Call it before posting the final result there."""
        message = self._messages.get(key)
        if message is None:
            return
        message.pending = None
        if message.flight is not None:
            await asyncio.shield(message.flight)
        if self._messages.get(key) is message and message.pending is None:
            del self._messages[key]
            if message.worker is not None:  # at most sleeping out an interval for nothing
                message.worker.cancel()
                message.worker = None

    async def drain(self, timeout: float) -> None:  # noqa: ASYNC109 - a deadline, not an error
        """Let pending sends go out (e.g. "restarting" notices at a stop) for up to `timeout`
        seconds, then cancel what is left."""
        workers = [m.worker for m in self._messages.values() if m.worker is not None]
        if workers:
            await asyncio.wait(workers, timeout=timeout)
        await self.close()

    async def close(self) -> None:
        """Cancel everything pending or in flight, and forget every message."""
        workers = [m.worker for m in self._messages.values() if m.worker is not None]
        self._messages.clear()
        for worker in workers:
            worker.cancel()
        await asyncio.gather(*workers, return_exceptions=True)

    async def _deliver(self, key: Hashable, message: _Message) -> None:
        """Send the latest pending update of one message, one at a time, spaced out."""
        try:
            while message.pending is not None:
                if message.sent_at is not None:
                    wait = message.sent_at + self._interval - self._clock()
                    if wait > 0:
                        await self._sleep(wait)
                        continue  # newer updates may have come, or take_over() dropped them
                shown, send = message.pending
                message.pending = None
                if not self._may_send(key):  # e.g. its job went to another process meanwhile
                    log.info("progress of %r is no longer this process's to show", key)
                    continue
                await self._send(key, message, shown, send)
        finally:
            if message.worker is asyncio.current_task():
                message.worker = None

    async def _send(self, key: Hashable, message: _Message, shown: Hashable, send: Send) -> None:
        message.shown = shown
        message.sent_at = self._clock()
        message.flight = asyncio.get_running_loop().create_future()
        try:
            await send()
        except self._expected as error:
            message.shown = _UNKNOWN
            log.warning("Progress update for %r failed: %s", key, error)
        except Exception:
            message.shown = _UNKNOWN
            log.exception("Progress update for %r failed unexpectedly", key)
        finally:
            message.flight.set_result(None)
            message.flight = None
