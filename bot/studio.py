"""The application's services for the Discord layer: admission and accounting (what a
person may ask for, and what it costs), server settings and recorded pictures — minus Discord.

`Studio.admit()` decides (policy), shapes the request to the server's ceilings, and
records the job together with its reservation of quota and budget (storage), all before
anything is painted. Running the job is `bot.jobs`' business; ending it settles or
releases the reservation in the same transaction as the job's last state. Cogs call the
named methods here, never the store or the pipeline behind them.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo

from bot.errors import PicassoError
from bot.i18n import N_, current_language
from bot.imaging.pipeline import Pipeline
from bot.imaging.pricing import ModelPrice, cost_micros, estimate_usage, metering, price_for
from bot.models import ERASED, GuildSettings, ImageRequest, PictureRecord, RunOptions, Who
from bot.policy import LimitReached, Limits, check_access, is_exempt, limits_for, shape_request
from bot.storage.job_records import Delivery, JobKind, JobRecord, JobSpec, NewJob
from bot.storage.reports import DaySpend, last_days
from bot.storage.repository import (
    BOT_WIDE,
    DMS,
    GUILD_WIDE,
    Forgotten,
    Periods,
    Store,
    Unfinished,
    Usage,
)

log = logging.getLogger(__name__)

TOP_PEOPLE = 5  # the people a spend report names
Clock = Callable[[], datetime]
STILL_PAINTING = N_(
    "You have pictures on the way — wait until they are finished, then ask me to forget you."
)
BEING_COPIED = N_(
    "Someone is making a picture from one of yours right now — wait until it is finished, "
    "then ask me to forget you."
)
WORDS_ERASED = N_(
    "That picture's words were erased — there is nothing left to paint it from. Start anew "
    "with /imagine."
)


def utc_now() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Order:
    """What a person asked for, as the Discord layer hands it over to become a job."""

    kind: JobKind
    who: Who
    request: ImageRequest
    delivery: Delivery
    text: str | None = None  # what the person typed, checked for blocked words
    prompt: str | None = None  # reroll, hand-edited prompt: painted as is; refine: the start
    instruction: str | None = None
    parent_id: int | None = None
    origin_url: str | None = None
    image_urls: tuple[str, ...] = ()
    uploads: tuple[str, ...] = ()  # pictures the person attached (their URLs)
    batch: str | None = None
    take: int | None = None
    takes: int | None = None
    requester_name: str = ""
    requester_avatar: str | None = None
    locale: str | None = None  # the reader's (Discord locale); None: the current language
    once: str | None = None  # a press that may come twice: at most one job per key


@dataclass(frozen=True, slots=True)
class Preview:
    """What /imagine would paint, shown before anything is painted or reserved."""

    request: ImageRequest  # shaped to the server's ceilings
    prompt: str
    expanded: bool
    note: str | None
    estimate_micros: int
    charged_micros: int = 0  # what writing and checking the prompt cost (charged already)


@dataclass(frozen=True, slots=True)
class SpendCaps:
    """Caps on spend a day and a month, in micro-dollars (None: no cap): the operator's on
    the whole bot, or a server's own in its spend report."""

    daily_micros: int | None = None
    monthly_micros: int | None = None

    @classmethod
    def usd(cls, daily: float | None, monthly: float | None) -> SpendCaps:
        """Caps given in dollars."""
        return cls(*(None if cap is None else round(cap * 1_000_000) for cap in (daily, monthly)))


@dataclass(frozen=True, slots=True)
class BotUsage:
    """The whole bot's usage: today, this month, and the servers that spent most this month."""

    today: Usage
    month: Usage
    top_servers: list[tuple[int, Usage]]
    budget: SpendCaps
    now: datetime


async def bot_usage(store: Store, now: datetime, budget: SpendCaps, top: int = 10) -> BotUsage:
    """The whole bot's usage on the day and month of `now` (aware, in the configured zone);
    needs only the database (`python -m bot usage`)."""
    periods = Periods.of(now)
    return BotUsage(
        today=await store.usage(BOT_WIDE, GUILD_WIDE, periods.day),
        month=await store.usage(BOT_WIDE, GUILD_WIDE, periods.month),
        top_servers=await store.top_servers(periods.month, top),
        budget=budget,
        now=now,
    )


@dataclass(frozen=True, slots=True)
class SpendReport:
    """The last 30 days of one place (a server, `DMS` or `BOT_WIDE`), for the spend chart."""

    place: int
    days: tuple[DaySpend, ...]  # oldest first, ending today
    top: tuple[tuple[int, Usage], ...]  # the people who spent most (user id, usage), most first
    daily_cap_micros: int | None
    monthly_cap_micros: int | None
    now: datetime

    @property
    def pictures(self) -> int:
        """Pictures over the days shown."""
        return sum(day.pictures for day in self.days)

    @property
    def spent_micros(self) -> int:
        """Money spent over the days shown."""
        return sum(day.spent_micros for day in self.days)


async def spend_report(store: Store, place: int, now: datetime, caps: SpendCaps) -> SpendReport:
    """The 30 days up to the day of `now` (aware, in the configured zone) in `place`, with
    the daily and monthly `caps` in force there."""
    days = last_days(now)
    return SpendReport(
        place=place,
        days=tuple(await store.daily_spend(place, days)),
        top=tuple(await store.top_spenders(place, days, TOP_PEOPLE)),
        daily_cap_micros=caps.daily_micros,
        monthly_cap_micros=caps.monthly_micros,
        now=now,
    )


async def bot_spend_report(store: Store, now: datetime, budget: SpendCaps) -> SpendReport:
    """The whole bot's 30 days against the operator's caps (`python -m bot usage --chart`)."""
    return await spend_report(store, BOT_WIDE, now, budget)


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
        bot_budget: SpendCaps = SpendCaps(),
    ) -> None:
        self.store = store
        self.pipeline = pipeline
        self._prices = prices
        self._timezone = timezone
        self._clock = clock
        self._bot_budget = bot_budget

    def now(self) -> datetime:
        """The current time in the configured zone."""
        return self._clock().astimezone(self._timezone)

    def periods(self) -> Periods:
        """Today and this month, in the configured zone."""
        return Periods.of(self.now())

    @property
    def default_model(self) -> str:
        """The image model used where a server sets none."""
        return self.pipeline.default_model

    def known_models(self) -> set[str]:
        """Image models a server may choose: those with a price, and the default."""
        return {*self._prices, self.default_model}

    # --- settings ----------------------------------------------------------------------------

    async def settings_for(self, guild_id: int | None) -> GuildSettings:
        """A server's settings (None: the bot-wide settings for direct messages)."""
        return await self.store.guild_settings(guild_id)

    async def change_settings(
        self, guild_id: int | None, change: Callable[[GuildSettings], GuildSettings]
    ) -> GuildSettings:
        """Apply `change` to a server's settings atomically; returns what is now in force."""
        return await self.store.update_guild_settings(guild_id, change, self.now())

    # --- pictures ----------------------------------------------------------------------------

    async def picture(self, picture_id: int) -> PictureRecord | None:
        """A recorded picture by its number."""
        return await self.store.picture(picture_id)

    async def picture_by_message(self, message_id: int) -> PictureRecord | None:
        """The picture posted as `message_id` (a set's first), if that message is ours."""
        pictures = await self.store.pictures_by_message(message_id)
        return pictures[0] if pictures else None

    async def pictures_by_message(self, message_id: int) -> list[PictureRecord]:
        """The pictures posted in `message_id`: one, or a set in number order."""
        return await self.store.pictures_by_message(message_id)

    async def erase_picture(self, picture_id: int) -> None:
        """🗑️ Delete: forget the picture's words and message; its cost and lineage stay."""
        await self.store.erase_picture(picture_id)

    async def forget_person(self, guild_id: int | None, user_id: int) -> Forgotten:
        """/forget-me: erase a person's words in a server (None: everywhere), and every copy
        of them others made (`Store.forget_person` says exactly what goes and what stays);
        the audit lines to delete or clear come back with the counts.

        Refused while a job of theirs, or one made from a picture of theirs, is under way
        (it still needs the words).
        """
        erased = await self.store.forget_person(guild_id, user_id)
        if erased is Unfinished.THEIRS:
            raise PicassoError(STILL_PAINTING)
        if erased is Unfinished.COPY:
            raise PicassoError(BEING_COPIED)
        return erased

    async def audit_line_posted(self, job_id: int, message_id: int) -> bool:
        """Note the audit-channel message about job `job_id`'s pictures (for /forget-me);
        False if their words were erased meanwhile: the line should be deleted at once."""
        return await self.store.record_audit_line(job_id, message_id)

    async def history(
        self, user_id: int, guild_id: int | None, *, limit: int, offset: int = 0
    ) -> list[PictureRecord]:
        """A person's pictures in a server, newest first."""
        return await self.store.history(user_id, guild_id, limit=limit, offset=offset)

    async def ancestry(self, picture_id: int) -> list[PictureRecord]:
        """The chain from a picture back to its first ancestor, the picture itself first."""
        return await self.store.ancestry(picture_id)

    # --- quotas ------------------------------------------------------------------------------

    async def standing(self, who: Who) -> Standing:
        """`who`'s limits and usage right now (for /quota)."""
        settings = await self.settings_for(who.guild_id)
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
            in_flight=await store.jobs_in_flight(who.guild_id, who.user_id),
            now=now,
        )

    async def server_usage(self, guild_id: int | None) -> tuple[Usage, Usage]:
        """A server's (or all DMs') usage today and this month."""
        periods = self.periods()
        return (
            await self.store.usage(guild_id, GUILD_WIDE, periods.day),
            await self.store.usage(guild_id, GUILD_WIDE, periods.month),
        )

    async def bot_usage(self, top: int = 10) -> BotUsage:
        """What the whole bot spent today and this month, and where (for the operator)."""
        return await bot_usage(self.store, self.now(), self._bot_budget, top)

    async def spend_report(self, guild_id: int | None) -> SpendReport:
        """A server's (or all DMs') last 30 days against its own daily and monthly budget."""
        settings = await self.settings_for(guild_id)
        caps = SpendCaps.usd(settings.guild_daily_usd, settings.guild_monthly_usd)
        place = DMS if guild_id is None else guild_id
        return await spend_report(self.store, place, self.now(), caps)

    async def reset_user(self, guild_id: int | None, user_id: int) -> None:
        """Forget a person's pictures, spend and cooldown for today (in-flight ones stay)."""
        await self.store.reset_user(guild_id, user_id, self.periods())

    def _limits(self, settings: GuildSettings, who: Who) -> Limits:
        """The server's limits for `who`, and the operator's caps on the whole bot."""
        budget = self._bot_budget
        return dataclasses.replace(
            limits_for(settings, who),
            bot_daily_micros=budget.daily_micros,
            bot_monthly_micros=budget.monthly_micros,
        )

    def estimate(
        self, settings: GuildSettings, request: ImageRequest, *, input_images: int = 0
    ) -> int:
        """Micro-dollars held for a request until its real cost is known."""
        model = settings.model or self.default_model
        usage = estimate_usage(
            request.size.value,
            request.quality.value,
            input_images=input_images,
            pictures=request.count,
        )
        return cost_micros(usage, price_for(model, self._prices))

    async def preview(
        self, who: Who, request: ImageRequest, settings: GuildSettings | None = None
    ) -> Preview:
        """The prompt `request` would be painted with and its estimated cost.

        Checked as `admit` checks an order, before any model call: access and blocked
        words, then the daily limits, cooldown and budgets (`Store.check_admission`: the
        very reservation `admit` makes, rolled back), so a refusal is `admit`'s sentence.
        Then expanded and moderated — nothing painted, reserved or counted as a picture,
        no cooldown started; only what the chat and moderation calls cost is charged, at
        once (`Store.charge`), even when they refuse it. Paint goes through `admit`.
        """
        if settings is None:
            settings = await self.settings_for(who.guild_id)
        check_access(settings, who, request.description)
        shaped, note = shape_request(settings, request)
        estimate = self.estimate(settings, shaped)
        now = self.now()
        try:
            await self.store.check_admission(
                who.guild_id,
                who.user_id,
                self._limits(settings, who),
                estimate,
                now,
                pictures=shaped.count,
            )
        except LimitReached as refusal:
            raise refusal.explained(now) from None
        with metering() as meter:
            try:
                options = dataclasses.replace(_options(settings), user_id=who.user_id)
                plan = await self.pipeline.plan_imagine(shaped, options)
            except Exception:
                await self._charge(who, self.pipeline.chat_cost(meter), quietly=True)
                raise
        charged = self.pipeline.chat_cost(meter)
        await self._charge(who, charged)
        notes = " ".join(text for text in (note, plan.note) if text) or None
        return Preview(shaped, plan.prompt, plan.expanded, notes, estimate, charged)

    async def _charge(self, who: Who, cost: int, *, quietly: bool = False) -> None:
        """Book what a preview's model calls cost (nothing to book: no row). `quietly`: on
        the way out of a failure, whose error is the one to tell (this one is logged)."""
        if cost <= 0:
            return
        try:
            await self.store.charge(who.guild_id, who.user_id, cost, self.now())
        except Exception:
            if not quietly:
                raise
            log.exception("could not charge a preview's %d micro-dollars", cost)

    async def admit(self, order: Order, settings: GuildSettings | None = None) -> JobRecord:
        """Record `order` as a queued job with its reservation, or raise `Refused` saying why.

        Checks who may draw here and the typed text (blocked words), applies the server's
        ceilings, and reserves quota, budget, cooldown and a place among the person's jobs
        in flight in one transaction with the job row.
        """
        if settings is None:
            settings = await self.settings_for(order.who.guild_id)
        who = order.who
        if order.parent_id is not None and order.request.description == ERASED:
            raise PicassoError(WORDS_ERASED)  # forgotten: its message may still be posted
        check_access(
            settings, who, order.text if order.text is not None else order.request.description
        )
        shaped, note = shape_request(settings, order.request)
        spec = JobSpec(
            request=shaped,
            options=_options(settings),
            note=note,
            instruction=order.instruction,
            refine_mode=settings.refine_mode,
            image_urls=order.image_urls,
            uploads=order.uploads,
            origin_url=order.origin_url,
            takes=order.takes,
            requester_name=order.requester_name,
            requester_avatar=order.requester_avatar,
            audit_channel_id=settings.audit_channel_id,
            locale=order.locale or current_language(),
        )
        edits = order.kind is JobKind.REFINE and (
            settings.refine_mode != "reimagine" or bool(order.uploads)
        )
        inputs = len(order.uploads) + (1 if edits else 0)  # pictures sent with the edit
        new = NewJob(
            kind=order.kind,
            guild_id=who.guild_id,
            user_id=who.user_id,
            spec=spec,
            delivery=order.delivery,
            prompt=order.prompt,
            parent_id=order.parent_id,
            batch=order.batch,
            take=order.take,
            once=order.once,
        )
        now = self.now()  # one reading: the time and its day never disagree
        try:
            return await self.store.submit_job(
                new,
                self._limits(settings, who),
                self.estimate(settings, shaped, input_images=inputs),
                now,
            )
        except LimitReached as refusal:
            raise refusal.explained(now) from None


def _options(settings: GuildSettings) -> RunOptions:
    """The server's choices for running a job."""
    return RunOptions(settings.model, settings.style_guide, settings.moderation)
