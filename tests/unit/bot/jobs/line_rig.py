"""Jobs asking the in-process line for turns on a fake clock, for its tests."""

from __future__ import annotations

import asyncio

from bot.jobs.line import Place, Ticket
from bot.jobs.local_line import LocalLine
from bot.jobs.ratelimit import RateLimit


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def failure(task: asyncio.Task[None]) -> BaseException | None:
    """What a finished job raised (None: it ran its turn); it must have finished already."""
    assert task.done(), "the job is still waiting"
    return task.exception()


async def settle() -> None:
    """Let every ready task run until the loop is quiet."""
    for _ in range(20):
        await asyncio.sleep(0)


class Line:
    """Jobs that ask a scheduler for turns; a started job holds its turn until `finish()`."""

    def __init__(self, concurrency: int = 1, rate: RateLimit | None = None) -> None:
        self.clock = FakeClock()
        self.local = LocalLine(concurrency=concurrency, rate=rate, clock=self.clock)
        self.started: list[int] = []
        self.paced: list[int] = []  # jobs whose image call the rate limit let through
        self.told: dict[int, list[Place]] = {}
        self.tasks: dict[int, asyncio.Task[None]] = {}
        self._done: dict[int, asyncio.Event] = {}

    async def ask(
        self,
        job_id: int,
        guild: int | None = 1,
        user: int = 1,
        *,
        cap: int | None = None,
        start_by: float | None = None,
        resume: bool = False,
    ) -> asyncio.Task[None]:
        ticket = Ticket(job_id, guild, user, running_cap=cap, start_by=start_by)
        self.told[job_id] = []
        self._done[job_id] = asyncio.Event()

        async def on_wait(place: Place) -> None:
            self.told[job_id].append(place)

        async def job() -> None:
            async with self.local.turn(ticket, on_wait, resume=resume):
                self.started.append(job_id)
                await self.local.pace()
                self.paced.append(job_id)
                await self._done[job_id].wait()

        self.tasks[job_id] = asyncio.create_task(job())
        await settle()
        return self.tasks[job_id]

    async def finish(self, *job_ids: int) -> None:
        for job_id in job_ids:
            self._done[job_id].set()
        await settle()

    async def advance(self, seconds: float) -> None:
        self.clock.now += seconds
        self.local.poke()
        await settle()

    def positions(self) -> list[int]:
        return [ticket.job_id for ticket, _ in self.local.waiting()]

    async def finish_all(self) -> None:
        self.local.close()
        for done in self._done.values():
            done.set()
        await settle()
        for task in self.tasks.values():
            task.cancel()  # a job still pacing (waiting for the rate limit) stops there
        await asyncio.gather(*self.tasks.values(), return_exceptions=True)
