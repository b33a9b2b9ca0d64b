"""The one way a picture is made: a job record in, a posted picture or one sentence out.

`Runner.run(job)` waits for the job's turn (the scheduler), plans it (expand, revise or
take the prompt as it is; moderate), paints it, publishes it through the `Publisher` the
Discord layer implements, and settles its reservation — or ends the job with one sentence
and releases the reservation. Nothing here knows Discord.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final, Protocol

import aiohttp

from bot import lineage
from bot.errors import (
    APOLOGY,
    JobCancelled,
    PicassoError,
    ProviderBusy,
    ShuttingDown,
)
from bot.i18n import _, set_locale, use_locale
from bot.imaging.files import DownloadFailed, as_png, fetch_image
from bot.imaging.pipeline import UPLOAD_FAILED, ImageLoader, ImageResult, Pipeline, Plan
from bot.jobs.observer import UNOBSERVED, JobObserver
from bot.jobs.scheduler import Place, Ticket, WaitCallback
from bot.logs import about_job
from bot.models import MAX_UPLOAD_BYTES, NewPicture, PostedPicture, Stage
from bot.storage.job_records import JobEnded, JobKind, JobRecord, JobState
from bot.storage.repository import Store

log = logging.getLogger(__name__)

# Work not started this long before the interaction token expires could not be shown.
START_MARGIN: Final = timedelta(minutes=5)
MAX_PARENT_BYTES: Final = 25 * 1024 * 1024
# A 429 without a retry-after pauses painting this long.
DEFAULT_PAUSE: Final = 5.0
Now = Callable[[], datetime]


@dataclass(frozen=True, slots=True)
class Status:
    """Where a job is, for the person waiting: a stage, a place in line, or a preview."""

    stage: Stage
    place: Place | None = None
    preview: bytes | None = None
    preview_index: int = 0
    restarting: bool = False  # the bot is restarting; the job keeps its place


@dataclass(frozen=True, slots=True)
class Posted:
    """Where finished pictures were posted: one message, a file URL per picture."""

    channel_id: int
    message_id: int
    image_urls: tuple[str | None, ...]


class Publisher(Protocol):
    """How a job shows itself to people (implemented by the Discord layer)."""

    async def progress(self, job: JobRecord, status: Status) -> None:
        """Show where the job is (coalesced, best effort: never raises)."""
        ...

    async def picture(
        self, job: JobRecord, result: ImageResult, picture_ids: Sequence[int]
    ) -> Posted:
        """Post the finished pictures (one, or a numbered set: an id each) in one message
        with their buttons; raise `PicassoError` if they can't be."""
        ...

    async def sentence(self, job: JobRecord, text: str) -> None:
        """End the job's message in one sentence (best effort: never raises)."""
        ...

    async def recorded(self, job: JobRecord, result: ImageResult, posted: Posted) -> None:
        """The picture is posted and paid for (the audit line; best effort)."""
        ...


class Line(Protocol):
    """Where jobs wait for their turn to paint: the in-process `Scheduler`, or the line
    shared by workers in several processes (`bot.jobs.line.SharedLine`)."""

    def turn(
        self, ticket: Ticket, on_wait: WaitCallback | None = None, *, resume: bool = False
    ) -> AbstractAsyncContextManager[None]:
        """Wait for the job's turn, then hold it for the block."""
        ...

    async def pace(self, pictures: int = 1) -> None:
        """Wait for room in the provider's limit for a call of `pictures` pictures."""
        ...

    def pause(self, seconds: float) -> None:
        """The provider asked to slow down: no call for `seconds`."""
        ...

    def cancel(self, job_id: int) -> bool:
        """Take a waiting job out of the line; True if it was waiting here."""
        ...

    def place(self, job_id: int) -> Place | None:
        """Where a waiting job stands, if it waits here."""
        ...

    def close(self) -> None:
        """Take no new turns."""
        ...

    def waiting(self) -> Sequence[object]:
        """The jobs waiting for their turn in this process."""
        ...


def start_by(job: JobRecord) -> datetime | None:
    """When the job must have started for its answer to still reach the person."""
    expires = job.delivery.token_expires_at
    if job.delivery.token is None or expires is None:
        return None  # a reply of the bot's own can be edited at any time
    return expires - START_MARGIN


class Runner:
    """Runs job records to their end."""

    def __init__(
        self,
        store: Store,
        pipeline: Pipeline,
        scheduler: Line,
        publisher: Publisher,
        downloads: aiohttp.ClientSession,
        *,
        now: Now,
        monotonic: Callable[[], float],
        observer: JobObserver = UNOBSERVED,
    ) -> None:
        self.store = store
        self.pipeline = pipeline
        self.scheduler = scheduler
        self.publisher = publisher
        self._downloads = downloads
        self._now = now
        self._monotonic = monotonic
        self.observer = observer
        self._batch_locks: dict[str, asyncio.Lock] = {}

    async def run(self, job: JobRecord) -> None:
        """Make and post the job's picture, or end it with one sentence. Never raises
        (but a cancelled task stays cancelled: its job is left for the next start)."""
        set_locale(job.spec.locale)  # its own task: every sentence in its requester's language
        try:
            about_job(job.id)  # every line logged on the job's way names it
            result = await self._make(job)
            await self._publish(job, result)
            self.observer.posted(job, result.cost_micros, self._now())
        except JobEnded:
            log.info("job %d ended elsewhere (cancelled) before it was posted", job.id)
        except ShuttingDown:
            # Queued again even if it had started (it was waiting out a provider 429).
            await self.store.requeue_job(job.id)
            log.info("job %d stays queued for the next start", job.id)
            await self.publisher.progress(job, Status(Stage.QUEUED, restarting=True))
        except JobCancelled as error:
            await self.end(job, JobState.CANCELLED, error)
        except PicassoError as error:
            log.info("job %d failed: %r", job.id, error)
            await self.end(job, JobState.FAILED, error)
        except Exception as error:
            log.exception("job %d failed unexpectedly", job.id)
            await self.end(job, JobState.FAILED, error)

    # --- making ------------------------------------------------------------------------------

    def _ticket(self, job: JobRecord) -> Ticket:
        deadline = start_by(job)
        left = None if deadline is None else (deadline - self._now()).total_seconds()
        return Ticket(
            job.id,
            job.guild_id,
            job.user_id,
            job.running_cap,
            None if left is None else self._monotonic() + left,
        )

    async def _make(self, job: JobRecord) -> ImageResult:
        """Wait for a turn, plan, paint; a provider 429 pauses everyone and the job goes
        first once the pause ends (it never fails as "busy" for a limit that passes)."""
        ticket = self._ticket(job)
        spec = job.spec

        async def waiting(place: Place) -> None:
            await self.publisher.progress(job, Status(Stage.QUEUED, place))

        async def preview(png: bytes, index: int) -> None:
            await self.publisher.progress(
                job, Status(Stage.PAINTING, preview=png, preview_index=index)
            )

        plan: Plan | None = None
        resume = False
        while True:
            async with self.scheduler.turn(ticket, waiting, resume=resume):
                if plan is None:
                    if not await self.store.start_job(job.id, self._now()):
                        raise JobEnded(f"job {job.id} ended before it started")
                    if _writes_a_prompt(job):
                        await self.publisher.progress(job, Status(Stage.EXPANDING))
                    plan = await self._plan(job)
                await self.publisher.progress(job, Status(Stage.PAINTING))
                # The provider's limit counts this very call, each of its pictures.
                await self.scheduler.pace(spec.request.count)
                try:
                    return await self.pipeline.paint(spec.request, plan, spec.options, preview)
                except ProviderBusy as busy:
                    if not busy.passing:
                        raise
                    self.scheduler.pause(busy.retry_after or DEFAULT_PAUSE)
                    log.info("job %d waits out the provider's limit and goes first", job.id)
                    resume = True

    async def _plan(self, job: JobRecord) -> Plan:
        spec, pipeline = job.spec, self.pipeline
        uploads = await self._uploads(job)
        if job.kind is JobKind.IMAGINE:
            if uploads:
                return await pipeline.plan_upload(spec.request, uploads, spec.options)
            if job.prompt is not None:  # a preview's prompt, painted as it was shown
                plan = await pipeline.plan_prompt(job.prompt, spec.options)
                return dataclasses.replace(plan, expanded=spec.request.expand)
            return await pipeline.plan_imagine(spec.request, spec.options)
        if job.kind is JobKind.REFINE:
            assert job.prompt is not None and spec.instruction is not None
            return await pipeline.plan_refine(
                job.prompt,
                spec.instruction,
                spec.options,
                mode=spec.refine_mode,
                load_image=self._parent_loader(job),
                uploads=uploads,
            )
        prompt = job.prompt if job.kind is not JobKind.VARIATION else await self._take(job)
        assert prompt is not None
        return await pipeline.plan_prompt(prompt, spec.options)

    async def _take(self, job: JobRecord) -> str:
        """A variation's prompt: the first take to start writes them all (one chat call)."""
        if job.prompt is not None or job.batch is None:
            return job.prompt or job.spec.request.description
        lock = self._batch_locks.setdefault(job.batch, asyncio.Lock())
        try:
            async with lock:
                stored = await self.store.job(job.id)
                if stored is not None and stored.prompt is not None:
                    return stored.prompt
                spec = job.spec
                prompts = await self.pipeline.variation_prompts(
                    spec.request, spec.takes or 1, spec.options
                )
                await self.store.set_batch_prompts(job.batch, prompts)
                return prompts[job.take or 0]
        finally:
            if not lock.locked():  # the last take through: later ones find their prompt
                self._batch_locks.pop(job.batch, None)

    async def _uploads(self, job: JobRecord) -> tuple[bytes, ...]:
        """The pictures the person attached, as PNG; one sentence if one can't be fetched."""
        pictures = []
        for url in job.spec.uploads:
            try:
                pictures.append(
                    await as_png(await fetch_image(self._downloads, url, MAX_UPLOAD_BYTES))
                )
            except DownloadFailed as error:
                log.warning("job %d: an attached picture could not be fetched: %s", job.id, error)
                raise PicassoError(UPLOAD_FAILED) from error
        return tuple(pictures)

    def _parent_loader(self, job: JobRecord) -> ImageLoader | None:
        urls = job.spec.image_urls
        if not urls:
            return None

        async def load() -> bytes:
            failure = DownloadFailed(f"picture {job.parent_id} has no stored file")
            for url in urls:
                try:
                    return await as_png(await fetch_image(self._downloads, url, MAX_PARENT_BYTES))
                except DownloadFailed as error:
                    log.info("could not fetch picture %s from its URL: %s", job.parent_id, error)
                    failure = error
            raise failure

        return load

    # --- ending ------------------------------------------------------------------------------

    async def _publish(self, job: JobRecord, result: ImageResult) -> None:
        """Record the pictures, post them with their buttons in one message, then settle:
        posted once, paid once."""
        pictures = _new_pictures(job, result)
        ids = await self.store.begin_posting(job, pictures, self._now())
        posted = await self.publisher.picture(job, result, ids)
        costs = result.costs()
        recorded = [
            PostedPicture(picture_id, url, cost)
            for picture_id, url, cost in zip(ids, posted.image_urls, costs, strict=True)
        ]
        await asyncio.shield(self.store.complete_job(job, recorded, posted.message_id, self._now()))
        log.info("job %d posted pictures %s (message %d)", job.id, ids, posted.message_id)
        await self.publisher.recorded(job, result, posted)

    async def end(
        self, job: JobRecord, state: JobState, error: BaseException, *, only_queued: bool = False
    ) -> bool:
        """End an unfinished job as failed or cancelled, with its sentence; its reservation
        is released with it. False (nothing done) if the job had ended already, or, with
        `only_queued`, had started. The sentence is in the requester's language, whoever
        ends the job (a cancel, or a new start ending what the last run left)."""
        with use_locale(job.spec.locale):
            text = error.user_message if isinstance(error, PicassoError) else _(APOLOGY)
            ending = self.store.end_job(job, state, text, self._now(), only_queued=only_queued)
            try:
                # Shielded: a shutdown cancelling the task must not lose the release.
                ended = await asyncio.shield(ending)
            except Exception:
                log.exception("could not end job %d; the next start will", job.id)
                return False
            if ended:
                await self.publisher.sentence(job, text)
            return ended


def _writes_a_prompt(job: JobRecord) -> bool:
    """Whether planning asks the chat model for a prompt (rerolls paint theirs as it is)."""
    if job.kind is JobKind.IMAGINE:
        return job.spec.request.expand and job.prompt is None  # a preview's is written
    return job.kind is JobKind.REFINE


def _new_pictures(job: JobRecord, result: ImageResult) -> list[NewPicture]:
    """The records of the pictures `result` made (numbered when there are several)."""
    request = result.request
    kind = lineage.EDIT if result.edited else job.kind.value
    several = len(result.pictures) > 1
    return [
        NewPicture(
            guild_id=job.guild_id,
            channel_id=job.delivery.channel_id,
            requester_id=job.user_id,
            parent_id=job.parent_id,
            kind=kind,
            description=request.description,
            prompt=result.prompt,
            instruction=job.spec.instruction,
            size=request.size.name.lower(),
            quality=request.quality.value,
            style=request.style.label,
            model=result.image.model,
            cost_micros=cost,
            number=index + 1 if several else None,
        )
        for index, cost in enumerate(result.costs())
    ]
