"""Spend over 30 days for the chart: per-day totals and the people who spent most, on both
backends."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from itertools import pairwise

from bot.storage.reports import DaySpend, last_days
from bot.storage.repository import BOT_WIDE, DMS, Store, Usage
from tests.storage.records import GUILD, limits

OTHER_GUILD = 4343
ALICE, BOB, CAROL = 1001, 1002, 1003
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
DAYS = last_days(NOW)


async def spend(
    store: Store, guild: int | None, user: int, days_ago: int, cost: int | None
) -> None:
    """One picture `days_ago` before NOW: settled at `cost`, or still under way (None)."""
    when = NOW - timedelta(days=days_ago)
    held = await store.reserve(guild, user, limits(), 50_000, when)
    if cost is not None:
        await store.settle(held, cost, None, when)


async def history(store: Store) -> None:
    """Pictures over six weeks in two servers and the DMs."""
    await spend(store, GUILD, ALICE, 0, 40_000)
    await spend(store, GUILD, ALICE, 0, None)  # under way: counted, nothing spent yet
    await spend(store, GUILD, BOB, 2, 70_000)
    await spend(store, GUILD, CAROL, 29, 10_000)  # the first day shown
    await spend(store, GUILD, CAROL, 30, 900_000)  # one day too old
    await spend(store, OTHER_GUILD, CAROL, 1, 80_000)
    await spend(store, None, BOB, 1, 5_000)


def test_last_days_are_thirty_ending_today_in_order() -> None:
    assert len(DAYS) == 30
    assert (DAYS[0], DAYS[-1]) == (date(2026, 10, 28), date(2026, 11, 26))
    assert all(later - earlier == timedelta(days=1) for earlier, later in pairwise(DAYS))


async def test_daily_spend_has_every_day_and_only_that_places_days(store: Store) -> None:
    await history(store)

    days = await store.daily_spend(GUILD, DAYS)

    assert [day.day for day in days] == DAYS
    assert days[-1] == DaySpend(date(2026, 11, 26), 2, 40_000)
    assert days[-3] == DaySpend(date(2026, 11, 24), 1, 70_000)
    assert days[0] == DaySpend(date(2026, 10, 28), 1, 10_000)
    assert sum(day.spent_micros for day in days) == 120_000  # not the month rows, not Oct 27
    assert days[-2] == DaySpend(date(2026, 11, 25))  # the other server's day is not here


async def test_daily_spend_of_the_whole_bot_counts_every_server_and_the_dms(
    store: Store,
) -> None:
    await history(store)

    days = await store.daily_spend(BOT_WIDE, DAYS)

    assert days[-2] == DaySpend(date(2026, 11, 25), 2, 85_000)
    assert sum(day.pictures for day in days) == 6
    assert (await store.daily_spend(DMS, DAYS))[-2] == DaySpend(date(2026, 11, 25), 1, 5_000)


async def test_top_spenders_rank_by_money_within_the_days(store: Store) -> None:
    await history(store)

    top = await store.top_spenders(GUILD, DAYS)

    assert top == [
        (BOB, Usage(1, 0, 70_000)),
        (ALICE, Usage(2, 50_000, 40_000)),
        (CAROL, Usage(1, 0, 10_000)),  # her 900,000 is older than the days shown
    ]


async def test_top_spenders_of_the_whole_bot_add_up_each_persons_places(store: Store) -> None:
    await history(store)

    top = await store.top_spenders(BOT_WIDE, DAYS, limit=2)

    assert top == [(CAROL, Usage(2, 0, 90_000)), (BOB, Usage(2, 0, 75_000))]


async def test_nothing_counted_is_thirty_empty_days_and_nobody(store: Store) -> None:
    held = await store.reserve(GUILD, ALICE, limits(), 50_000, NOW)
    await store.release(held, NOW)  # a picture given back leaves its person at zero

    assert await store.daily_spend(GUILD, DAYS) == [DaySpend(day) for day in DAYS]
    assert await store.top_spenders(GUILD, DAYS) == []
