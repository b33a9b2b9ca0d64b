"""Admission and accounting around every picture: the way of one request, minus Discord.

`Studio.job()` decides (policy), reserves quota and budget (storage), limits a person's
jobs in flight, and hands back a `Job`; the caller paints and posts, then calls
`Job.done()` to record lineage and settle the real cost. Leaving the block without
`done()` (any error) releases the reservation, so a failed picture costs nobody anything.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo

from bot.imaging.pipeline import ImageRequest, ImageResult, Pipeline, Progress, RunOptions, Stage
from bot.imaging.pricing import ModelPrice, cost_micros, estimate_usage, price_for
from bot.policy import GuildSettings, Refused, Who, check_access, limits_for, shape_request
from bot.storage.repository import NewPicture, Periods, Reservation, Store

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Posted:
    """Where a finished picture was posted."""

    channel_id: int
    message_id: int
    image_url: str | None


@dataclass
class Job:
    """An admitted request: the shaped request, the server's options, the reservation."""

    who: Who
    settings: GuildSettings
    request: ImageRequest
    options: RunOptions
    note: str | None
    reservation: Reservation
    _studio: Studio
    picture_id: int | None = field(default=None, init=False)

    async def done(
        self,
        result: ImageResult,
        posted: Posted,
        *,
        kind: str = "imagine",
        parent_id: int | None = None,
        instruction: str | None = None,
    ) -> int:
        """Record the posted picture's lineage and charge its real cost; returns its id."""
        studio = self._studio
        now = studio.now()
        request = result.request
        self.picture_id = await studio.store.add_picture(
            NewPicture(
                guild_id=self.who.guild_id,
                channel_id=posted.channel_id,
                message_id=posted.message_id,
                requester_id=self.who.user_id,
                parent_id=parent_id,
                kind=kind,
                description=request.description,
                prompt=result.prompt,
                instruction=instruction,
                size=request.size.name.lower(),
                quality=request.quality.value,
                style=request.style.label,
                model=result.image.model,
                cost_micros=result.cost_micros,
                image_url=posted.image_url,
            ),
            now,
        )
        await studio.store.settle(self.reservation, result.cost_micros, self.picture_id, now)
        return self.picture_id


class Studio:
    """Admits, accounts for and records pictures for every server."""

    def __init__(
        self,
        store: Store,
        pipeline: Pipeline,
        prices: dict[str, ModelPrice],
        *,
        timezone: tzinfo = UTC,
        clock: Clock = utc_now,
    ) -> None:
        self.store = store
        self.pipeline = pipeline
        self._prices = prices
        self._timezone = timezone
        self._clock = clock
        self._in_flight: dict[tuple[int | None, int], int] = defaultdict(int)
        self._running: dict[tuple[int | None, int], asyncio.Semaphore] = {}
        self._idle = asyncio.Event()  # set while no job is in flight
        self._idle.set()

    async def drain(self, grace: float) -> None:
        """Wait up to `grace` seconds for jobs in flight to finish (for a clean shutdown)."""
        try:
            async with asyncio.timeout(grace):
                await self._idle.wait()
        except TimeoutError:
            log.warning("shutting down with %d jobs still running", sum(self._in_flight.values()))

    def now(self) -> datetime:
        """The current time in the configured zone."""
        return self._clock().astimezone(self._timezone)

    def periods(self) -> Periods:
        """Today and this month, in the configured zone."""
        return Periods.of(self.now())

    def estimate(
        self, settings: GuildSettings, request: ImageRequest, *, input_images: int = 0
    ) -> int:
        """Micro-dollars held for a request until its real cost is known."""
        model = settings.model or self.pipeline.default_model
        usage = estimate_usage(request.size.value, request.quality.value, input_images=input_images)
        return cost_micros(usage, price_for(model, self._prices))

    @asynccontextmanager
    async def job(
        self,
        who: Who,
        request: ImageRequest,
        *,
        settings: GuildSettings | None = None,
        text: str | None = None,
        progress: Progress | None = None,
        input_images: int = 0,
    ) -> AsyncIterator[Job]:
        """Admit `request` for `who` or raise `Refused`; release unless `Job.done()` ran.

        `text` is what the person typed (checked for blocked words; default: the description).
        """
        if settings is None:
            settings = await self.store.guild_settings(who.guild_id)
        check_access(settings, who, text if text is not None else request.description)
        shaped, note = shape_request(settings, request)
        limits = limits_for(settings, who)
        key = (who.guild_id, who.user_id)
        if limits.user_running is not None and limits.user_queued is not None:
            most = limits.user_running + limits.user_queued
            if self._in_flight[key] >= most:
                raise Refused(
                    f"You already have {self._in_flight[key]} pictures on the way — "
                    "wait for one to finish."
                )
        # Counted before the first await, so a burst cannot slip past the in-flight limit.
        self._in_flight[key] += 1
        self._idle.clear()
        reservation: Reservation | None = None
        job: Job | None = None
        try:
            reservation = await self.store.reserve(
                who.guild_id,
                who.user_id,
                limits,
                self.estimate(settings, shaped, input_images=input_images),
                self.now(),
                self.periods(),
            )
            options = RunOptions(settings.model, settings.style_guide, settings.moderation)
            job = Job(who, settings, shaped, options, note, reservation, self)
            async with self._turn(key, limits.user_running, progress):
                yield job
        finally:
            try:
                if reservation is not None and (job is None or job.picture_id is None):
                    await self.store.release(reservation, self.now())
            finally:
                self._leave(key)

    def _leave(self, key: tuple[int | None, int]) -> None:
        self._in_flight[key] -= 1
        if not self._in_flight[key]:
            del self._in_flight[key]
            self._running.pop(key, None)
            if not self._in_flight:
                self._idle.set()

    @asynccontextmanager
    async def _turn(
        self, key: tuple[int | None, int], running: int | None, progress: Progress | None
    ) -> AsyncIterator[None]:
        """Wait until fewer than `running` of this person's jobs are painting."""
        if running is None:
            yield
            return
        semaphore = self._running.setdefault(key, asyncio.Semaphore(running))
        if semaphore.locked() and progress is not None:
            await progress.stage(Stage.QUEUED, self._in_flight[key] - running)
        async with semaphore:
            yield
