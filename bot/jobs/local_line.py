"""The in-process line (one process: `ROLE=all`): painting turns in memory, decided by the
line's rules (`bot.jobs.rules`), the provider's limit counted in memory.

A job asks for a turn with a `Ticket`; whenever anything changes (a job arrives, a turn ends,
a pause ends, a deadline passes) the line asks the rules once, in one pass per loop
iteration, who starts and where everyone else stands, and tells each waiter. Right before
each image call the job `pace()`s, which waits for room in the provider's rate limit (counted
at the call, so the provider's window and ours agree however long the job took to plan).

All decisions read the injected `clock`; the rate-limit window lives in the `limits` library,
which counts with `time.time()` and answers in relative seconds, so the two clocks never mix.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import math
import time
from collections import Counter, deque
from collections.abc import AsyncIterator, Callable, Collection
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, TypeVar

from bot.errors import JobCancelled, PicassoError, ShuttingDown, WaitedTooLong
from bot.jobs.line import Place, Ticket, WaitCallback
from bot.jobs.ratelimit import RateLimit
from bot.jobs.rules import Candidate, Person, Served, rank

log = logging.getLogger(__name__)
K = TypeVar("K", bound=Any)

_RECENT_TURNS = 20  # how many measured turn durations the ETA averages
_SERVED_KEPT = 4096  # beyond this many remembered servers or people, forget the oldest half


class _State(Enum):
    WAITING = "waiting"
    STARTED = "started"
    FAILED = "failed"


@dataclass(eq=False, slots=True)
class _Waiter:
    candidate: Candidate
    on_wait: WaitCallback | None
    state: _State = _State.WAITING
    error: PicassoError | None = None
    place: Place | None = None
    told: Place | None = None  # the last Place given to on_wait
    started_at: float = 0.0
    wake: asyncio.Event = field(default_factory=asyncio.Event)


class LocalLine:
    """Starts painting turns by the line's rules within the slots, pauses and caps; paces
    provider calls."""

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
        self._arrivals = itertools.count()
        self._stamps = itertools.count()
        self._waiters: dict[int, _Waiter] = {}
        self._order: list[_Waiter] = []  # waiters in start order, as last decided
        self._served = Served()
        self._running = 0
        self._running_by_person: Counter[Person] = Counter()
        self._turns: deque[float] = deque(maxlen=_RECENT_TURNS)
        self._paused_until = -math.inf
        self._closed = False
        self._timer: asyncio.TimerHandle | None = None
        self._due = False  # a decision is scheduled for this loop iteration
        self._pacing = asyncio.Event()  # set to make pacers look at the clock again

    @property
    def running(self) -> int:
        """How many turns are held now."""
        return self._running

    @asynccontextmanager
    async def turn(
        self, ticket: Ticket, on_wait: WaitCallback | None = None, *, resume: bool = False
    ) -> AsyncIterator[None]:
        """Wait for the job's turn, then hold one painting slot for the block (see
        `bot.jobs.line.Line.turn`)."""
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

    async def pace(self, pictures: int = 1, *, until: float | None = None) -> None:
        """Wait until the provider may take one more call of `pictures` pictures (no 429
        pause running, room in its rate limit) and count them: await it right before each
        image request. Raises `WaitedTooLong` when that would be after `until`."""
        while True:
            wait = self._paused_until - self._clock()
            if wait <= 0:
                wait = 0.0 if self._rate is None else self._rate.acquire(pictures)
                if wait <= 0:
                    return
            if until is not None and self._clock() + wait > until:
                raise WaitedTooLong(detail="no room in the provider's limit before the deadline")
            self._pacing.clear()
            with suppress(TimeoutError):
                async with asyncio.timeout(wait):
                    await self._pacing.wait()

    async def cancel(self, job_id: int) -> bool:
        """Take a waiting job out of the line (its turn() raises JobCancelled); True if it was
        waiting here."""
        waiter = self._waiters.get(job_id)
        if waiter is None:
            return False
        self._fail(waiter, JobCancelled(detail=f"job {job_id} cancelled while waiting"))
        self._pump()
        return True

    def holds(self, job_id: int) -> bool:
        """One process: every job is this process's."""
        return True

    async def announce(self) -> None:
        """Something changed outside the line: decide again."""
        self._pump()

    def pause(self, seconds: float) -> None:
        """The provider answered 429: no turn starts for `seconds` (the later end wins)."""
        until = self._clock() + seconds
        if until > self._paused_until:
            self._paused_until = until
            log.info("Provider asked us to slow down: no new paintings for %.1f s", seconds)
        self._pump()

    def paused_for(self) -> float:
        """Seconds left of the provider's pause (0: none)."""
        return max(0.0, self._paused_until - self._clock())

    def waiting(self) -> list[tuple[Ticket, Place]]:
        """Waiting jobs in the order they would start, with their places."""
        self._decide_now()
        return [(_ticket(w.candidate), w.place) for w in self._order if w.place is not None]

    def place(self, job_id: int) -> Place | None:
        """The job's place in line, or None when it is not waiting."""
        self._decide_now()
        waiter = self._waiters.get(job_id)
        return None if waiter is None else waiter.place

    async def places(self, job_ids: Collection[int]) -> dict[int, Place]:
        """The places of those of `job_ids` waiting here (this line is the whole line)."""
        found = {job_id: self.place(job_id) for job_id in job_ids}
        return {job_id: place for job_id, place in found.items() if place is not None}

    async def depth(self) -> int:
        """How many jobs wait for a turn."""
        return len(self._waiters)

    def close(self) -> None:
        """Start no more turns: every waiter's turn() raises ShuttingDown; held turns go on."""
        self._closed = True
        for waiter in list(self._waiters.values()):
            self._fail(waiter, ShuttingDown(detail="line closed"))
        self._order = []
        self._arm(None)

    def poke(self) -> None:
        """Look at the clock and the line again now (e.g. after a fake clock moved)."""
        self._pacing.set()
        self._decide_now(force=True)

    # The waiters

    def _enter(self, ticket: Ticket, resume: bool, on_wait: WaitCallback | None) -> _Waiter:
        if self._closed:
            raise ShuttingDown(detail="line closed")
        if ticket.job_id in self._waiters:
            raise ValueError(f"job {ticket.job_id} is already waiting for a turn")
        if ticket.start_by is not None and self._clock() >= ticket.start_by:
            raise WaitedTooLong(detail=f"job {ticket.job_id} asked after its start-by time")
        candidate = Candidate(
            ticket.job_id,
            ticket.guild_id,
            ticket.user_id,
            next(self._arrivals),
            resumed=resume,
            cap=ticket.running_cap,
            start_by=ticket.start_by,
        )
        waiter = _Waiter(candidate, on_wait)
        self._waiters[ticket.job_id] = waiter
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

    def _leave(self, waiter: _Waiter) -> None:
        """A waiter's task was cancelled from outside: it leaves quietly."""
        del self._waiters[waiter.candidate.job_id]
        waiter.state = _State.FAILED
        self._pump()

    def _fail(self, waiter: _Waiter, error: PicassoError) -> None:
        del self._waiters[waiter.candidate.job_id]
        waiter.state = _State.FAILED
        waiter.error = error
        waiter.wake.set()

    def _start(self, waiter: _Waiter, now: float) -> None:
        candidate = waiter.candidate
        del self._waiters[candidate.job_id]
        waiter.state = _State.STARTED
        waiter.started_at = now
        self._running += 1
        self._running_by_person[candidate.person] += 1
        self._served.serve(candidate, next(self._stamps))
        waiter.wake.set()
        log.debug("Job %s starts painting (%d running)", candidate.job_id, self._running)

    def _release(self, waiter: _Waiter, *, measure: bool = True) -> None:
        if measure:
            self._turns.append(self._clock() - waiter.started_at)
        self._running -= 1
        self._running_by_person[waiter.candidate.person] -= 1
        if not self._running_by_person[waiter.candidate.person]:
            del self._running_by_person[waiter.candidate.person]
        self._pump()

    # Deciding: once per loop iteration, whatever changed

    def _pump(self) -> None:
        """Something changed: decide again, once for all the changes of this iteration."""
        if self._closed or self._due:
            return
        self._due = True
        try:
            asyncio.get_running_loop().call_soon(self._decide_now)
        except RuntimeError:  # outside a loop (a test's setup): decide at once
            self._decide_now()

    def _decide_now(self, *, force: bool = False) -> None:
        """Apply the rules: fail the expired, start whoever may start, place everyone."""
        if not (self._due or force) or self._closed:
            return
        self._due = False
        now = self._clock()
        paused = now < self._paused_until
        ranking = rank(
            (waiter.candidate for waiter in self._waiters.values()),
            free=0 if paused else self._concurrency - self._running,
            running=self._running_by_person,
            served=self._served,
            now=now,
        )
        for candidate in ranking.expired:
            self._fail(
                self._waiters[candidate.job_id],
                WaitedTooLong(detail=f"job {candidate.job_id} expired"),
            )
        for candidate in ranking.start:
            self._start(self._waiters[candidate.job_id], now)
        self._order = [self._waiters[candidate.job_id] for candidate in ranking.line]
        eta = self._estimator()
        for position, waiter in enumerate(self._order, start=1):
            waiter.place = Place(position, eta(position))
            if waiter.on_wait and _differs(waiter.place, waiter.told):
                waiter.wake.set()
        self._forget_long_served()
        deadlines = (w.candidate.start_by for w in self._waiters.values())
        next_deadline = min((d for d in deadlines if d is not None), default=None)
        pause_end = self._paused_until if paused and self._waiters else None
        self._arm(_earliest(pause_end, next_deadline))

    def _forget_long_served(self) -> None:
        """Keep the memory of serves bounded: past `_SERVED_KEPT`, forget the oldest half of
        those not waiting (they would rank first either way; only memory is saved)."""
        if len(self._served.people) <= _SERVED_KEPT:
            return  # (there are never more servers than people)
        waiters = self._waiters.values()
        _forget_oldest_half(self._served.people, {w.candidate.person for w in waiters})
        _forget_oldest_half(self._served.servers, {w.candidate.server for w in waiters})

    # Places

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
        """Wake up at `when` (the line's clock) to decide again; one timer at most."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if when is not None:
            self._timer = _call_later(max(0.0, when - self._clock()), self._wake_up)

    def _wake_up(self) -> None:
        self._timer = None
        self._pump()


def _forget_oldest_half(stamps: dict[K, float], waiting: set[K]) -> None:
    idle = sorted((stamp, key) for key, stamp in stamps.items() if key not in waiting)
    for _, key in idle[: len(idle) // 2]:
        del stamps[key]


def _ticket(candidate: Candidate) -> Ticket:
    return Ticket(
        candidate.job_id, candidate.server, candidate.user_id, candidate.cap, candidate.start_by
    )


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
