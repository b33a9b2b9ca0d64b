"""May this person draw here, now, and with what? Pure functions of settings and usage.

`GuildSettings` (bot.models) is a server's configuration. `check_access` answers the
questions that need no counting (channel, role, DM, blocked words); `shape_request` applies
the server's defaults and ceilings to a request. Counting limits (quotas, budgets, cooldowns)
are enforced atomically by the storage layer with the numbers from `Limits`.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from enum import Enum
from typing import Any, Final

from bot.errors import PicassoError
from bot.formatting import duration, usd, zone_name
from bot.i18n import N_, _, month_day, ngettext
from bot.models import QUALITY_ORDER, GuildSettings, ImageRequest, Quality, Size, Style, Who
from bot.words import blocked_word_in

STYLE_GUIDE_MAX: Final = 300
BLOCKED_WORDS_MAX: Final = 200
BLOCKED_WORD: Final = N_(
    "Your request contains a word this server has blocked — please rephrase it."
)


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
    the same refusal with the sentence saying when the limit resets. The sentence is made
    when it is read, in the reader's language.
    """

    def __init__(
        self,
        kind: LimitKind,
        limit: int,
        *,
        wait_seconds: float = 0.0,
        left: int | None = None,
        asked: int = 1,
    ) -> None:
        self.kind = kind
        self.limit = limit
        self.wait_seconds = wait_seconds
        self.left = left  # pictures still allowed, when a set of `asked` is more than that
        self.asked = asked
        self.now: datetime | None = None
        super().__init__(self._sentence())

    def render(self) -> str:
        return self._sentence(self.now)

    def _sentence(self, now: datetime | None = None) -> str:
        if self.left and self.asked > self.left:
            return few_left_sentence(self.kind, self.left)
        return limit_sentence(self.kind, self.limit, wait_seconds=self.wait_seconds, now=now)

    def explained(self, now: datetime) -> LimitReached:
        """This refusal, its sentence naming when the limit resets after `now` (aware, local)."""
        again = LimitReached(
            self.kind, self.limit, wait_seconds=self.wait_seconds, left=self.left, asked=self.asked
        )
        again.now = now
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


def few_left_sentence(kind: LimitKind, left: int) -> str:
    """The sentence for a set of pictures larger than what a daily picture limit has left."""
    if kind is LimitKind.GUILD_PICTURES:
        text = ngettext(
            "This server has only {count} picture left today — ask for fewer.",
            "This server has only {count} pictures left today — ask for fewer.",
            left,
        )
    else:
        text = ngettext(
            "You have only {count} picture left today — ask for fewer.",
            "You have only {count} pictures left today — ask for fewer.",
            left,
        )
    return text.format(count=left)


def _ends(refusal: str, when: str | None) -> str:
    """`refusal` (a clause), then when the limit resets, as one sentence."""
    if when is None:
        return _("{refusal}.").format(refusal=refusal)
    return _("{refusal} — {when}.").format(refusal=refusal, when=when)


def _next_month(now: datetime | None) -> str | None:
    if now is None:
        return None
    day = month_day(next_month(now).date())
    return _("it resets on {day} ({zone})").format(day=day, zone=zone_name(now))


def _midnight(now: datetime | None) -> str:
    if now is None:
        return _("it resets at midnight")
    wait = duration(until(next_midnight(now), now))
    return _("it resets in {wait}, at midnight {zone}").format(wait=wait, zone=zone_name(now))


def limit_sentence(
    kind: LimitKind, limit: int, *, wait_seconds: float = 0.0, now: datetime | None = None
) -> str:
    """The one sentence a person reads when `kind` refuses them (`now` adds when it resets)."""
    if kind is LimitKind.COOLDOWN:
        return _("Slow down — you can make another picture in {seconds} s.").format(
            seconds=math.ceil(wait_seconds)
        )
    if kind is LimitKind.IN_FLIGHT:
        return ngettext(
            "You already have {count} picture on the way — wait for one to finish, then try again.",
            "You already have {count} pictures on the way — wait for one to finish, "
            "then try again.",
            limit,
        ).format(count=limit)
    if kind is LimitKind.BOT_DAILY_BUDGET:
        return _("The bot's image budget for today is used up — please try again tomorrow.")
    if kind is LimitKind.BOT_MONTHLY_BUDGET:
        return _ends(_("The bot's image budget for this month is used up"), _next_month(now))
    if kind is LimitKind.GUILD_MONTHLY_BUDGET:
        refusal = _(
            "This server's monthly image budget of {amount} has too little left for this picture"
        )
        return _ends(refusal.format(amount=usd(limit)), _next_month(now))
    if kind is LimitKind.USER_PICTURES and limit == 0:
        return _("This server has set members' daily picture limit to 0 — ask a server admin.")
    if kind is LimitKind.GUILD_PICTURES and limit == 0:
        return _("This server's daily picture limit is 0 — ask a server admin.")
    return _ends(_daily_refusal(kind, limit), _midnight(now))


def _daily_refusal(kind: LimitKind, limit: int) -> str:
    """The clause for a daily limit (pictures or money) that refuses."""
    if kind is LimitKind.USER_PICTURES:
        text = ngettext(
            "You've reached your daily limit of {count} picture",
            "You've reached your daily limit of {count} pictures",
            limit,
        )
    elif kind is LimitKind.GUILD_PICTURES:
        text = ngettext(
            "This server has reached its daily limit of {count} picture",
            "This server has reached its daily limit of {count} pictures",
            limit,
        )
    elif kind is LimitKind.USER_DAILY_BUDGET:
        text = _("Your daily spending limit of {amount} has too little left for this picture")
    else:
        text = _(
            "This server's daily image budget of {amount} has too little left for this picture"
        )
    return text.format(count=limit, amount=usd(limit))


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


def check_words(settings: GuildSettings, text: str) -> None:
    """Raise `Refused` if `text` holds one of the server's blocked words: whole words and
    phrases, in any case and any look-alike spelling (`bot.words`, the one matcher)."""
    if blocked_word_in(text, settings.blocked_words):
        raise Refused(BLOCKED_WORD)


def check_access(settings: GuildSettings, who: Who, text: str) -> None:
    """Raise `Refused` if `who` may not draw here or `text` holds a blocked word."""
    if who.guild_id is None:
        if not settings.allow_dms:
            raise Refused(N_("Pictures can't be made in direct messages — use a server channel."))
    elif not who.is_admin:
        places = {who.channel_id} | ({who.parent_channel_id} if who.parent_channel_id else set())
        listed = bool(places & set(settings.channel_ids))
        if settings.channel_mode == "allow" and not listed:
            raise Refused(
                N_("Pictures can't be made in this channel — try one of the allowed ones.")
            )
        if settings.channel_mode == "deny" and listed:
            raise Refused(N_("Pictures can't be made in this channel — try another one."))
        if settings.allowed_role_ids and not who.role_ids & set(settings.allowed_role_ids):
            raise Refused(N_("You need one of this server's drawing roles to make pictures."))
    check_words(settings, text)


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
        notes.append(_("size limited to square"))
    ceiling = settings.max_quality
    if ceiling is not Quality.HIGH and (
        quality is Quality.AUTO or QUALITY_ORDER.index(quality) > QUALITY_ORDER.index(ceiling)
    ):
        quality = ceiling
        # The quality's name is the word its command choice shows.
        notes.append(_("quality limited to {quality}").format(quality=_(ceiling.value)))
    if (
        settings.allowed_styles
        and request.style is not Style.NONE
        and request.style.label not in settings.allowed_styles
    ):
        allowed = ", ".join(settings.allowed_styles)
        raise Refused(
            N_("That style isn't allowed here — choose one of: {styles}."), styles=allowed
        )
    count = min(request.count, max(1, settings.max_count))
    if count < request.count:
        notes.append(
            ngettext(
                "at most {count} picture at a time", "at most {count} pictures at a time", count
            ).format(count=count)
        )
    shaped = dataclasses.replace(request, size=size, quality=quality, count=count)
    if not notes:
        return shaped, None
    note = _("This server's settings applied: {changes}.").format(changes=", ".join(notes))
    return shaped, note


def default_request(settings: GuildSettings, description: str, **given: Any) -> ImageRequest:
    """A request for `description` with the server's defaults where the person chose nothing."""
    return ImageRequest(
        description=description,
        size=given.get("size") or settings.default_size,
        quality=given.get("quality") or settings.default_quality,
        style=given.get("style") or Style.NONE,
        expand=settings.expand_default if given.get("expand") is None else given["expand"],
        count=given.get("count") or 1,
    )
