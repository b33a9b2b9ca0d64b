"""The one way a picture is made: a job record in, a posted picture or one sentence out.

`Runner.run(job)` waits for the job's turn (the line), plans it (expand, revise or take the
prompt as it is; moderate), paints it, publishes it through the `Publisher` the Discord
layer implements, and settles its reservation — or ends the job with one sentence and
releases the reservation. Nothing here knows Discord.

Every wait and retry has a bound: the turn and the provider's pace wait at most until the
job's start-by time (its interaction would expire), a passing 429 is waited out at most
`MAX_PAUSES` times, a provider failure that proves nothing was made is tried at most
`PAINT_TRIES` times, and a database that is away is waited for with backoff until the
job's answer could no longer reach its person.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final, Protocol, TypeVar

import aiohttp

from bot import lineage
from bot.errors import (
    APOLOGY,
    JobCancelled,
    PicassoError,
    PictureRefused,
    ProviderBusy,
    ProviderUnavailable,
    ShuttingDown,
    StorageUnavailable,
    WaitedTooLong,
)
from bot.i18n import N_, _, set_locale, use_locale
from bot.imaging.files import DownloadFailed, fetch_image
from bot.imaging.inputs import prepare_input
from bot.imaging.pipeline import UPLOAD_FAILED, ImageLoader, ImageResult, Pipeline, Plan
from bot.imaging.pricing import Meter, metering
from bot.jobs.line import Line, Place, Ticket
from bot.jobs.observer import UNOBSERVED, JobObserver
from bot.logs import about_job
from bot.models import MAX_UPLOAD_BYTES, NewPicture, PostedPicture, RunOptions, Stage
from bot.retry import retrying
from bot.storage.job_records import JobEnded, JobKind, JobRecord, JobState
from bot.storage.repository import Store

log = logging.getLogger(__name__)
T = TypeVar("T")

# Work not started this long before the interaction token expires could not be shown.
START_MARGIN: Final = timedelta(minutes=5)
# A job with nothing expiring (a reply of the bot's own) starts within this, or ends.
START_PATIENCE: Final = timedelta(minutes=30)
MAX_PARENT_BYTES: Final = 25 * 1024 * 1024
# A 429 without a retry-after pauses painting this long.
DEFAULT_PAUSE: Final = 5.0
# Passing 429s one job waits out before it ends as "busy".
MAX_PAUSES: Final = 6
# Calls of one picture when each failure proved nothing was made (nothing billed).
PAINT_TRIES: Final = 3
# A job cut short this many times (crashes mid-picture) is not tried again.
MAX_ATTEMPTS: Final = 3
# How long a job waits for a database that is away: until its interaction expires (less
# this, to post), or, with nothing expiring (a reply of the bot's own), this long.
POST_MARGIN: Final = timedelta(seconds=30)
STORAGE_PATIENCE: Final = timedelta(minutes=10)
STORAGE_TRIES: Final = 60
RESTARTED: Final = N_(
    "The bot restarted before your picture was finished — please ask again in a moment."
)
Now = Callable[[], datetime]


@dataclass(frozen=True, slots=True)
class Status:
    """Where a job is, for the person waiting: a stage, a place in line, a wait for the
    provider, or a preview."""

    stage: Stage
    place: Place | None = None
    preview: bytes | None = None
    preview_index: int = 0
    restarting: bool = False  # the bot is restarting; the job keeps its place
    provider_wait: float | None = None  # seconds the provider asked everyone to wait


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


def start_by(job: JobRecord) -> datetime:
    """When the job must have started: for its answer to still reach the person (an
    interaction's token expires), or, for a reply of the bot's own (which can be edited at
    any time), `START_PATIENCE` after it was asked: no one waits on a line forever."""
    expires = job.delivery.token_expires_at
    if job.delivery.token is None or expires is None:
        return job.created_at + START_PATIENCE
    return expires - START_MARGIN


class Runner:
    """Runs job records to their end."""

    def __init__(
        self,
        store: Store,
        pipeline: Pipeline,
        line: Line,
        publisher: Publisher,
        downloads: aiohttp.ClientSession,
        *,
        now: Now,
        monotonic: Callable[[], float],
        observer: JobObserver = UNOBSERVED,
    ) -> None:
        self.store = store
        self.pipeline = pipeline
        self.line = line
        self.publisher = publisher
        self._downloads = downloads
        self._now = now
        self._monotonic = monotonic
        self.observer = observer
        self._batch_locks: dict[str, asyncio.Lock] = {}

    async def run(self, job: JobRecord) -> None:
        """Make and post the job's picture, or end it with one sentence. Never raises
        (but a cancelled task stays cancelled: its job is left for the sweep or the next
        start)."""
        set_locale(job.spec.locale)  # its own task: every sentence in its requester's language
        with metering() as spent:  # its prompt writing and checks, charged however it ends
            try:
                about_job(job.id)  # every line logged on the job's way names it
                result = await self._make(job)
                await self._publish(job, result)
                self.observer.posted(job, result.cost_micros, self._now())
            except JobEnded:
                log.info("job %d ended elsewhere (cancelled, taken over) before it posted", job.id)
            except ShuttingDown:
                await self._stay_queued(job)
            except JobCancelled as error:
                await self.end(job, JobState.CANCELLED, error, spent=spent)
            except PicassoError as error:
                log.info("job %d failed: %r", job.id, error)
                await self.end(job, JobState.FAILED, error, spent=spent)
            except Exception as error:
                log.exception("job %d failed unexpectedly", job.id)
                await self.end(job, JobState.FAILED, error, spent=spent)

    async def _stay_queued(self, job: JobRecord) -> None:
        """The bot is stopping: the job waits for the next start (queued again even if it
        had started: it was waiting out a provider 429)."""
        try:
            await self.store.requeue_job(job)
        except StorageUnavailable:
            log.warning("job %d: could not queue it again; the next start resumes it", job.id)
        log.info("job %d stays queued for the next start", job.id)
        await self.publisher.progress(job, Status(Stage.QUEUED, restarting=True))

    async def revive(self, job: JobRecord) -> JobRecord | None:
        """A job found unfinished with nobody running it (a new start, the sweep, a worker
        taking over): queued again to run once more, or ended with its sentence (None) if
        it is too late to answer or was cut short too often, or if it ended meanwhile."""
        in_time = self._now() < start_by(job)
        if job.state is JobState.QUEUED:
            if in_time:
                return job
            await self.end(job, JobState.FAILED, WaitedTooLong())
            return None
        if not in_time or job.attempts >= MAX_ATTEMPTS:
            await self.end(job, JobState.FAILED, PicassoError(RESTARTED))
            return None
        log.warning(
            "job %d was cut short (%s); running it again — the provider may bill its picture twice",
            job.id,
            job.state.value,
        )
        if not await self._stored(job, lambda: self.store.requeue_job(job)):
            return None  # it ended meanwhile, or another process took it
        return dataclasses.replace(job, state=JobState.QUEUED)

    # --- making ------------------------------------------------------------------------------

    def _ticket(self, job: JobRecord) -> Ticket:
        return Ticket(
            job.id, job.guild_id, job.user_id, job.running_cap, self._deadline(start_by(job))
        )

    def _deadline(self, when: datetime | None) -> float | None:
        """`when` on the monotonic clock the line and the retries read."""
        if when is None:
            return None
        return self._monotonic() + (when - self._now()).total_seconds()

    async def _make(self, job: JobRecord) -> ImageResult:
        """Wait for a turn, plan, paint. A passing provider 429 pauses everyone; the job
        says so to its person and goes first once the pause ends, at most `MAX_PAUSES`
        times and never past its start-by time."""
        ticket = self._ticket(job)

        async def waiting(place: Place) -> None:
            await self.publisher.progress(job, Status(Stage.QUEUED, place))

        plan: Plan | None = None
        pauses = 0
        while True:
            resumed = plan is not None  # it had its turn, and lost it to a provider pause
            async with self.line.turn(ticket, None if resumed else waiting, resume=resumed):
                if plan is None:
                    if not await self._stored(job, lambda: self.store.start_job(job, self._now())):
                        raise JobEnded(f"job {job.id} ended before it started")
                    if _writes_a_prompt(job):
                        await self.publisher.progress(job, Status(Stage.EXPANDING))
                    # Priced with every chat call on the way (a set's variation prompts).
                    plan = await self.pipeline.metered(self._plan(job))
                await self.publisher.progress(job, Status(Stage.PAINTING))
                try:
                    return await self._paint(job, plan, ticket.start_by)
                except ProviderBusy as busy:
                    if not busy.passing or pauses >= MAX_PAUSES:
                        raise
                    pauses += 1
                    wait = busy.retry_after or DEFAULT_PAUSE
                    self.line.pause(wait)
                    log.info(
                        "job %d waits out the provider's limit (%.1f s) and goes first",
                        job.id,
                        wait,
                    )
            status = Status(Stage.QUEUED, provider_wait=max(self.line.paused_for(), wait))
            await self.publisher.progress(job, status)

    async def _paint(self, job: JobRecord, plan: Plan, deadline: float | None) -> ImageResult:
        """Pace the call to the provider's limit and paint; a failure that proves nothing
        was made (a 500, 502 or 503, a connection refused) is tried again with backoff, a
        few times, never past `deadline`."""
        spec = job.spec

        async def preview(png: bytes, index: int) -> None:
            await self.publisher.progress(
                job, Status(Stage.PAINTING, preview=png, preview_index=index)
            )

        async def once() -> ImageResult:
            # The provider's limit counts this very call, each of its pictures.
            await self.line.pace(spec.request.count, until=deadline)
            return await self.pipeline.paint(spec.request, plan, _options(job), preview)

        def again(error: BaseException, wait: float) -> None:
            log.info(
                "job %d: the provider made nothing (%r); trying again in %.1f s",
                job.id,
                error,
                wait,
            )

        return await retrying(
            once,
            retry_on=_made_nothing,
            deadline=deadline,
            clock=self._monotonic,
            attempts=PAINT_TRIES,
            base=1.0,
            cap=8.0,
            on_retry=again,
        )

    async def _stored(
        self, job: JobRecord, call: Callable[[], Awaitable[T]], *, until: datetime | None = None
    ) -> T:
        """A storage step of `job`, tried again with backoff while the database is away,
        until `until` (by default: while the job's answer can still reach its person)."""
        if until is None:
            expires = job.delivery.token_expires_at if job.delivery.token else None
            until = expires - POST_MARGIN if expires else self._now() + STORAGE_PATIENCE

        def again(error: BaseException, wait: float) -> None:
            log.warning("job %d: storage is away (%s); trying again in %.1f s", job.id, error, wait)

        return await retrying(
            call,
            retry_on=lambda error: isinstance(error, StorageUnavailable),
            deadline=self._deadline(until),
            clock=self._monotonic,
            attempts=STORAGE_TRIES,
            base=0.5,
            cap=5.0,
            on_retry=again,
        )

    async def _plan(self, job: JobRecord) -> Plan:
        spec, pipeline = job.spec, self.pipeline
        uploads = await self._uploads(job)
        if job.kind is JobKind.IMAGINE:
            if uploads:
                return await pipeline.plan_upload(spec.request, uploads, _options(job))
            if job.prompt is not None:  # a preview's prompt, painted as it was shown
                plan = await pipeline.plan_prompt(job.prompt, _options(job))
                return dataclasses.replace(plan, expanded=spec.request.expand)
            return await pipeline.plan_imagine(spec.request, _options(job))
        if job.kind is JobKind.REFINE:
            assert job.prompt is not None and spec.instruction is not None
            return await pipeline.plan_refine(
                job.prompt,
                spec.instruction,
                _options(job),
                mode=spec.refine_mode,
                load_image=self._parent_loader(job),
                uploads=uploads,
            )
        prompt = (
            job.prompt if job.kind is not JobKind.VARIATION else await self._variation_prompt(job)
        )
        assert prompt is not None
        return await pipeline.plan_prompt(prompt, _options(job))

    async def _variation_prompt(self, job: JobRecord) -> str:
        """A variation's prompt: the first take to start writes them all (one chat call)."""
        if job.prompt is not None or job.batch is None:
            return job.prompt or job.spec.request.description
        lock = self._batch_locks.setdefault(job.batch, asyncio.Lock())
        try:
            async with lock:
                stored = await self._stored(job, lambda: self.store.job(job.id))
                if stored is not None and stored.prompt is not None:
                    return stored.prompt
                spec = job.spec
                prompts = await self.pipeline.variation_prompts(
                    spec.request, spec.takes or 1, _options(job)
                )
                batch = job.batch
                await self._stored(job, lambda: self.store.set_batch_prompts(batch, prompts))
                return prompts[job.take or 0]
        finally:
            if not lock.locked():  # the last take through: later ones find their prompt
                self._batch_locks.pop(job.batch, None)

    async def _uploads(self, job: JobRecord) -> tuple[bytes, ...]:
        """The pictures the person attached, as PNG scaled for the image model (decoded one
        at a time); one sentence if one can't be fetched, or is one the bot won't decode
        (`PictureRefused`, judged from the file's own header: what Discord said may lie)."""
        pictures = []
        for url in job.spec.uploads:
            try:
                data = await fetch_image(self._downloads, url, MAX_UPLOAD_BYTES)
            except DownloadFailed as error:
                log.warning("job %d: an attached picture could not be fetched: %s", job.id, error)
                raise PicassoError(UPLOAD_FAILED) from error
            pictures.append(await prepare_input(data))
        return tuple(pictures)

    def _parent_loader(self, job: JobRecord) -> ImageLoader | None:
        urls = job.spec.image_urls
        if not urls:
            return None

        async def load() -> bytes:
            # Held to the rules of pictures people give: one the bot won't decode is one it
            # could not fetch (the edit is painted anew, and its note says so).
            failure = DownloadFailed(f"picture {job.parent_id} has no stored file")
            for url in urls:
                try:
                    data = await fetch_image(self._downloads, url, MAX_PARENT_BYTES)
                    try:
                        return await prepare_input(data)
                    except PictureRefused as refusal:
                        raise DownloadFailed(f"refused: {refusal}") from refusal
                except DownloadFailed as error:
                    log.info("could not fetch picture %s from its URL: %s", job.parent_id, error)
                    failure = error
            raise failure

        return load

    # --- ending ------------------------------------------------------------------------------

    async def _publish(self, job: JobRecord, result: ImageResult) -> None:
        """Record the pictures, post them with their buttons in one message, then settle:
        posted once, paid once. A database away meanwhile is waited for: a picture already
        painted is kept and posted once it answers, and paid for once."""
        pictures = _new_pictures(job, result)
        ids = await self._stored(job, lambda: self.store.begin_posting(job, pictures, self._now()))
        posted = await self.publisher.picture(job, result, ids)
        costs = result.costs()
        recorded = [
            PostedPicture(picture_id, url, cost)
            for picture_id, url, cost in zip(ids, posted.image_urls, costs, strict=True)
        ]

        async def settle() -> None:
            # Shielded: a shutdown cancelling the task must not lose the settlement.
            await asyncio.shield(
                self.store.complete_job(job, recorded, posted.message_id, self._now())
            )

        # Posted: the money is settled however long the database is away (the settlement
        # is idempotent: a retry after a lost answer counts nothing twice).
        await self._stored(job, settle, until=self._now() + STORAGE_PATIENCE)
        log.info("job %d posted pictures %s (message %d)", job.id, ids, posted.message_id)
        await self.publisher.recorded(job, result, posted)

    async def end(
        self,
        job: JobRecord,
        state: JobState,
        error: BaseException,
        *,
        only_queued: bool = False,
        spent: Meter | None = None,
    ) -> bool:
        """End an unfinished job as failed or cancelled, with its sentence; its reservation
        is released with it, but what `spent` metered (its prompt writing and checks, which
        the provider bills either way) is charged. False (nothing done) if the job had
        ended already, or, with `only_queued`, had started. The sentence is in the
        requester's language, whoever ends the job (a cancel, the sweep, or a new start
        ending what the last run left). A database away is waited for; if it stays away,
        the sweep ends the job later."""
        cost = 0 if spent is None else self.pipeline.chat_cost(spent)
        with use_locale(job.spec.locale):
            text = error.user_message if isinstance(error, PicassoError) else _(APOLOGY)

            async def ending() -> bool:
                # Shielded: a shutdown cancelling the task must not lose the release.
                return await asyncio.shield(
                    self.store.end_job(
                        job, state, text, self._now(), only_queued=only_queued, cost_micros=cost
                    )
                )

            try:
                ended = await self._stored(job, ending, until=self._now() + STORAGE_PATIENCE)
            except Exception:
                log.exception("could not end job %d; the sweep will", job.id)
                return False
            if ended:
                await self.publisher.sentence(job, text)
            return ended


def _options(job: JobRecord) -> RunOptions:
    """How the pipeline makes `job`'s picture: its spec's options, for its requester."""
    return dataclasses.replace(job.spec.options, user_id=job.user_id)


def _made_nothing(error: BaseException) -> bool:
    """A provider failure that proves nothing was made, so trying again bills nothing."""
    return isinstance(error, ProviderUnavailable) and error.retryable


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
