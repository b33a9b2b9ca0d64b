"""One fair, in-process scheduler that decides when each job may start painting.

A job asks for a turn with a `Ticket`; the scheduler starts it when a painting slot is free,
no 429 pause is running and the person is under their cap; right before each image call the
job `pace()`s, which waits for room in the provider's rate limit (counted at the call, so the
provider's window and ours agree however long the job took to plan).

Among the jobs that may start, servers take turns, then people within a server, and one
person's jobs keep their order (`bot.jobs.fairness`).
While a job waits it is told its `Place` (position and an estimated wait) whenever that changes;
places are worked out in one pass per loop iteration, however many changes it brought.

All decisions read the injected `clock`; the rate-limit window lives in the `limits` library,
which counts with `time.time()` and answers in relative seconds, so the two clocks never mix.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
import math
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from enum import Enum

from bot.errors import JobCancelled, PicassoError, ShuttingDown, WaitedTooLong
from bot.jobs.fairness import FairLine, Person
from bot.jobs.ratelimit import RateLimit

log = logging.getLogger(__name__)

_RECENT_TURNS = 20  # how many measured turn durations the ETA averages


@dataclass(frozen=True, slots=True)
class Ticket:
    """Who asks for a turn, and the limits that apply to this one job."""

    job_id: int
    guild_id: int | None  # None = direct messages (treat as its own "server")
    user_id: int
    running_cap: int | None = None  # at most this many of this person's jobs painting at once
    start_by: float | None = None  # scheduler-clock time after which this job must not start


@dataclass(frozen=True, slots=True)
class Place:
    """Where a waiting job stands: 1 = next to start."""

    position: int
    eta_seconds: float | None  # None until a turn has been measured


WaitCallback = Callable[[Place], Awaitable[None]]


class _State(Enum):
    WAITING = "waiting"
    STARTED = "started"
    FAILED = "failed"


@dataclass(eq=False, slots=True)
class _Waiter:
    ticket: Ticket
    seq: int  # arrival order, breaks ties between never-served servers and people
    resumed: bool
    on_wait: WaitCallback | None
    state: _State = _State.WAITING
    error: PicassoError | None = None
    place: Place | None = None
    told: Place | None = None  # the last Place given to on_wait
    started_at: float = 0.0
    wake: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def server(self) -> int | None:
        return self.ticket.guild_id

    @property
    def person(self) -> Person:
        return (self.ticket.guild_id, self.ticket.user_id)


class Scheduler:
    """Starts painting turns fairly within the slots, pauses and caps; paces provider calls."""

    def __init__(
        self,
        *,
        concurrency: int,
        rate: RateLimit | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self._concurrency = concurrency
        self._rate = rate
        self._clock = clock
        self._seq = itertools.count()
        self._waiters: dict[int, _Waiter] = {}
        self._order: list[_Waiter] = []  # waiters in start order, as last placed
        self._line: FairLine[_Waiter] = FairLine()
        self._deadlines: list[tuple[float, int, _Waiter]] = []  # heap; stale entries skipped
        self._running = 0
        self._running_by_user: dict[int, int] = {}
        self._turns: deque[float] = deque(maxlen=_RECENT_TURNS)
        self._paused_until = -math.inf
        self._closed = False
        self._timer: asyncio.TimerHandle | None = None
        self._moved = False  # the line changed since places were last given
        self._pacing = asyncio.Event()  # set to make pacers look at the clock again

    @property
    def running(self) -> int:
        """How many turns are held now."""
        return self._running

    @asynccontextmanager
    async def turn(
        self, ticket: Ticket, on_wait: WaitCallback | None = None, *, resume: bool = False
    ) -> AsyncIterator[None]:
        """Wait for the job's turn, then hold one painting slot for the block.

        Raises `WaitedTooLong` when `ticket.start_by` passes first, `JobCancelled` after
        `cancel()`, `ShuttingDown` after `close()`. A `resume` ticket (its call got a 429)
        goes ahead of every other waiter and has no deadline: it already had its turn once.
        """
        waiter = self._enter(ticket, resume, on_wait)
        try:
            await self._wait(waiter)
        except BaseException:
            if waiter.state is _State.STARTED:  # started, then cancelled before the block ran
                self._release(waiter, measure=False)
            elif waiter.state is _State.WAITING:
                self._leave(waiter)
            raise
        try:
            yield
        finally:
            self._release(waiter)

    async def pace(self, pictures: int = 1) -> None:
        """Wait until the provider may take one more call of `pictures` pictures (no 429
        pause running, room in its rate limit) and count them: await it right before each
        image request."""
        while True:
            wait = self._paused_until - self._clock()
            if wait <= 0:
                wait = 0.0 if self._rate is None else self._rate.acquire(pictures)
                if wait <= 0:
                    return
            self._pacing.clear()
            with suppress(TimeoutError):
                async with asyncio.timeout(wait):
                    await self._pacing.wait()

    def cancel(self, job_id: int) -> bool:
        """Take a waiting job out of the line (its turn() raises JobCancelled); True if it was
        waiting."""
        waiter = self._waiters.get(job_id)
        if waiter is None:
            return False
        self._fail(waiter, JobCancelled(detail=f"job {job_id} cancelled while waiting"))
        self._pump()
        return True

    def pause(self, seconds: float) -> None:
        """The provider answered 429: no turn starts for `seconds` (the later end wins)."""
        until = self._clock() + seconds
        if until > self._paused_until:
            self._paused_until = until
            log.info("Provider asked us to slow down: no new paintings for %.1f s", seconds)
        self._pump()

    def waiting(self) -> list[tuple[Ticket, Place]]:
        """Waiting jobs in the order they would start."""
        self._replace()
        return [(w.ticket, w.place) for w in self._order if w.place is not None]

    def place(self, job_id: int) -> Place | None:
        """The job's place in line, or None when it is not waiting."""
        self._replace()
        waiter = self._waiters.get(job_id)
        return None if waiter is None else waiter.place

    def close(self) -> None:
        """Start no more turns: every waiter's turn() raises ShuttingDown; held turns go on."""
        self._closed = True
        for waiter in list(self._waiters.values()):
            self._fail(waiter, ShuttingDown(detail="scheduler closed"))
        self._order = []
        self._arm(None)

    def poke(self) -> None:
        """Look at the clock and the line again now (e.g. after a fake clock moved)."""
        self._pacing.set()
        self._pump()

    # The line

    def _enter(self, ticket: Ticket, resume: bool, on_wait: WaitCallback | None) -> _Waiter:
        if self._closed:
            raise ShuttingDown(detail="scheduler closed")
        if ticket.job_id in self._waiters:
            raise ValueError(f"job {ticket.job_id} is already waiting for a turn")
        if not resume and ticket.start_by is not None and self._clock() >= ticket.start_by:
            raise WaitedTooLong(detail=f"job {ticket.job_id} asked after its start-by time")
        waiter = _Waiter(ticket, next(self._seq), resume, on_wait)
        self._waiters[ticket.job_id] = waiter
        self._line.add(waiter)
        if not resume and ticket.start_by is not None:
            heapq.heappush(self._deadlines, (ticket.start_by, waiter.seq, waiter))
        self._pump()
        return waiter

    async def _wait(self, waiter: _Waiter) -> None:
        while waiter.state is _State.WAITING:
            waiter.wake.clear()
            place = waiter.place
            if waiter.on_wait and place is not None and _differs(place, waiter.told):
                waiter.told = place
                await _tell(waiter.on_wait, place)  # a move meanwhile sets `wake` again
            await waiter.wake.wait()
        if waiter.error is not None:
            raise waiter.error

    def _remove(self, waiter: _Waiter) -> None:
        """Take a waiter out of every structure of the line (not the deadline heap)."""
        del self._waiters[waiter.ticket.job_id]
        self._line.remove(waiter)

    def _leave(self, waiter: _Waiter) -> None:
        """A waiter's task was cancelled from outside: it leaves quietly."""
        self._remove(waiter)
        waiter.state = _State.FAILED
        self._pump()

    def _fail(self, waiter: _Waiter, error: PicassoError) -> None:
        self._remove(waiter)
        waiter.state = _State.FAILED
        waiter.error = error
        waiter.wake.set()

    def _start(self, waiter: _Waiter, now: float) -> None:
        self._remove(waiter)
        waiter.state = _State.STARTED
        waiter.started_at = now
        user = waiter.ticket.user_id
        self._running += 1
        self._running_by_user[user] = self._running_by_user.get(user, 0) + 1
        self._line.served(waiter)
        waiter.wake.set()
        log.debug("Job %s starts painting (%d running)", waiter.ticket.job_id, self._running)

    def _release(self, waiter: _Waiter, *, measure: bool = True) -> None:
        if measure:
            self._turns.append(self._clock() - waiter.started_at)
        user = waiter.ticket.user_id
        self._running -= 1
        left = self._running_by_user[user] - 1
        if left:
            self._running_by_user[user] = left
        else:
            del self._running_by_user[user]
        self._pump()

    # Deciding

    def _pump(self) -> None:
        """Fail expired waiters, start whoever may start, then re-place everyone."""
        if self._closed:
            return
        now = self._clock()
        self._expire(now)
        wake_at = self._start_turns(now)
        self._arm(_earliest(wake_at, self._next_deadline()))
        if not self._moved:  # place everyone once for all the changes of this loop iteration
            self._moved = True
            _call_soon(self._replace)

    def _expire(self, now: float) -> None:
        while self._deadlines and self._deadlines[0][0] <= now:
            _, _, waiter = heapq.heappop(self._deadlines)
            if waiter.state is _State.WAITING:
                self._fail(waiter, WaitedTooLong(detail=f"job {waiter.ticket.job_id} expired"))

    def _next_deadline(self) -> float | None:
        while self._deadlines and self._deadlines[0][2].state is not _State.WAITING:
            heapq.heappop(self._deadlines)
        return self._deadlines[0][0] if self._deadlines else None

    def _start_turns(self, now: float) -> float | None:
        """Start eligible waiters while slots allow; the time to look again, if blocked by time."""
        if now < self._paused_until:
            return self._paused_until if self._waiters else None
        while self._running < self._concurrency:
            waiter = self._line.next(self._capped)
            if waiter is None:
                return None
            self._start(waiter, now)
        return None

    def _capped(self, waiter: _Waiter) -> bool:
        cap = waiter.ticket.running_cap
        return cap is not None and self._running_by_user.get(waiter.ticket.user_id, 0) >= cap

    # Places

    def _replace(self) -> None:
        """Give every waiter its Place in one pass, and wake those whose Place changed."""
        if not self._moved:
            return
        self._moved = False
        self._order = list(self._line.in_order())
        eta = self._estimator()
        for position, waiter in enumerate(self._order, start=1):
            waiter.place = Place(position, eta(position))
            if waiter.on_wait and _differs(waiter.place, waiter.told):
                waiter.wake.set()

    def _estimator(self) -> Callable[[int], float | None]:
        """Seconds until the waiter at `position` starts; None before a turn was measured."""
        if not self._turns:
            return lambda position: None
        turn = sum(self._turns) / len(self._turns)
        per_second = math.inf if self._rate is None else self._rate.per_second
        paused = max(0.0, self._paused_until - self._clock())

        def eta(position: int) -> float:
            slots = math.ceil(position / self._concurrency) * turn
            return max(slots, position / per_second) + paused

        return eta

    def _arm(self, when: float | None) -> None:
        """Wake up at `when` (scheduler clock) to look again; one timer at most."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if when is not None:
            self._timer = _call_later(max(0.0, when - self._clock()), self._pump)


def _call_soon(callback: Callable[[], None]) -> None:
    with suppress(RuntimeError):  # outside a loop: waiting()/place() or the next change place
        asyncio.get_running_loop().call_soon(callback)


def _call_later(delay: float, callback: Callable[[], None]) -> asyncio.TimerHandle | None:
    try:
        return asyncio.get_running_loop().call_later(delay, callback)
    except RuntimeError:  # outside a loop: the next turn() or poke() looks again
        return None


def _differs(place: Place, told: Place | None) -> bool:
    if told is None or place.position != told.position:
        return True
    if place.eta_seconds is None or told.eta_seconds is None:
        return (place.eta_seconds is None) != (told.eta_seconds is None)
    return round(place.eta_seconds) != round(told.eta_seconds)


def _earliest(*times: float | None) -> float | None:
    known = [t for t in times if t is not None]
    return min(known) if known else None


async def _tell(on_wait: WaitCallback, place: Place) -> None:
    try:
        await on_wait(place)
    except Exception:  # the callback must not raise; if it does, the job still waits its turn
        log.exception("on_wait callback failed at position %d", place.position)
