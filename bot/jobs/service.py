"""Jobs in one process: submit, cancel, resume after a restart, stop without losing any.

The Discord layer builds an `Order` and calls `submit`; the job is admitted and recorded
(`Studio.admit`), then run by the `Runner` in a task of its own. `stop` lets running jobs
finish within a grace period and leaves waiting ones queued in the database; `recover`, on
the next start, resumes them, runs again what a crash cut short, and tells the people whose
jobs can no longer be done.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from bot.errors import JobCancelled, PicassoError, QueueDown, ShuttingDown, WaitedTooLong
from bot.formatting import clip
from bot.i18n import N_
from bot.jobs.line import SharedLine
from bot.jobs.queue import JobQueue
from bot.jobs.runner import Runner, start_by
from bot.jobs.scheduler import Place
from bot.models import GuildSettings
from bot.policy import Refused
from bot.storage.job_records import LIVE, JobKind, JobRecord, JobState
from bot.storage.turns import Hold
from bot.studio import Order, Studio

log = logging.getLogger(__name__)

# A job cut short this many times (crashes mid-picture) is not tried again.
MAX_ATTEMPTS: Final = 3
# msgids: a `PicassoError` carrying one translates it when it is read.
RESTARTED: Final = N_(
    "The bot restarted before your picture was finished — please ask again in a moment."
)
NOT_YOURS: Final = N_("Only the person who asked for this picture can cancel it.")
STARTED: Final = N_("Your picture is already being painted — it can't be cancelled any more.")
NOT_WAITING: Final = N_("That request is no longer waiting.")
QUEUE_DESCRIPTION_CHARS: Final = 80


@dataclass(frozen=True, slots=True)
class QueueEntry:
    """A job on its way, as the line shows it: being made (`started_at`) or waiting
    (`position` 1 = next to start, with an estimated wait, when it waits in this process's
    line; None for a moment around entering it or getting its turn)."""

    job_id: int
    user_id: int
    kind: JobKind
    state: JobState  # queued, running or posting
    description: str  # what was asked for, on one line, clipped
    position: int | None = None
    eta_seconds: float | None = None
    started_at: datetime | None = None

    @property
    def waiting(self) -> bool:
        """Still waiting for its turn (so its requester may cancel it)."""
        return self.state is JobState.QUEUED


class JobService:
    """Submits, cancels and resumes jobs; one per process."""

    def __init__(self, studio: Studio, runner: Runner, queue: JobQueue | None = None) -> None:
        self.studio = studio
        self.runner = runner
        self.job_queue = queue  # several processes: jobs go to painting workers through it
        self.accepting = True
        self._tasks: set[asyncio.Task[Any]] = set()
        self._taken: set[int] = set()  # jobs a delivery runs in this process (workers)

    async def submit(self, order: Order, settings: GuildSettings | None = None) -> JobRecord:
        """Admit `order` and start its job; raises `Refused`/`ShuttingDown` with the reason."""
        if not self.accepting:
            raise ShuttingDown()
        job = await self.studio.admit(order, settings)
        log.info("job %d (%s) submitted by user %d", job.id, job.kind.value, job.user_id)
        await self._start(job)
        return job

    async def _start(self, job: JobRecord) -> None:
        """Run the job here, or put it on the queue for a painting worker."""
        if self.job_queue is None:
            self._spawn(job)
            return
        try:
            await self.job_queue.put(job.id)
        except Exception as error:
            log.exception("job %d could not be put on the queue", job.id)
            await self.runner.end(job, JobState.FAILED, QueueDown(detail=str(error)))

    def _spawn(self, job: JobRecord) -> None:
        task = asyncio.create_task(self.runner.run(job), name=f"job-{job.id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def cancel(self, job_id: int, user_id: int) -> None:
        """Cancel a waiting job for its requester; raises `PicassoError` saying why not."""
        job = await self.studio.store.job(job_id)
        if job is None or job.state not in (JobState.QUEUED, JobState.RUNNING):
            raise PicassoError(NOT_WAITING)
        if job.user_id != user_id:
            raise Refused(NOT_YOURS)
        if job.state is not JobState.QUEUED:
            raise PicassoError(STARTED)
        if self.runner.scheduler.cancel(job_id):
            return  # its runner ends it, with the sentence
        # Not waiting in this process's line (about to, or just given its turn): end it here
        # if it has still not started; a runner that gets to it later finds it ended.
        if not await self.runner.end(job, JobState.CANCELLED, JobCancelled(), only_queued=True):
            raise PicassoError(STARTED)

    async def queue(self, guild_id: int | None, user_id: int | None) -> list[QueueEntry]:
        """The jobs on their way in a server (None: the DMs), only `user_id`'s when given:
        those being made first, oldest first, then the waiting ones in the order they start."""
        store, scheduler = self.studio.store, self.runner.scheduler
        jobs = await store.live_jobs(guild_id, user_id)
        if self.job_queue is None:
            entries = [_entry(job, scheduler.place(job.id)) for job in jobs]
        else:  # the line is the workers', in the database (no waits estimated)
            positions = await store.line_positions(self.studio.now())
            entries = [_entry(job, _shared_place(positions.get(job.id))) for job in jobs]
        return sorted(entries, key=_in_line_order)

    async def batch(self, batch: str) -> list[JobRecord]:
        """The takes of one Variations press, in order."""
        return await self.studio.store.batch_jobs(batch)

    async def recover(self) -> int:
        """Resume what an earlier run left unfinished; returns how many jobs were resumed.

        With a queue, every unfinished job's id goes (back) on it: a worker that finds its
        job held by a live worker, or ended, lets the delivery go.
        """
        if self.job_queue is not None:
            unfinished = await self.studio.store.unfinished_jobs()
            for job in unfinished:
                await self.job_queue.put(job.id)
            if unfinished:
                log.info("put %d unfinished jobs back on the queue", len(unfinished))
            return len(unfinished)
        resumed = 0
        for job in await self.studio.store.unfinished_jobs():
            revived = await self._revive(job)
            if revived is not None:
                self._spawn(revived)
                resumed += 1
        if resumed:
            log.info("resumed %d jobs left by the previous run", resumed)
        return resumed

    async def _revive(self, job: JobRecord) -> JobRecord | None:
        """A job found unfinished by a new start (or a new worker): queued again to run
        once more, or ended with its sentence (None) if it is too late or failed too often."""
        deadline = start_by(job)
        in_time = deadline is None or self.studio.now() < deadline
        if job.state is not JobState.QUEUED:
            if not in_time or job.attempts >= MAX_ATTEMPTS:
                await self.runner.end(job, JobState.FAILED, PicassoError(RESTARTED))
                return None
            log.warning(
                "job %d was cut short (%s); running it again — the provider may bill "
                "its picture twice",
                job.id,
                job.state.value,
            )
            await self.studio.store.requeue_job(job.id)
        elif not in_time:
            await self.runner.end(job, JobState.FAILED, WaitedTooLong())
            return None
        return job

    async def take(self, job_id: int) -> None:
        """Run a job a painting worker got from the queue: hold it (or, while another live
        worker holds it, watch until that one ends it or dies), take over a job whose worker
        died, run it through the shared line, and let it go. A worker stopping puts the
        jobs it leaves unfinished back on the queue; an unexpected error goes to saq, which
        hands the id out again."""
        if job_id in self._taken:
            return  # another delivery of it runs here already
        if not self.accepting:  # stopping: leave it to another worker
            if self.job_queue is not None:
                await self.job_queue.put(job_id)
            return
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        self._taken.add(job_id)
        try:
            await self._take(job_id)
        except Exception:
            log.exception("job %d: its delivery failed; the queue will hand it out again", job_id)
            raise
        finally:
            self._taken.discard(job_id)
            if task is not None:
                self._tasks.discard(task)
            if not self.accepting:  # stopping, or cancelled after the grace period
                await asyncio.shield(self._pass_on(job_id))

    async def _pass_on(self, job_id: int) -> None:
        """Put a job this stopping worker leaves unfinished back on the queue."""
        left_behind = await self.studio.store.job(job_id)
        if self.job_queue is not None and left_behind is not None and left_behind.state in LIVE:
            await self.job_queue.put(job_id)

    async def _take(self, job_id: int) -> None:
        line = self.runner.scheduler
        assert isinstance(line, SharedLine), "jobs are taken from the queue by workers only"
        store, holder = self.studio.store, line.holder(job_id)
        while True:
            holding = await store.hold(job_id, holder, self.studio.now(), line.lease)
            if holding.hold is Hold.ENDED:
                return
            if holding.hold is Hold.HELD:
                break
            assert holding.lease_until is not None
            left = (holding.lease_until - self.studio.now()).total_seconds()
            await asyncio.sleep(min(max(left, 0.2), line.lease.total_seconds()))
        line.keep(job_id)
        try:
            job = await store.job(job_id)
            if job is not None and holding.took_over:
                log.warning("job %d: its worker stopped answering; taking it over", job_id)
            if job is not None and job.state is not JobState.QUEUED:
                job = await self._revive(job)  # cut short where it ran
            if job is not None:
                await self.runner.run(job)
        finally:
            line.let_go(job_id)
            await asyncio.shield(store.release_hold(job_id, holder))
            await line.changed()

    async def drain(self, timeout: float) -> bool:  # noqa: ASYNC109 - a deadline, not an error
        """Wait until every job this process runs has ended; False if `timeout` came first."""
        tasks = set(self._tasks)
        if not tasks:
            return True
        _, late = await asyncio.wait(tasks, timeout=timeout)
        return not late

    async def stop(self, grace: float) -> None:
        """Take no new work; let running jobs finish for up to `grace` seconds.

        Waiting jobs leave the line at once and stay queued in the database for the next
        start. Jobs still running after `grace` are cancelled and, like a crash, resumed or
        ended by the next start.
        """
        if not self.accepting and not self._tasks:
            return
        self.accepting = False
        self.runner.scheduler.close()
        tasks = set(self._tasks)
        if tasks:
            log.info("stopping: waiting up to %.0f s for %d jobs", grace, len(tasks))
            _, late = await asyncio.wait(tasks, timeout=grace)
            for task in late:
                task.cancel()
            if late:
                log.warning(
                    "stopped with %d jobs unfinished; the next start resumes them", len(late)
                )
                await asyncio.wait(late, timeout=5)


def _entry(job: JobRecord, place: Place | None) -> QueueEntry:
    waiting = job.state is JobState.QUEUED
    place = place if waiting else None  # a started job waiting out a 429 is being made
    return QueueEntry(
        job_id=job.id,
        user_id=job.user_id,
        kind=job.kind,
        state=job.state,
        description=clip(" ".join(job.spec.request.description.split()), QUEUE_DESCRIPTION_CHARS),
        position=place.position if place else None,
        eta_seconds=place.eta_seconds if place else None,
        started_at=None if waiting else job.started_at,
    )


def _shared_place(position: int | None) -> Place | None:
    return None if position is None else Place(position, None)


def _in_line_order(entry: QueueEntry) -> tuple[int, int, int]:
    if not entry.waiting:
        return (0, 0, entry.job_id)
    if entry.position is None:  # about to enter the line, or just given its turn
        return (2, 0, entry.job_id)
    return (1, entry.position, entry.job_id)
