"""Jobs: submit, cancel, show the line, stop without losing any.

The Discord layer builds an `Order` and calls `submit`; the job is admitted and recorded
(`Studio.admit`), then launched by the engine the bot was wired with (`bot.jobs.engine`):
run in a task of this process, or handed to a painting worker. Nothing here knows which.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from bot.errors import JobCancelled, PicassoError, ShuttingDown
from bot.formatting import clip
from bot.i18n import N_
from bot.jobs.engine import Engine
from bot.jobs.line import Place
from bot.jobs.runner import Runner
from bot.models import GuildSettings
from bot.policy import Refused
from bot.storage.job_records import JobKind, JobRecord, JobState
from bot.studio import Order, Studio

log = logging.getLogger(__name__)

# msgids: a `PicassoError` carrying one translates it when it is read.
NOT_YOURS: Final = N_("Only the person who asked for this picture can cancel it.")
STARTED: Final = N_("Your picture is already being painted — it can't be cancelled any more.")
NOT_WAITING: Final = N_("That request is no longer waiting.")
QUEUE_DESCRIPTION_CHARS: Final = 80


@dataclass(frozen=True, slots=True)
class QueueEntry:
    """A job on its way, as the line shows it: being made (`started_at`) or waiting
    (`position` 1 = next to start, with an estimated wait where one is known; None for a
    moment around entering the line or getting its turn)."""

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
    """Submits, cancels and lists jobs; one per process, on the engine it was given."""

    def __init__(self, studio: Studio, engine: Engine) -> None:
        self.studio = studio
        self.engine = engine
        self.accepting = True

    @property
    def runner(self) -> Runner:
        """The runner every job of this process goes through."""
        return self.engine.runner

    async def submit(self, order: Order, settings: GuildSettings | None = None) -> JobRecord:
        """Admit `order` and launch its job; raises `Refused`/`ShuttingDown`/
        `StorageUnavailable` with the reason (then nothing is reserved)."""
        if not self.accepting:
            raise ShuttingDown()
        job = await self.studio.admit(order, settings)
        log.info("job %d (%s) submitted by user %d", job.id, job.kind.value, job.user_id)
        await self.engine.launch(job)
        return job

    async def cancel(self, job_id: int, user_id: int) -> None:
        """Cancel a waiting job for its requester; raises `PicassoError` saying why not."""
        job = await self.studio.store.job(job_id)
        if job is None or job.state not in (JobState.QUEUED, JobState.RUNNING):
            raise PicassoError(NOT_WAITING)
        if job.user_id != user_id:
            raise Refused(NOT_YOURS)
        if job.state is not JobState.QUEUED:
            raise PicassoError(STARTED)
        if await self.engine.line.cancel(job_id):
            return  # it waited in this process: its runner ends it, with the sentence
        # Not waiting here (in another process's line, or about to enter one): end it in
        # the database if it has still not started; whoever holds it finds it ended.
        if not await self.runner.end(job, JobState.CANCELLED, JobCancelled(), only_queued=True):
            raise PicassoError(STARTED)
        await self.engine.line.announce()

    async def queue(self, guild_id: int | None, user_id: int | None) -> list[QueueEntry]:
        """The jobs on their way in a server (None: the DMs), only `user_id`'s when given:
        those being made first, oldest first, then the waiting ones in the order they start."""
        jobs = await self.studio.store.live_jobs(guild_id, user_id)
        waiting = [job.id for job in jobs if job.state is JobState.QUEUED]
        places = await self.engine.line.places(waiting) if waiting else {}
        return sorted((_entry(job, places.get(job.id)) for job in jobs), key=_in_line_order)

    async def batch(self, batch: str) -> list[JobRecord]:
        """The takes of one Variations press, in order."""
        return await self.studio.store.batch_jobs(batch)

    async def drain(self, timeout: float) -> bool:  # noqa: ASYNC109 - a deadline, not an error
        """Wait until every job this process runs has ended; False if `timeout` came first."""
        return await self.engine.drain(timeout)

    async def stop(self, grace: float) -> None:
        """Take no new work; let running jobs finish for up to `grace` seconds (waiting ones
        stay queued for the next start, or another worker)."""
        if not self.accepting:
            return
        self.accepting = False
        await self.engine.stop(grace)


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


def _in_line_order(entry: QueueEntry) -> tuple[int, int, int]:
    if not entry.waiting:
        return (0, 0, entry.job_id)
    if entry.position is None:  # about to enter the line, or just given its turn
        return (2, 0, entry.job_id)
    return (1, entry.position, entry.job_id)
