"""The line shared by painting workers in several processes (`ROLE=worker`).

It keeps the in-process `Scheduler`'s promises across processes, so that the `Runner` runs
unchanged on top of it: turns (painting slots, the person's cap, fair turns) are granted in
the job rows every worker shares (`bot.storage.turns`); the provider's rate limit and its
429 pauses live in Redis, where every worker counts and reads them. A worker hears on a
Redis channel when a turn ends, and otherwise looks again every `POLL` seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Any, Final

import limits
from limits.aio.storage import RedisStorage
from limits.aio.strategies import MovingWindowRateLimiter

from bot.errors import ShuttingDown, WaitedTooLong
from bot.jobs.scheduler import Place, Ticket, WaitCallback
from bot.storage.job_records import JobEnded
from bot.storage.repository import Store
from bot.storage.turns import Turn

log = logging.getLogger(__name__)

POLL: Final = 1.0  # seconds between looks at the line when no turn ended meanwhile
CHANGED: Final = "picasso:line"  # published when a turn ends
PAUSED: Final = "picasso:paused-until"  # the provider asked everyone to slow down until then
# Calls a window apart must never arrive inside one provider window, whichever worker sent
# them: across processes the window is counted this much longer than the provider's.
SHARED_MARGIN: Final = 1


def holder_of(process: str, job_id: int) -> str:
    """Who holds `job_id` in this process (one holder per job per process)."""
    return f"{process}:{job_id}"[:40]


class SharedRateLimit:
    """The provider's limit ("50 per minute") counted in Redis by every worker: a moving
    window one `SHARED_MARGIN` second longer than the provider's (50 per 61 s)."""

    def __init__(self, spec: str, redis_url: str) -> None:
        [item] = limits.parse_many(spec)
        seconds = item.get_expiry() + SHARED_MARGIN
        self._item = limits.RateLimitItemPerSecond(item.amount, seconds)
        self._storage = RedisStorage(
            "async+" + redis_url, implementation="redispy", key_prefix="picasso-rate"
        )
        self._window = MovingWindowRateLimiter(self._storage)

    async def acquire(self, cost: int = 1) -> float:
        """Take `cost` hits now (0.0), or the seconds until they may be possible."""
        cost = min(cost, self._item.amount)
        if await self._window.hit(self._item, cost=cost):
            return 0.0
        stats = await self._window.get_window_stats(self._item)
        return max(stats.reset_time - time.time(), 0.01)


class _Waiter:
    """A job of this process waiting for its turn: the claimer tells it each answer."""

    def __init__(self, holder: str, first: bool) -> None:
        self.holder = holder
        self.first = first  # it lost its turn to a provider pause: it goes first
        self._answers: asyncio.Queue[Turn | None] = asyncio.Queue()

    def tell(self, answer: Turn | None) -> None:
        """The line's answer (None: nothing new, look at the clock)."""
        self._answers.put_nowait(answer)

    async def next(self) -> Turn | None:
        """The next answer."""
        return await self._answers.get()


class SharedLine:
    """The `Scheduler`'s interface for the `Runner`, kept in the database and Redis."""

    def __init__(
        self,
        store: Store,
        redis: Any,  # redis.asyncio.Redis
        *,
        process: str,
        concurrency: int,
        lease: timedelta,
        rate: SharedRateLimit | None,
        now: Callable[[], datetime],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self._redis = redis
        self._process = process
        self._concurrency = concurrency
        self.lease = lease  # how long a hold lasts unless renewed (every third of it)
        self._rate = rate
        self._now = now
        self._clock = clock
        self._closed = False
        self._changed = asyncio.Event()
        self._listener: asyncio.Task[None] | None = None
        self._waiting: dict[int, _Waiter] = {}  # jobs of this process waiting for a turn
        self._held: dict[int, str] = {}  # jobs this process holds (waiting or painting)
        self._keeper: asyncio.Task[None] | None = None
        self._claimer: asyncio.Task[None] | None = None

    def holder(self, job_id: int) -> str:
        """Who holds `job_id` here."""
        return holder_of(self._process, job_id)

    async def start(self) -> None:
        """Listen for turns ending anywhere (so that waiters look again at once), and keep
        the holds of this process's jobs alive."""
        self._listener = asyncio.create_task(self._listen(), name="line-listener")
        self._keeper = asyncio.create_task(self._keep_alive(), name="line-keeper")

    def keep(self, job_id: int) -> None:
        """This process holds `job_id` now: renew its hold until `let_go`."""
        self._held[job_id] = self.holder(job_id)

    def let_go(self, job_id: int) -> None:
        """This process no longer holds `job_id`."""
        self._held.pop(job_id, None)

    async def _keep_alive(self) -> None:
        """Renew the holds of every job held here, in one statement every third of a lease,
        until the line is closed and the last job held here is let go (a stopping worker's
        paintings keep their holds while they finish)."""
        while not (self._closed and not self._held):
            await asyncio.sleep(self.lease.total_seconds() / 3)
            try:
                lost = await self._store.renew_holds(dict(self._held), self._now(), self.lease)
            except Exception:
                log.warning("could not renew this worker's holds", exc_info=True)
                continue
            for job_id in lost:
                log.warning("job %d: lost its hold to another worker", job_id)
                self.let_go(job_id)

    async def _listen(self) -> None:
        pubsub = self._redis.pubsub()
        try:
            await pubsub.subscribe(CHANGED)
            async for message in pubsub.listen():
                if message.get("type") == "message":
                    self._changed.set()
        except Exception:  # waiters fall back to polling
            log.warning("stopped listening for the line's changes; polling instead", exc_info=True)
        finally:
            with contextlib.suppress(Exception):
                await pubsub.aclose()

    async def changed(self) -> None:
        """Tell every worker that the line moved (a turn ended, a job ended)."""
        try:
            await self._redis.publish(CHANGED, "1")
        except Exception:  # the others poll anyway
            log.warning("could not announce a change of the line", exc_info=True)

    @asynccontextmanager
    async def turn(
        self, ticket: Ticket, on_wait: WaitCallback | None = None, *, resume: bool = False
    ) -> AsyncIterator[None]:
        """Wait for the job's turn in the shared line, then hold it for the block. Raises
        `WaitedTooLong` after `ticket.start_by`, `ShuttingDown` after `close()`, and
        `JobEnded` once the job ended elsewhere (cancelled) or another holder took it.

        The jobs this process holds ask together: one claimer per process asks the
        database for all of them at once, whenever the line may have moved."""
        waiter = _Waiter(self.holder(ticket.job_id), resume)
        self._waiting[ticket.job_id] = waiter
        self._kick()
        told: Place | None = None
        try:
            while True:
                if self._closed:
                    raise ShuttingDown()
                if not resume and ticket.start_by is not None and self._clock() > ticket.start_by:
                    raise WaitedTooLong()
                answer = await waiter.next()
                if answer is None:
                    continue  # woken to look at the clock or the closing
                if answer.ended:
                    raise JobEnded(f"job {ticket.job_id} is no longer waiting here")
                if answer.granted:
                    break
                place = Place(answer.position, None) if answer.position else None
                if place is not None and place != told and on_wait is not None:
                    told = place
                    await on_wait(place)
        finally:
            self._waiting.pop(ticket.job_id, None)
        try:
            yield
        finally:
            await asyncio.shield(self._store.end_turn(ticket.job_id, waiter.holder))
            await self.changed()

    def _kick(self) -> None:
        """Make the claimer ask now (starting it if it sleeps)."""
        self._changed.set()
        if self._claimer is None or self._claimer.done():
            self._claimer = asyncio.create_task(self._claim(), name="line-claimer")

    async def _claim(self) -> None:
        """Ask for turns for every job waiting here, again whenever the line may have moved
        (a turn ended anywhere, a job started waiting here) or every `POLL` seconds."""
        while self._waiting and not self._closed:
            self._changed.clear()
            asking = dict(self._waiting)
            try:
                answers = await self._store.take_turns(
                    {job_id: waiter.holder for job_id, waiter in asking.items()},
                    self._now(),
                    self.lease,
                    self._concurrency,
                    first={job_id for job_id, waiter in asking.items() if waiter.first},
                )
            except Exception:
                log.warning("could not ask the line for turns; asking again", exc_info=True)
                answers = {}
            for job_id, answer in answers.items():
                asking[job_id].tell(answer)
            if any(answer.granted or answer.ended for answer in answers.values()):
                continue  # the line moved: look again at once
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(POLL):
                    await self._changed.wait()
            for waiter in self._waiting.values():
                waiter.tell(None)  # let each look at its deadline

    async def pace(self, pictures: int = 1) -> None:
        """Wait out a provider pause any worker heard of and room in the shared rate limit,
        then count this call's `pictures`."""
        while True:
            paused = await self._redis.get(PAUSED)
            wait = float(paused) - time.time() if paused else 0.0
            if wait <= 0:
                wait = 0.0 if self._rate is None else await self._rate.acquire(pictures)
                if wait <= 0:
                    return
            await asyncio.sleep(wait)

    def pause(self, seconds: float) -> None:
        """The provider answered 429: every worker waits `seconds` before its next call."""
        until = time.time() + seconds
        task = asyncio.create_task(self._pause_until(until), name="line-pause")
        task.add_done_callback(lambda done: done.exception())
        log.info("Provider asked us to slow down: no new paintings for %.1f s", seconds)

    async def _pause_until(self, until: float) -> None:
        script = (
            "local now = tonumber(redis.call('GET', KEYS[1]) or '0') "
            "if tonumber(ARGV[1]) > now then "
            "redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) end"
        )
        lasts = max(1, int((until - time.time()) * 1000))
        await self._redis.eval(script, 1, PAUSED, repr(until), lasts)

    def cancel(self, job_id: int) -> bool:
        """Waiting jobs are cancelled in the database (their waiter sees the job ended)."""
        return False

    def place(self, job_id: int) -> Place | None:
        """Places are told to the waiting job itself, not kept here."""
        return None

    def waiting(self) -> list[object]:
        """None are kept here: the line is in the database (its depth: the queue's)."""
        return []

    def close(self) -> None:
        """Take no more turns: waiters raise `ShuttingDown` at their next look."""
        self._closed = True
        self._changed.set()
        for waiter in self._waiting.values():
            waiter.tell(None)
        if self._listener is not None:
            self._listener.cancel()
