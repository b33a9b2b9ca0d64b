"""What is counted where: the periods, the counters one picture counts on (in lock order),
a reservation's record and a counter's reading. Plain records: `accounting` does the
counting in the database.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from bot.policy import NO_LIMITS, LimitKind, Limits

GUILD_WIDE = 0  # user_id of a guild's own counters
DMS = 0  # guild_id used for direct messages
BOT_WIDE = -1  # guild_id of the whole bot's counters (every server and the DMs together)
RESERVED, SETTLED, RELEASED = "reserved", "settled", "released"


@dataclass(frozen=True, slots=True)
class Periods:
    """The day and month a moment falls in, in the configured time zone."""

    day: str  # 2026-11-26
    month: str  # 2026-11

    @classmethod
    def of(cls, moment: datetime) -> Periods:
        """The periods of an aware `moment` (already in the configured zone)."""
        return cls(moment.strftime("%Y-%m-%d"), moment.strftime("%Y-%m"))


@dataclass(frozen=True, slots=True)
class Reservation:
    """An admitted job's hold on quota and budget (and on the person's cooldown)."""

    id: int
    guild_id: int
    user_id: int
    periods: Periods
    estimate_micros: int
    started_at: datetime | None = None  # when the cooldown was restarted for this job
    previous_start: datetime | None = None  # what a release puts back
    pictures: int = 1  # how many pictures it counts (a set of several counts each)


@dataclass(frozen=True, slots=True)
class Usage:
    """Pictures and money counted for one (guild, user, period)."""

    pictures: int = 0
    reserved_micros: int = 0
    spent_micros: int = 0


class Check(NamedTuple):
    """One counter a picture goes through, and the limits it holds there."""

    guild_id: int | None  # None: the request's own server
    user_id: int
    period: str
    pictures: int | None
    pictures_kind: LimitKind | None
    micros: int | None
    micros_kind: LimitKind


def checks(user_id: int, limits: Limits, periods: Periods) -> tuple[Check, ...]:
    """The counters one picture goes through, in lock order (the bot's rows last)."""
    return (
        Check(
            None,
            user_id,
            periods.day,
            limits.user_daily_pictures,
            LimitKind.USER_PICTURES,
            limits.user_daily_micros,
            LimitKind.USER_DAILY_BUDGET,
        ),
        Check(
            None,
            GUILD_WIDE,
            periods.day,
            limits.guild_daily_pictures,
            LimitKind.GUILD_PICTURES,
            limits.guild_daily_micros,
            LimitKind.GUILD_DAILY_BUDGET,
        ),
        Check(
            None,
            GUILD_WIDE,
            periods.month,
            None,
            None,
            limits.guild_monthly_micros,
            LimitKind.GUILD_MONTHLY_BUDGET,
        ),
        Check(
            BOT_WIDE,
            GUILD_WIDE,
            periods.day,
            None,
            None,
            limits.bot_daily_micros,
            LimitKind.BOT_DAILY_BUDGET,
        ),
        Check(
            BOT_WIDE,
            GUILD_WIDE,
            periods.month,
            None,
            None,
            limits.bot_monthly_micros,
            LimitKind.BOT_MONTHLY_BUDGET,
        ),
    )


def counted_rows(guild_id: int, user_id: int, periods: Periods) -> tuple[tuple[int, int, str], ...]:
    """The (guild, user, period) counters a picture of `user_id` in `guild_id` counts on."""
    return tuple(
        (guild_id if check.guild_id is None else check.guild_id, check.user_id, check.period)
        for check in checks(user_id, NO_LIMITS, periods)
    )
