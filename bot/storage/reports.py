"""Spend over time, for reports and charts: money and pictures per day, and the people who
spent most. Read only; it reads the same counters the reservations write.

A place is a server id, `DMS` for direct messages, or `BOT_WIDE` for every server and the
DMs together (the operator's view).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import func, select

from bot.storage.counting import BOT_WIDE, GUILD_WIDE, Usage
from bot.storage.database import Sessions
from bot.storage.tables import Counter

DAYS_SHOWN = 30


@dataclass(frozen=True, slots=True)
class DaySpend:
    """What one place counted on one day (in the configured time zone)."""

    day: date
    pictures: int = 0
    spent_micros: int = 0


def last_days(now: datetime, count: int = DAYS_SHOWN) -> list[date]:
    """The `count` days that end with the day of `now` (aware, in the configured zone),
    oldest first."""
    today = now.date()
    return [today - timedelta(days=back) for back in range(count - 1, -1, -1)]


def _periods(days: Sequence[date]) -> list[str]:
    """The counters' day periods (`2026-11-26`, as `Periods.of` writes them)."""
    return [day.isoformat() for day in days]


class Reports(Sessions):
    """The reporting part of `Store`: totals over many periods."""

    async def daily_spend(self, place: int, days: Sequence[date]) -> list[DaySpend]:
        """One record for each of `days`, in order; zero where nothing was counted."""
        query = select(Counter.period, Counter.pictures, Counter.spent_micros).where(
            (Counter.guild_id == place)
            & (Counter.user_id == GUILD_WIDE)
            & Counter.period.in_(_periods(days))
        )
        async with self._reading() as session:
            counted = {
                period: (pictures, spent)
                for period, pictures, spent in await session.execute(query)
            }
        return [DaySpend(day, *counted.get(day.isoformat(), (0, 0))) for day in days]

    async def top_spenders(
        self, place: int, days: Sequence[date], limit: int = 5
    ) -> list[tuple[int, Usage]]:
        """The people who spent most over `days` in `place` (everywhere for `BOT_WIDE`), most
        first, with their pictures, money still held and money spent; nobody who made none."""
        spent = func.sum(Counter.spent_micros)
        pictures = func.sum(Counter.pictures)
        query = select(Counter.user_id, pictures, func.sum(Counter.reserved_micros), spent).where(
            (Counter.user_id != GUILD_WIDE) & Counter.period.in_(_periods(days))
        )
        if place != BOT_WIDE:
            query = query.where(Counter.guild_id == place)
        query = (
            query.group_by(Counter.user_id)
            .having((pictures > 0) | (spent > 0))
            .order_by(spent.desc(), pictures.desc(), Counter.user_id)
            .limit(limit)
        )
        async with self._reading() as session:
            rows = (await session.execute(query)).all()
        # PostgreSQL sums BIGINT as NUMERIC (a Decimal here): back to int.
        return [(user, Usage(int(made), int(held), int(paid))) for user, made, held, paid in rows]
