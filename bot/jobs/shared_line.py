"""The line shared by painting workers in several processes (`ROLE=worker`).

It keeps the `Line` promises across processes, so that the `Runner` runs unchanged on top
of it: turns are decided by the line's rules over the job rows every worker shares
(`bot.storage.turns`); the provider's rate limit and its 429 pauses live in Redis, where
every worker counts and reads them. A worker hears on a Redis channel when the line moves,
and otherwise looks again every `POLL` seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Collection
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Any, Final

import limits
from limits.aio.storage import RedisStorage
from limits.aio.strategies import MovingWindowRateLimiter

from bot.errors import JobCancelled, ShuttingDown, WaitedTooLong
from bot.jobs.line import Place, Ticket, WaitCallback
from bot.storage.job_records import JobEnded
from bot.storage.repository import Store
from bot.storage.turns import Turn

log = logging.getLogger(__name__)

POLL: Final = 1.0  # seconds between looks at the line when no change was heard meanwhile
CHANGED: Final = "picasso:line"  # published when the line moves (a turn or a job ended)
PAUSED: Final = "picasso:paused-until"  # the provider asked everyone to slow down until then
# Calls a window apart must never arrive inside one provider window, whichever worker sent
# them: across processes the window is counted this much longer than the provider's.
SHARED_MARGIN: Final = 1
LISTEN_BACKOFF: Final = (0.5, 1.0, 2.0, 5.0)  # seconds between tries to listen again
GONE_KEPT: Final = 1024  # jobs remembered as let go (so that no stale progress shows)


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
            "async+" + redis_url,
            implementation="redispy",
            key_prefix="picasso-rate",
            socket_timeout=5,
            socket_connect_timeout=3,
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
        self.cancelled = False
        self.decided = False  # told its turn, or that the line is over for it
        self._answers: asyncio.Queue[Turn | None] = asyncio.Queue()

    def tell(self, answer: Turn | None) -> None:
        """The line's answer (None: nothing new, look at the clock and the closing)."""
        if answer is not None and (answer.granted or answer.ended or answer.expired):
            self.decided = True  # the claimer asks no more for it
        self._answers.put_nowait(answer)

    async def next(self) -> Turn | None:
        """The next answer."""
        return await self._answers.get()


class SharedLine:
    """The `Line` of several processes, kept in the database and Redis."""

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
        start_margin: timedelta = timedelta(0),
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._redis = redis
        self._process = process
        self._concurrency = concurrency
        self.lease = lease  # how long a hold lasts unless renewed (every third of it)
        self._rate = rate
        self._now = now
        self._start_margin = start_margin  # a job's start-by: its token's expiry less this
        self._clock = clock
        self._wall = wall  # Redis keeps the pause in wall-clock seconds
        self._paused_until = 0.0  # the provider's pause as last read or set (wall clock)
        self._closed = False
        self._changed = asyncio.Event()
        self._pacing = asyncio.Event()  # set to make pacers look at the clock again
        self._tasks: list[asyncio.Task[None]] = []
        self._waiting: dict[int, _Waiter] = {}  # jobs of this process waiting for a turn
        self._held: dict[int, str] = {}  # jobs this process holds (waiting or painting)
        self._held_until: dict[int, float] = {}  # until when (clock) no one can take each
        self._gone: deque[int] = deque(maxlen=GONE_KEPT)  # jobs this process let go
        self._claimer: asyncio.Task[None] | None = None

    def holder(self, job_id: int) -> str:
        """Who holds `job_id` here."""
        return holder_of(self._process, job_id)

    async def start(self) -> None:
        """Listen for the line moving anywhere (so that waiters look again at once), and
        keep the holds of this process's jobs alive; both stop at `close()`."""
        self._tasks = [
            asyncio.create_task(self._listen(), name="line-listener"),
            asyncio.create_task(self._keep_alive(), name="line-keeper"),
        ]

    def keep(self, job_id: int) -> None:
        """This process holds `job_id` now (its hold just taken): renew it until `let_go`."""
        self._held[job_id] = self.holder(job_id)
        self._held_until[job_id] = self._clock() + self.lease.total_seconds()

    def let_go(self, job_id: int) -> None:
        """This process no longer holds `job_id`: whoever has it now shows it."""
        self._held.pop(job_id, None)
        self._held_until.pop(job_id, None)
        self._gone.append(job_id)

    def holds(self, job_id: int) -> bool:
        """Whether this process may still show `job_id`: not once it let the job go (to
        another worker, at a stop), nor once its hold was lost or lapsed unrenewed (a
        process frozen longer than a lease comes back to jobs others may have taken)."""
        if job_id in self._gone:
            return False
        until = self._held_until.get(job_id)
        return until is None or self._clock() < until

    async def _keep_alive(self) -> None:
        """Renew the holds of every job held here, in one statement every third of a lease,
        until the line is closed and the last job held here is let go (a stopping worker's
        paintings keep their holds while they finish)."""
        while not (self._closed and not self._held):
            await asyncio.sleep(self.lease.total_seconds() / 3)
            asked, held = self._clock(), dict(self._held)
            try:
                lost = await self._store.renew_holds(held, self._now(), self.lease)
            except Exception:
                log.warning("could not renew this worker's holds", exc_info=True)
                continue
            for job_id in set(held) - lost:
                if job_id in self._held_until:
                    self._held_until[job_id] = asked + self.lease.total_seconds()
            for job_id in lost:
                log.warning("job %d: lost its hold to another worker", job_id)
                self.let_go(job_id)

    async def _listen(self) -> None:
        """Hear the line move on Redis until closed; a lost connection is listened to again
        after a pause (waiters poll meanwhile). Each read waits at most `POLL` seconds, so
        an idle connection is checked (`health_check_interval`) rather than timed out."""
        failures = 0
        while not self._closed:
            pubsub = self._redis.pubsub()
            try:
                await pubsub.subscribe(CHANGED)
                failures = 0
                while not self._closed:
                    message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=POLL)
                    if message is not None:
                        self._changed.set()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("stopped hearing the line's changes; polling meanwhile", exc_info=True)
                failures += 1
            finally:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(pubsub.aclose(), 2)
            await asyncio.sleep(LISTEN_BACKOFF[min(failures, len(LISTEN_BACKOFF) - 1)])

    async def announce(self) -> None:
        """Tell every process that the line moved (a job ended elsewhere)."""
        await self.changed()

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
        """Wait for the job's turn in the shared line, then hold it for the block (see
        `bot.jobs.line.Line.turn`; `JobEnded` also when another holder took the job).

        The jobs this process holds ask together: one claimer per process asks the
        database for all of them at once, whenever the line may have moved."""
        if self._closed:
            raise ShuttingDown()
        waiter = _Waiter(self.holder(ticket.job_id), resume)
        self._waiting[ticket.job_id] = waiter
        self._kick()
        try:
            await self._wait(ticket, waiter, on_wait)
        finally:
            self._waiting.pop(ticket.job_id, None)
        try:
            yield
        finally:
            await asyncio.shield(self._end_turn(ticket.job_id, waiter.holder))

    async def _wait(self, ticket: Ticket, waiter: _Waiter, on_wait: WaitCallback | None) -> None:
        told: Place | None = None
        while True:
            if self._closed:
                raise ShuttingDown()
            if waiter.cancelled:
                raise JobCancelled(detail=f"job {ticket.job_id} cancelled while waiting")
            if ticket.start_by is not None and self._clock() >= ticket.start_by:
                raise WaitedTooLong()
            answer = await waiter.next()
            if answer is None:
                continue  # woken to look at the clock, the closing or a cancel
            if answer.expired:
                raise WaitedTooLong()
            if answer.ended:
                raise JobEnded(f"job {ticket.job_id} is no longer waiting here")
            if answer.granted:
                return
            place = Place(answer.position, None) if answer.position else None
            if place is not None and place != told and on_wait is not None:
                told = place
                await _tell(on_wait, place)

    async def _end_turn(self, job_id: int, holder: str) -> None:
        try:
            await self._store.end_turn(job_id, holder)
        except Exception:  # its lease runs out; the line counts the turn until then
            log.warning("job %d: could not end its turn", job_id, exc_info=True)
        await self.changed()

    def _kick(self) -> None:
        """Make the claimer ask now (starting it if it sleeps)."""
        self._changed.set()
        if self._claimer is None or self._claimer.done():
            self._claimer = asyncio.create_task(self._claim(), name="line-claimer")

    async def _claim(self) -> None:
        """Ask for turns for every job waiting here, again whenever the line may have moved
        (a change heard, a job started waiting here) or every `POLL` seconds, until no job
        waits here or the line closes."""
        while self._waiting and not self._closed:
            self._changed.clear()
            asking = {job_id: w for job_id, w in self._waiting.items() if not w.decided}
            if asking and await self._ask(asking):
                continue  # the line moved: look again at once
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(POLL):
                    await self._changed.wait()
            for waiter in self._waiting.values():
                waiter.tell(None)  # let each look at its deadline

    async def _ask(self, asking: dict[int, _Waiter]) -> bool:
        """One request for turns for `asking`; tells each its answer. True if the line moved
        (a turn given, a job over)."""
        try:
            paused = await self._paused() > 0  # no turn starts during a provider pause
            answers = await self._store.take_turns(
                {job_id: waiter.holder for job_id, waiter in asking.items()},
                self._now(),
                self.lease,
                0 if paused else self._concurrency,
                first={job_id for job_id, waiter in asking.items() if waiter.first},
                start_margin=self._start_margin,
            )
        except Exception:
            log.warning("could not ask the line for turns; asking again", exc_info=True)
            return False
        for job_id, answer in answers.items():
            asking[job_id].tell(answer)
        return any(answer.granted or answer.ended for answer in answers.values())

    async def pace(self, pictures: int = 1, *, until: float | None = None) -> None:
        """Wait out a provider pause any worker heard of and room in the shared rate limit,
        then count this call's `pictures`; `WaitedTooLong` when that would pass `until`."""
        while True:
            wait = await self._paused()
            if wait <= 0:
                wait = 0.0 if self._rate is None else await self._rate.acquire(pictures)
                if wait <= 0:
                    return
            if until is not None and self._clock() + wait > until:
                raise WaitedTooLong(detail="no room in the provider's limit before the deadline")
            self._pacing.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait):
                    await self._pacing.wait()

    async def _paused(self) -> float:
        """Seconds left of the provider's pause, as Redis has it now."""
        paused = await self._redis.get(PAUSED)
        self._paused_until = float(paused) if paused else 0.0
        return self._paused_until - self._wall()

    def poke(self) -> None:
        """Look at the clocks and the line again now (e.g. after a fake clock moved)."""
        self._pacing.set()
        self._kick()
        for waiter in self._waiting.values():
            waiter.tell(None)

    def pause(self, seconds: float) -> None:
        """The provider answered 429: every worker waits `seconds` before its next call."""
        until = self._wall() + seconds
        self._paused_until = max(self._paused_until, until)
        task = asyncio.create_task(self._pause_until(until), name="line-pause")
        task.add_done_callback(_log_failure)
        log.info("Provider asked us to slow down: no new paintings for %.1f s", seconds)

    def paused_for(self) -> float:
        """Seconds left of the provider's pause, as this process last heard it."""
        return max(0.0, self._paused_until - self._wall())

    async def _pause_until(self, until: float) -> None:
        script = (
            "local now = tonumber(redis.call('GET', KEYS[1]) or '0') "
            "if tonumber(ARGV[1]) > now then "
            "redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) end"
        )
        lasts = max(1, int((until - self._wall()) * 1000))
        await self._redis.eval(script, 1, PAUSED, repr(until), lasts)

    async def cancel(self, job_id: int) -> bool:
        """Cancel a job waiting in this process: its turn raises `JobCancelled` (its runner
        ends it with the sentence). False when it does not wait here: the job service ends
        it in the database, and its holder hears the line move."""
        waiter = self._waiting.get(job_id)
        if waiter is None:
            return False
        waiter.cancelled = True
        waiter.tell(None)
        return True

    async def places(self, job_ids: Collection[int]) -> dict[int, Place]:
        """Where each of `job_ids` stands in the line of every process (no wait estimated:
        no process measures every worker's turns)."""
        positions = await self._store.line_positions(
            self._now(), self._concurrency, start_margin=self._start_margin
        )
        return {job_id: Place(positions[job_id], None) for job_id in job_ids if job_id in positions}

    async def depth(self) -> int:
        """How many held jobs wait for a turn, in every process."""
        return await self._store.waiting_count(self._now())

    def close(self) -> None:
        """Take no more turns: waiters raise `ShuttingDown` at their next look; the listener
        stops now, the keeper once the last job held here is let go."""
        self._closed = True
        self._changed.set()
        for waiter in self._waiting.values():
            waiter.tell(None)
        if self._tasks:
            self._tasks[0].cancel()  # the listener; the keeper ends by itself


def _log_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.warning("could not share the provider's pause", exc_info=task.exception())


async def _tell(on_wait: WaitCallback, place: Place) -> None:
    try:
        await on_wait(place)
    except Exception:  # the callback must not raise; if it does, the job still waits its turn
        log.exception("on_wait callback failed at position %d", place.position)
