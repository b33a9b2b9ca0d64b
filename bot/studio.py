"""Admission and accounting around every picture: the way of one request, minus Discord.

`Studio.job()` decides (policy), reserves quota and budget (storage), limits a person's
jobs in flight, and hands back a `Job`; the caller paints and posts, then calls
`Job.done()` to record lineage and settle the real cost. Leaving the block without
`done()` (any error) releases the reservation, so a failed picture costs nobody anything.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo

from bot.imaging.pipeline import ImageRequest, ImageResult, Pipeline, Progress, RunOptions, Stage
from bot.imaging.pricing import ModelPrice, cost_micros, estimate_usage, price_for
from bot.jobs import SlotQueue
from bot.policy import (
    GuildSettings,
    LimitKind,
    LimitReached,
    Limits,
    Who,
    check_access,
    is_exempt,
    limits_for,
    shape_request,
)
from bot.storage.repository import GUILD_WIDE, NewPicture, Periods, Reservation, Store, Usage

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
Person = tuple[int | None, int]  # (guild_id, user_id): whose jobs are counted together
# No picture takes this long (timeouts × retries); a reservation this old was left by a crash.
STALE_AFTER = timedelta(hours=3)


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
        self.picture_id = await studio.store.finish(
            self.reservation,
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
        return self.picture_id


@dataclass(frozen=True, slots=True)
class Standing:
    """Where one person stands: their limits, what is used, what is under way."""

    settings: GuildSettings
    limits: Limits
    exempt: bool
    user_today: Usage
    guild_today: Usage
    guild_month: Usage
    cooldown_left: float
    in_flight: int
    now: datetime


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
        self._in_flight: dict[Person, int] = {}
        self._turns: dict[Person, SlotQueue] = {}  # per person: jobs painting at once
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

    def in_flight(self, guild_id: int | None, user_id: int) -> int:
        """How many of this person's pictures this process is making or has queued."""
        return self._in_flight.get((guild_id, user_id), 0)

    async def standing(self, who: Who) -> Standing:
        """`who`'s limits and usage right now (for /quota)."""
        settings = await self.store.guild_settings(who.guild_id)
        limits = limits_for(settings, who)
        now = self.now()
        periods = Periods.of(now)
        store = self.store
        return Standing(
            settings=settings,
            limits=limits,
            exempt=is_exempt(settings, who),
            user_today=await store.usage(who.guild_id, who.user_id, periods.day),
            guild_today=await store.usage(who.guild_id, GUILD_WIDE, periods.day),
            guild_month=await store.usage(who.guild_id, GUILD_WIDE, periods.month),
            cooldown_left=await store.cooldown_left(
                who.guild_id, who.user_id, limits.cooldown_seconds, now
            ),
            in_flight=self.in_flight(who.guild_id, who.user_id),
            now=now,
        )

    async def server_usage(self, guild_id: int | None) -> tuple[Usage, Usage]:
        """A server's (or all DMs') usage today and this month."""
        periods = self.periods()
        return (
            await self.store.usage(guild_id, GUILD_WIDE, periods.day),
            await self.store.usage(guild_id, GUILD_WIDE, periods.month),
        )

    async def reset_user(self, guild_id: int | None, user_id: int) -> None:
        """Forget a person's pictures, spend and cooldown for today (in-flight ones stay)."""
        await self.store.reset_user(guild_id, user_id, self.periods())

    async def recover(self) -> int:
        """Release reservations a crashed earlier run left open; returns how many."""
        now = self.now()
        return await self.store.release_stale(now - STALE_AFTER, now)

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
        own_turn: bool = True,
    ) -> AsyncIterator[Job]:
        """Admit `request` for `who` or raise `Refused`; release unless `Job.done()` ran.

        `text` is what the person typed (checked for blocked words; default: the description).
        `own_turn=False` is for the parts of one request (variation takes): they count as jobs
        in flight but do not wait for one of the person's running turns each.
        """
        if settings is None:
            settings = await self.store.guild_settings(who.guild_id)
        check_access(settings, who, text if text is not None else request.description)
        shaped, note = shape_request(settings, request)
        limits = limits_for(settings, who)
        person = (who.guild_id, who.user_id)
        if limits.user_running is not None and limits.user_queued is not None:
            most = limits.user_running + limits.user_queued
            if self.in_flight(*person) >= most:
                raise LimitReached(LimitKind.IN_FLIGHT, most)
        # Counted before the first await, so a burst cannot slip past the in-flight limit.
        self._in_flight[person] = self.in_flight(*person) + 1
        self._idle.clear()
        try:
            now = self.now()  # one reading: the time and its day never disagree
            try:
                reservation = await self.store.reserve(
                    who.guild_id,
                    who.user_id,
                    limits,
                    self.estimate(settings, shaped, input_images=input_images),
                    now,
                )
            except LimitReached as refusal:
                raise refusal.explained(now) from None
            job = Job(
                who,
                settings,
                shaped,
                RunOptions(settings.model, settings.style_guide, settings.moderation),
                note,
                reservation,
                self,
            )
            try:
                async with self._turn(person, limits.user_running if own_turn else None, progress):
                    yield job
            finally:
                if job.picture_id is None:
                    # Shielded: a second cancellation (shutdown) must not lose the release.
                    await asyncio.shield(self._release(reservation))
        finally:
            self._leave(person)

    def _leave(self, person: Person) -> None:
        self._in_flight[person] -= 1
        if not self._in_flight[person]:
            del self._in_flight[person]
            self._turns.pop(person, None)
            if not self._in_flight:
                self._idle.set()

    async def _release(self, reservation: Reservation) -> None:
        """Give a reservation back; a failure here is logged (the stale sweep retries it)."""
        try:
            await self.store.release(reservation, self.now())
        except Exception:
            log.exception("could not release reservation %d", reservation.id)

    @asynccontextmanager
    async def _turn(
        self, person: Person, running: int | None, progress: Progress | None
    ) -> AsyncIterator[None]:
        """Wait until fewer than `running` of this person's jobs are painting."""
        if running is None:
            yield
            return

        async def queued(position: int) -> None:
            if progress is not None:
                await progress.stage(Stage.QUEUED, position)

        turns = self._turns.setdefault(person, SlotQueue(running))
        async with turns.slot(queued):
            yield
