"""The job engine: where jobs run, and what heals them. One protocol, two engines, chosen
once when the bot is wired (`bot.app`):

- `LocalEngine` (`ROLE=all`, one process): each job runs in a task of this process, and
  waits in the in-process line (`bot.jobs.local_line`);
- `ClusterEngine` (`ROLE=gateway` / `worker`, `bot.jobs.cluster`): gateways put job ids on
  a queue, painting workers run them through the line they share (`bot.jobs.shared_line`).

Both run the same `Runner`, and both **sweep**: at least every `QUEUE_SWEEP` seconds, every
unfinished job that nobody is running is run again, or ended with its sentence and its
money released when its interaction can no longer be answered. A start sweeps at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from bot.jobs.line import Line
from bot.jobs.runner import Runner
from bot.ops.ports import Queue
from bot.storage.job_records import JobRecord
from bot.storage.repository import Store

log = logging.getLogger(__name__)


class Engine(Protocol):
    """Runs jobs, sweeps up what nobody runs, and stops without losing any."""

    runner: Runner  # the one way a job is made, whichever engine runs it

    @property
    def line(self) -> Line:
        """The line jobs wait in for a painting turn."""
        ...

    @property
    def queue(self) -> Queue | None:
        """The queue shared with other processes (None: jobs run in this process)."""
        ...

    async def start(self) -> None:
        """Start the background work: the sweep (and, on a worker, taking deliveries)."""
        ...

    async def launch(self, job: JobRecord) -> None:
        """Run a newly admitted job (here, or on a painting worker); never raises: a job
        that can't be handed on is ended with its sentence."""
        ...

    async def sweep(self) -> int:
        """Run again or end every unfinished job nobody runs; how many were put to run."""
        ...

    async def drain(self, timeout: float) -> bool:  # noqa: ASYNC109 - a deadline, not an error
        """Wait until every job this process runs has ended; False if `timeout` came first."""
        ...

    async def stop(self, grace: float) -> None:
        """Take no new work; let running jobs finish for up to `grace` seconds; waiting ones
        stay queued in the database for the next start (or another worker)."""
        ...


class Sweeper:
    """Calls `sweep` every `every` seconds until cancelled (a failure is logged, and tried
    again at the next round)."""

    def __init__(self, sweep: Callable[[], Awaitable[int]], every: float) -> None:
        self._sweep = sweep
        self._every = every
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Sweep from now on (the first round after `every` seconds)."""
        self._task = asyncio.create_task(self._run(), name="job-sweeper")

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._every)
            try:
                await self._sweep()
            except Exception:
                log.warning("the sweep failed; trying again in %.0f s", self._every, exc_info=True)

    async def stop(self) -> None:
        """Sweep no more."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


class LocalEngine:
    """Jobs in one process: each runs in a task of its own."""

    def __init__(self, runner: Runner, store: Store, *, sweep_every: float) -> None:
        self.runner = runner
        self._store = store
        self._tasks: dict[int, asyncio.Task[None]] = {}  # by job id: one task per job
        self._ended: set[int] = set()  # jobs whose task ended since the sweep began
        self._sweeper = Sweeper(self.sweep, sweep_every)
        self._stopping = False

    @property
    def line(self) -> Line:
        """The in-process line the runner waits in."""
        return self.runner.line

    @property
    def queue(self) -> Queue | None:
        """None: jobs run here."""
        return None

    async def start(self) -> None:
        """Resume what an earlier run left, then sweep every `sweep_every` seconds."""
        await self.sweep()
        self._sweeper.start()

    async def launch(self, job: JobRecord) -> None:
        """Run the job in a task of this process."""
        self._spawn(job)

    def _spawn(self, job: JobRecord) -> bool:
        if job.id in self._tasks or self._stopping:
            return False  # it runs here already (a sweep and a submit may both find it)
        task = asyncio.create_task(self.runner.run(job), name=f"job-{job.id}")
        self._tasks[job.id] = task
        task.add_done_callback(lambda _: self._done(job.id))
        return True

    def _done(self, job_id: int) -> None:
        self._tasks.pop(job_id, None)
        self._ended.add(job_id)

    async def sweep(self) -> int:
        """Run again (or end, when it can no longer be answered) every unfinished job that
        no task of this process runs: left by the previous run, or given up while the
        database was away."""
        self._ended.clear()
        put = 0
        for job in await self._store.unfinished_jobs():
            if job.id in self._tasks or job.id in self._ended:
                continue  # running here, or just ended (the list is older than that)
            revived = await self.runner.revive(job)
            if revived is not None and self._spawn(revived):
                put += 1
        if put:
            log.info("resumed %d unfinished jobs nobody ran", put)
        return put

    async def drain(self, timeout: float) -> bool:  # noqa: ASYNC109 - a deadline, not an error
        """Wait until every job this process runs has ended; False if `timeout` came first."""
        tasks = set(self._tasks.values())
        if not tasks:
            return True
        _, late = await asyncio.wait(tasks, timeout=timeout)
        return not late

    async def stop(self, grace: float) -> None:
        """Take no new work; let running jobs finish for up to `grace` seconds. Waiting jobs
        leave the line at once and stay queued; jobs still running after `grace` are
        cancelled and, like a crash, resumed or ended by the next start."""
        self._stopping = True
        await self._sweeper.stop()
        self.line.close()
        await stop_tasks(set(self._tasks.values()), grace)


async def stop_tasks(tasks: set[asyncio.Task[Any]], grace: float) -> None:
    """Let `tasks` finish for up to `grace` seconds, then cancel the rest (and wait a few
    seconds more for them to unwind)."""
    if not tasks:
        return
    log.info("stopping: waiting up to %.0f s for %d jobs", grace, len(tasks))
    _, late = await asyncio.wait(tasks, timeout=grace)
    for task in late:
        task.cancel()
    if late:
        log.warning("stopped with %d jobs unfinished; they are resumed later", len(late))
        await asyncio.wait(late, timeout=5)
