"""May this person draw here, now, and with what? Pure functions of settings and usage.

`GuildSettings` (bot.models) is a server's configuration. `check_access` answers the
questions that need no counting (channel, role, DM, blocked words); `shape_request` applies
the server's defaults and ceilings to a request. Counting limits (quotas, budgets, cooldowns)
are enforced atomically by the storage layer with the numbers from `Limits`.
"""

from __future__ import annotations

import dataclasses
import math
import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from enum import Enum
from typing import Any, Final

from bot.errors import PicassoError
from bot.formatting import duration, plural, usd, zone_name
from bot.models import QUALITY_ORDER, GuildSettings, ImageRequest, Quality, Size, Style, Who

STYLE_GUIDE_MAX: Final = 300
BLOCKED_WORDS_MAX: Final = 200


class Refused(PicassoError):
    """A policy said no; the sentence says which rule and what to do."""


class LimitKind(Enum):
    """The counting limits, each with its own refusal sentence."""

    USER_PICTURES = "user daily pictures"
    GUILD_PICTURES = "server daily pictures"
    USER_DAILY_BUDGET = "user daily budget"
    GUILD_DAILY_BUDGET = "server daily budget"
    GUILD_MONTHLY_BUDGET = "server monthly budget"
    BOT_DAILY_BUDGET = "bot daily budget"
    BOT_MONTHLY_BUDGET = "bot monthly budget"
    COOLDOWN = "cooldown"
    IN_FLIGHT = "jobs in flight"


class LimitReached(Refused):
    """A counting limit said no. `limit` is pictures, micro-dollars, seconds or jobs.

    The storage layer raises it without knowing the clock's zone; `explained(now)` gives
    the same refusal with the sentence saying when the limit resets.
    """

    def __init__(self, kind: LimitKind, limit: int, *, wait_seconds: float = 0.0) -> None:
        self.kind = kind
        self.limit = limit
        self.wait_seconds = wait_seconds
        super().__init__(limit_sentence(kind, limit, wait_seconds=wait_seconds))

    def explained(self, now: datetime) -> LimitReached:
        """This refusal, its sentence naming when the limit resets after `now` (aware, local)."""
        again = LimitReached(self.kind, self.limit, wait_seconds=self.wait_seconds)
        again.user_message = limit_sentence(
            self.kind, self.limit, wait_seconds=self.wait_seconds, now=now
        )
        return again


def next_midnight(now: datetime) -> datetime:
    """The next local midnight after `now` (aware, in the configured zone)."""
    return datetime.combine(now.date() + timedelta(days=1), time(), tzinfo=now.tzinfo)


def next_month(now: datetime) -> datetime:
    """The first moment of the next local month after `now`."""
    first = (now.replace(day=28) + timedelta(days=4)).replace(day=1)
    return datetime.combine(first.date(), time(), tzinfo=now.tzinfo)


def until(moment: datetime, now: datetime) -> timedelta:
    """Real time from `now` to `moment` (in UTC, so daylight-saving days count right)."""
    return moment.astimezone(UTC) - now.astimezone(UTC)


def limit_sentence(
    kind: LimitKind, limit: int, *, wait_seconds: float = 0.0, now: datetime | None = None
) -> str:
    """The one sentence a person reads when `kind` refuses them (`now` adds when it resets)."""
    if kind is LimitKind.COOLDOWN:
        return f"Slow down — you can make another picture in {math.ceil(wait_seconds)} s."
    if kind is LimitKind.IN_FLIGHT:
        return (
            f"You already have {plural(limit, 'picture')} on the way — "
            "wait for one to finish, then try again."
        )
    if kind is LimitKind.BOT_DAILY_BUDGET:
        return "The bot's image budget for today is used up — please try again tomorrow."
    if kind is LimitKind.BOT_MONTHLY_BUDGET:
        when = f" — it resets on {next_month(now):%B} 1 ({zone_name(now)})" if now else ""
        return f"The bot's image budget for this month is used up{when}."
    if kind is LimitKind.GUILD_MONTHLY_BUDGET:
        when = f" — it resets on {next_month(now):%B} 1 ({zone_name(now)})" if now else ""
        return (
            f"This server's monthly image budget of {usd(limit)} "
            f"has too little left for this picture{when}."
        )
    resets = (
        f" — it resets in {duration(until(next_midnight(now), now))}, at midnight {zone_name(now)}"
        if now
        else " — it resets at midnight"
    )
    if kind is LimitKind.USER_PICTURES:
        if limit == 0:
            return "This server has set members' daily picture limit to 0 — ask a server admin."
        return f"You've reached your daily limit of {plural(limit, 'picture')}{resets}."
    if kind is LimitKind.GUILD_PICTURES:
        if limit == 0:
            return "This server's daily picture limit is 0 — ask a server admin."
        return f"This server has reached its daily limit of {plural(limit, 'picture')}{resets}."
    if kind is LimitKind.USER_DAILY_BUDGET:
        return (
            f"Your daily spending limit of {usd(limit)} "
            f"has too little left for this picture{resets}."
        )
    return (
        f"This server's daily image budget of {usd(limit)} "
        f"has too little left for this picture{resets}."
    )


@dataclass(frozen=True, slots=True)
class Limits:
    """The counting limits that apply to one person (None = no limit)."""

    user_daily_pictures: int | None
    guild_daily_pictures: int | None
    cooldown_seconds: int
    user_daily_micros: int | None
    guild_daily_micros: int | None
    guild_monthly_micros: int | None
    user_running: int | None
    user_queued: int | None
    bot_daily_micros: int | None = None  # the operator's caps on the whole bot
    bot_monthly_micros: int | None = None


NO_LIMITS: Final = Limits(None, None, 0, None, None, None, None, None)


def _micros(usd: float | None) -> int | None:
    return None if usd is None else round(usd * 1_000_000)


def is_exempt(settings: GuildSettings, who: Who) -> bool:
    """Admins and members of an exempt role skip the per-person limits."""
    return who.is_admin or bool(who.role_ids & set(settings.exempt_role_ids))


def limits_for(settings: GuildSettings, who: Who) -> Limits:
    """The counting limits for `who`: per-person ones vanish for exempt people.

    Server-wide limits and budgets apply to everyone: money spent is spent.
    """
    exempt = is_exempt(settings, who)
    return Limits(
        user_daily_pictures=None if exempt else settings.user_daily_pictures,
        guild_daily_pictures=settings.guild_daily_pictures,
        cooldown_seconds=0 if exempt else settings.cooldown_seconds,
        user_daily_micros=None if exempt else _micros(settings.user_daily_usd),
        guild_daily_micros=_micros(settings.guild_daily_usd),
        guild_monthly_micros=_micros(settings.guild_monthly_usd),
        user_running=None if exempt else settings.user_running,
        user_queued=None if exempt else settings.user_queued,
    )


def _word_pattern(word: str) -> re.Pattern[str]:
    # Any run of spaces between a phrase's words matches, so doubling a space evades nothing.
    phrase = r"\s+".join(re.escape(part) for part in word.split())
    return re.compile(rf"(?<!\w){phrase}(?!\w)", re.IGNORECASE)


def _visible(text: str) -> str:
    """`text` without invisible format characters (zero-width, direction marks), which
    would otherwise hide a word inside another."""
    return "".join(ch for ch in text if unicodedata.category(ch) != "Cf")


def blocked_word_in(text: str, words: tuple[str, ...]) -> str | None:
    """The first blocked word or phrase found in `text` as a whole word (invisible
    characters ignored), else None."""
    text = _visible(text)
    for word in words:
        if _word_pattern(word).search(text):
            return word
    return None


def check_access(settings: GuildSettings, who: Who, text: str) -> None:
    """Raise `Refused` if `who` may not draw here or `text` holds a blocked word."""
    if who.guild_id is None:
        if not settings.allow_dms:
            raise Refused("Pictures can't be made in direct messages — use a server channel.")
    elif not who.is_admin:
        places = {who.channel_id} | ({who.parent_channel_id} if who.parent_channel_id else set())
        listed = bool(places & set(settings.channel_ids))
        if settings.channel_mode == "allow" and not listed:
            raise Refused("Pictures can't be made in this channel — try one of the allowed ones.")
        if settings.channel_mode == "deny" and listed:
            raise Refused("Pictures can't be made in this channel — try another one.")
        if settings.allowed_role_ids and not who.role_ids & set(settings.allowed_role_ids):
            raise Refused("You need one of this server's drawing roles to make pictures.")
    if blocked_word_in(text, settings.blocked_words):
        raise Refused("Your request contains a word this server has blocked — please rephrase it.")


def shape_request(
    settings: GuildSettings, request: ImageRequest
) -> tuple[ImageRequest, str | None]:
    """`request` within the server's ceilings, and a note saying what was lowered (if anything).

    Raises `Refused` for a style the server does not allow ("no style" is always allowed).
    """
    notes = []
    size, quality = request.size, request.quality
    if settings.max_size == "square" and size is not Size.SQUARE:
        size = Size.SQUARE
        notes.append("size limited to square")
    ceiling = Quality(settings.max_quality)
    if ceiling is not Quality.HIGH and (
        quality is Quality.AUTO or QUALITY_ORDER.index(quality) > QUALITY_ORDER.index(ceiling)
    ):
        quality = ceiling
        notes.append(f"quality limited to {ceiling.value}")
    if (
        settings.allowed_styles
        and request.style is not Style.NONE
        and request.style.label not in settings.allowed_styles
    ):
        allowed = ", ".join(settings.allowed_styles)
        raise Refused(f"That style isn't allowed here — choose one of: {allowed}.")
    shaped = dataclasses.replace(request, size=size, quality=quality)
    note = f"This server's settings applied: {', '.join(notes)}." if notes else None
    return shaped, note


def default_request(settings: GuildSettings, description: str, **given: Any) -> ImageRequest:
    """A request for `description` with the server's defaults where the person chose nothing."""
    return ImageRequest(
        description=description,
        size=given.get("size") or Size[settings.default_size.upper()],
        quality=given.get("quality") or Quality(settings.default_quality),
        style=given.get("style") or Style.NONE,
        expand=settings.expand_default if given.get("expand") is None else given["expand"],
    )
