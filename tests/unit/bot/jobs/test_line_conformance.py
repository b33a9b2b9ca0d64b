"""One conformance suite for both backends of the line: the same scenarios, asked of the
in-process line (`LocalLine`, memory) and of the line shared by workers (`SharedLine`, on
PostgreSQL and Redis, with the jobs spread over two "processes", each its own SharedLine).

Each scenario asks for turns the way the runner does and watches who starts. Time is fake:
the lines' monotonic clock (deadlines) and wall clock (the shared pause) are moved by hand;
the provider's rate window, which the `limits` library counts with `time.time()`, is moved
with time-machine. Waits are for events, with generous bounds."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import pytest
import time_machine
from redis.asyncio import Redis

from bot.errors import JobCancelled, WaitedTooLong
from bot.jobs.line import Line, Place, Ticket
from bot.jobs.local_line import LocalLine
from bot.jobs.ratelimit import RateLimit
from bot.jobs.shared_line import SharedLine, SharedRateLimit
from bot.storage.database import make_engine, migrate
from bot.storage.job_records import JobState
from bot.storage.repository import Store
from tests.services import postgres_schema, redis_database
from tests.storage.records import limits, new_job

pytestmark = pytest.mark.timeout(60)

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
SETTLE = 10.0  # seconds an expected change may take to show (an upper bound, not a timing)


class FakeClock:
    def __init__(self, start: float) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


class Backend(Protocol):
    """What a scenario needs of a line: tickets for new jobs, the line each waits in."""

    clock: FakeClock

    async def ticket(self, name: str, guild: int | None, user: int, **given: Any) -> Ticket: ...

    async def resumed(self, name: str, guild: int | None, user: int, **given: Any) -> Ticket: ...

    def line_of(self, ticket: Ticket) -> Line: ...

    def any_line(self) -> Line: ...

    def poke(self) -> None: ...

    async def started(self, ticket: Ticket, resumed: bool) -> None: ...

    async def ended(self, ticket: Ticket) -> None: ...


class Local:
    """The in-process line."""

    def __init__(self, concurrency: int, rate: str | None) -> None:
        self.clock = FakeClock(1000.0)
        self.line = LocalLine(
            concurrency=concurrency, rate=RateLimit(rate) if rate else None, clock=self.clock
        )
        self._ids = iter(range(1, 10_000))

    async def ticket(self, name: str, guild: int | None, user: int, **given: Any) -> Ticket:
        return Ticket(next(self._ids), guild, user, **given)

    async def resumed(self, name: str, guild: int | None, user: int, **given: Any) -> Ticket:
        return await self.ticket(name, guild, user, **given)

    def line_of(self, ticket: Ticket) -> Line:
        return self.line

    def any_line(self) -> Line:
        return self.line

    def poke(self) -> None:
        self.line.poke()

    async def started(self, ticket: Ticket, resumed: bool) -> None:
        """The runner's own bookkeeping: nothing here."""

    async def ended(self, ticket: Ticket) -> None:
        """Nothing to let go."""


class Shared:
    """The shared line: two processes (SharedLines) over one database and one Redis."""

    def __init__(
        self, store: Store, redis: Redis, redis_url: str, concurrency: int, rate: str | None
    ) -> None:
        self.clock = FakeClock(1000.0)
        self.wall = FakeClock(2_000_000_000.0)
        self.store = store
        self.lines = [
            SharedLine(
                store,
                redis,
                process=f"p{n}",
                concurrency=concurrency,
                lease=timedelta(minutes=10),
                rate=SharedRateLimit(rate, redis_url) if rate else None,
                now=lambda: NOW,
                clock=self.clock,
                wall=self.wall,
            )
            for n in range(2)
        ]
        self._where: dict[int, SharedLine] = {}

    async def start(self) -> None:
        for line in self.lines:
            await line.start()

    async def ticket(self, name: str, guild: int | None, user: int, **given: Any) -> Ticket:
        cap = given.get("running_cap")
        job = await self.store.submit_job(
            new_job(user, guild=guild), limits(user_running=cap), 1, NOW
        )
        line = self.lines[len(self._where) % 2]
        self._where[job.id] = line
        holder = line.holder(job.id)
        assert (await self.store.hold(job.id, holder, NOW, line.lease)).hold.value == "held"
        line.keep(job.id)
        return Ticket(job.id, guild, user, **given)

    async def resumed(self, name: str, guild: int | None, user: int, **given: Any) -> Ticket:
        """A job that had its turn, started, and lost its turn to a provider pause."""
        ticket = await self.ticket(name, guild, user, **given)
        line = self._where[ticket.job_id]
        job = await self.store.job(ticket.job_id)
        assert job is not None
        assert await self.store.start_job(dataclasses.replace(job, holder=line.holder(job.id)), NOW)
        return ticket

    def line_of(self, ticket: Ticket) -> Line:
        return self._where[ticket.job_id]

    def any_line(self) -> Line:
        return self.lines[0]

    def poke(self) -> None:
        for line in self.lines:
            line.poke()

    async def started(self, ticket: Ticket, resumed: bool) -> None:
        """As the runner does once its job has its turn: queued → running."""
        if not resumed:
            job = await self.store.job(ticket.job_id)
            assert job is not None and await self.store.start_job(job, NOW)

    async def ended(self, ticket: Ticket) -> None:
        """As a worker does once its job is over (painted, or failed in line): the job
        ends, and the worker lets it go."""
        line = self._where[ticket.job_id]
        job = await self.store.job(ticket.job_id)
        assert job is not None
        await self.store.end_job(job, JobState.FAILED, "Over.", NOW)
        line.let_go(ticket.job_id)
        await self.store.release_hold(ticket.job_id, line.holder(ticket.job_id))
        await line.changed()

    def close(self) -> None:
        for line in self.lines:
            line.close()


class Asking:
    """Jobs asking a backend for turns the way the runner does; a started job holds its
    turn (and paces its call) until `finish`."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self.started: list[str] = []
        self.told: dict[str, list[Place]] = {}
        self.tickets: dict[str, Ticket] = {}
        self.tasks: dict[str, asyncio.Task[None]] = {}
        self._done: dict[str, asyncio.Event] = {}

    async def ask(
        self,
        name: str,
        guild: int | None = 1,
        user: int = 1,
        *,
        cap: int | None = None,
        start_by: float | None = None,
        resume: bool = False,
    ) -> asyncio.Task[None]:
        given = {"running_cap": cap, "start_by": start_by}
        make = self.backend.resumed if resume else self.backend.ticket
        ticket = await make(name, guild, user, **given)
        self.tickets[name] = ticket
        self.told[name] = []
        self._done[name] = asyncio.Event()
        line = self.backend.line_of(ticket)

        async def on_wait(place: Place) -> None:
            self.told[name].append(place)

        async def job() -> None:
            try:
                async with line.turn(ticket, on_wait, resume=resume):
                    await self.backend.started(ticket, resume)
                    self.started.append(name)
                    await self._done[name].wait()
            finally:
                await asyncio.shield(self.backend.ended(ticket))

        self.tasks[name] = asyncio.create_task(job())
        return self.tasks[name]

    async def until(self, what: Callable[[], bool], description: str) -> None:
        async with asyncio.timeout(SETTLE):
            while not what():
                await asyncio.sleep(0.01)
        assert what(), description

    async def started_exactly(self, *names: str) -> None:
        """Until these have started (in this order), then a moment more to see nothing else
        starts."""
        await self.until(lambda: len(self.started) >= len(names), f"{names} start")
        for _ in range(20):
            await asyncio.sleep(0)
        assert self.started == list(names)

    async def in_line(self, *names: str) -> None:
        """Until each of these is waiting with a place."""
        await self.until(lambda: all(self.told[n] for n in names), f"{names} are told a place")

    async def finish(self, *names: str) -> None:
        for name in names:
            self._done[name].set()
        await asyncio.gather(*(self.tasks[name] for name in names), return_exceptions=True)

    async def places(self, *names: str) -> dict[str, int]:
        ids = {self.tickets[name].job_id: name for name in names}
        found = await self.backend.any_line().places(list(ids))
        return {ids[job_id]: place.position for job_id, place in found.items()}

    async def failure(self, name: str) -> BaseException | None:
        task = self.tasks[name]
        async with asyncio.timeout(SETTLE):
            await asyncio.wait({task})
        return task.exception()

    async def close(self) -> None:
        for done in self._done.values():
            done.set()
        for task in self.tasks.values():
            task.cancel()
        await asyncio.gather(*self.tasks.values(), return_exceptions=True)


Make = Callable[..., Awaitable[Asking]]


@pytest.fixture(params=["local", "shared"])
async def make(request: pytest.FixtureRequest) -> AsyncIterator[Make]:
    """Makes an `Asking` on a fresh line of the backend: `await make(concurrency, rate)`."""
    async with AsyncExitStack() as stack:
        made: list[Asking] = []

        async def build(concurrency: int = 1, rate: str | None = None) -> Asking:
            if request.param == "local":
                asking = Asking(Local(concurrency, rate))
            else:
                url, connect_args = await stack.enter_async_context(postgres_schema())
                engine = make_engine(url, connect_args=connect_args)
                stack.push_async_callback(engine.dispose)
                await migrate(engine)
                redis_url = await stack.enter_async_context(redis_database())
                redis = Redis.from_url(redis_url)
                stack.push_async_callback(redis.aclose)
                shared = Shared(Store(engine), redis, redis_url, concurrency, rate)
                await shared.start()
                stack.callback(shared.close)
                asking = Asking(shared)
            made.append(asking)
            return asking

        yield build
        for asking in made:
            await asking.close()


async def test_a_flood_from_one_person_lets_another_persons_request_go_next(make: Make) -> None:
    line = await make(concurrency=1)
    await line.ask("a1", user=1)
    await line.started_exactly("a1")
    for n in range(2, 7):
        await line.ask(f"a{n}", user=1)
    await line.ask("b1", user=2)
    await line.in_line("a2", "a6", "b1")
    assert (await line.places("b1", "a2"))["b1"] == 1
    await line.finish("a1")
    await line.started_exactly("a1", "b1")
    await line.finish("b1")
    await line.started_exactly("a1", "b1", "a2")  # the flood keeps its own order


async def test_servers_take_turns_before_people(make: Make) -> None:
    line = await make(concurrency=1)
    await line.ask("x1", guild=10, user=1)
    await line.started_exactly("x1")
    await line.ask("x2", guild=10, user=2)  # never served, but its server was
    await line.ask("y1", guild=20, user=3)
    await line.in_line("x2", "y1")
    assert await line.places("x2", "y1") == {"y1": 1, "x2": 2}
    await line.finish("x1")
    await line.started_exactly("x1", "y1")


async def test_a_person_at_their_cap_is_passed_over_in_their_server_only(make: Make) -> None:
    line = await make(concurrency=4)
    await line.ask("a1", guild=10, user=1, cap=1)
    await line.started_exactly("a1")
    await line.ask("a2", guild=10, user=1, cap=1)
    await line.in_line("a2")
    await line.ask("b1", guild=10, user=2)
    await line.ask("a-there", guild=20, user=1, cap=1)  # the same person, another server
    await line.until(lambda: len(line.started) == 3, "b1 and a-there start")
    assert sorted(line.started) == ["a-there", "a1", "b1"]
    await line.finish("a1")
    await line.until(lambda: "a2" in line.started, "a2 starts once a1 ends")


async def test_a_resumed_job_goes_first(make: Make) -> None:
    line = await make(concurrency=1)
    await line.ask("p1", user=1)
    await line.started_exactly("p1")
    await line.ask("q1", user=2)
    await line.in_line("q1")
    await line.ask("again", user=3, resume=True)  # lost its turn to a provider pause
    await line.in_line("again")
    await line.finish("p1")
    await line.started_exactly("p1", "again")


async def test_a_job_whose_deadline_passes_in_line_ends(make: Make) -> None:
    line = await make(concurrency=1)
    await line.ask("p1", user=1)
    await line.started_exactly("p1")
    clock = line.backend.clock
    await line.ask("late", user=2, start_by=clock.now + 10)
    await line.ask("next", user=3)
    await line.in_line("late", "next")
    clock.now += 10
    line.backend.poke()
    assert isinstance(await line.failure("late"), WaitedTooLong)
    await line.finish("p1")
    await line.started_exactly("p1", "next")


async def pauses_written() -> None:
    """Until the pauses heard so far are written (the shared line writes each in a task of
    its own, named so; the local line keeps it in memory at once)."""
    await asyncio.gather(*(t for t in asyncio.all_tasks() if t.get_name() == "line-pause"))


async def test_no_turn_starts_during_a_provider_pause(make: Make) -> None:
    line = await make(concurrency=2)
    await line.ask("p1", user=1)
    await line.started_exactly("p1")
    line.backend.any_line().pause(30)
    await pauses_written()
    await line.ask("q1", user=2)
    await line.in_line("q1")
    for _ in range(3):
        line.backend.poke()
        await asyncio.sleep(0.05)
    assert line.started == ["p1"]
    line.backend.clock.now += 31
    if isinstance(line.backend, Shared):
        line.backend.wall.now += 31
    line.backend.poke()
    await line.started_exactly("p1", "q1")


async def test_the_providers_limit_paces_calls_across_the_line(make: Make) -> None:
    with time_machine.travel(1_000_000.0, tick=False) as traveller:
        line = await make(concurrency=5, rate="3 per 10 seconds")
        pacer = line.backend.any_line()
        for _ in range(3):
            await asyncio.wait_for(pacer.pace(), SETTLE)
        fourth = asyncio.create_task(pacer.pace())
        await asyncio.sleep(0.1)
        assert not fourth.done()  # the window is full
        with pytest.raises(WaitedTooLong):  # no room before a deadline that comes first
            await pacer.pace(until=line.backend.clock.now + 1)
        traveller.shift(12)  # past the window (and the shared line's margin)
        line.backend.poke()
        await asyncio.wait_for(fourth, SETTLE)


async def test_cancel_takes_a_waiter_out_and_the_places_move_up(make: Make) -> None:
    line = await make(concurrency=1)
    await line.ask("p1", user=1)
    await line.started_exactly("p1")
    for name, user in (("q1", 2), ("q2", 3), ("q3", 4)):
        await line.ask(name, user=user)
    await line.in_line("q1", "q2", "q3")
    assert await line.places("q1", "q2", "q3") == {"q1": 1, "q2": 2, "q3": 3}
    ticket = line.tickets["q2"]
    assert await line.backend.line_of(ticket).cancel(ticket.job_id)
    assert isinstance(await line.failure("q2"), JobCancelled)
    assert await line.places("q1", "q2", "q3") == {"q1": 1, "q3": 2}
    await line.finish("p1")
    await line.started_exactly("p1", "q1")
