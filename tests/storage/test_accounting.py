"""Reservations, settling, releasing and resets: exact at the boundaries, on both backends."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.policy import LimitKind, LimitReached, Limits
from bot.storage.repository import BOT_WIDE, DMS, GUILD_WIDE, Periods, Reservation, Store, Usage
from tests.storage.records import GUILD, limits

OTHER_GUILD = 4343
ALICE = 1001
BOB = 1002
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
TODAY = Periods.of(NOW)
EST = 10_000  # micro-dollars held per picture in these tests


async def reserve(
    store: Store,
    rules: Limits,
    *,
    user: int = ALICE,
    guild: int | None = GUILD,
    estimate: int = EST,
    now: datetime = NOW,
    pictures: int = 1,
) -> Reservation:
    return await store.reserve(guild, user, rules, estimate, now, pictures=pictures)


async def refused(store: Store, rules: Limits, **given: object) -> LimitReached:
    with pytest.raises(LimitReached) as caught:
        await reserve(store, rules, **given)  # type: ignore[arg-type]
    return caught.value


async def test_user_daily_pictures_exact_boundary(store: Store) -> None:
    rules = limits(user_daily_pictures=3)
    for _ in range(3):
        await reserve(store, rules)
    refusal = await refused(store, rules)
    assert (refusal.kind, refusal.limit) == (LimitKind.USER_PICTURES, 3)
    assert (await store.usage(GUILD, ALICE, TODAY.day)).pictures == 3
    await reserve(store, rules, user=BOB)  # the limit is per person


async def test_a_set_is_admitted_whole_or_refused_whole(store: Store) -> None:
    rules = limits(user_daily_pictures=4, guild_daily_pictures=5)
    await reserve(store, rules, pictures=2)
    refusal = await refused(store, rules, pictures=3)
    assert (refusal.kind, refusal.left, refusal.asked) == (LimitKind.USER_PICTURES, 2, 3)
    assert refusal.user_message == "You have only 2 pictures left today — ask for fewer."
    assert (await store.usage(GUILD, ALICE, TODAY.day)).pictures == 2  # nothing of the three
    await reserve(store, rules, pictures=2)  # exactly what is left
    server = await refused(store, rules, user=BOB, pictures=2)
    assert (server.kind, server.left) == (LimitKind.GUILD_PICTURES, 1)
    assert server.user_message == "This server has only 1 picture left today — ask for fewer."


async def test_releasing_a_set_gives_every_picture_back(store: Store) -> None:
    rules = limits(user_daily_pictures=4)
    held = await reserve(store, rules, pictures=3, estimate=3 * EST)
    assert held.pictures == 3
    assert await store.release(held, NOW)
    usage = await store.usage(GUILD, ALICE, TODAY.day)
    assert (usage.pictures, usage.reserved_micros) == (0, 0)
    await reserve(store, rules, pictures=4)


async def test_server_daily_pictures_count_everyone(store: Store) -> None:
    rules = limits(guild_daily_pictures=2)
    await reserve(store, rules, user=ALICE)
    await reserve(store, rules, user=BOB)
    refusal = await refused(store, rules, user=1003)
    assert refusal.kind is LimitKind.GUILD_PICTURES
    await reserve(store, rules, guild=OTHER_GUILD)  # another server is another count


async def test_a_refusal_changes_nothing(store: Store) -> None:
    """The user's counter took the picture before the server's refused: both roll back."""
    await reserve(store, limits(), user=BOB)
    rules = limits(guild_daily_pictures=1, cooldown_seconds=60)
    await refused(store, rules)
    assert await store.usage(GUILD, ALICE, TODAY.day) == Usage(0, 0, 0)
    assert await store.cooldown_left(GUILD, ALICE, 60, NOW) == 0


async def test_checking_an_admission_decides_as_reserving_and_holds_nothing(
    store: Store,
) -> None:
    rules = limits(user_daily_pictures=2, user_daily_micros=3 * EST, cooldown_seconds=30)
    await store.check_admission(GUILD, ALICE, rules, EST, NOW, pictures=2)
    assert await store.usage(GUILD, ALICE, TODAY.day) == Usage()
    assert await store.cooldown_left(GUILD, ALICE, 30, NOW) == 0  # no cooldown started
    await reserve(store, rules)
    later = NOW + timedelta(seconds=30)
    for when, estimate, pictures, kind in (
        (NOW + timedelta(seconds=29), EST, 1, LimitKind.COOLDOWN),
        (later, EST, 2, LimitKind.USER_PICTURES),
        (later, 2 * EST + 1, 1, LimitKind.USER_DAILY_BUDGET),
    ):
        with pytest.raises(LimitReached) as checked:
            await store.check_admission(GUILD, ALICE, rules, estimate, when, pictures=pictures)
        assert checked.value.kind is kind
    await store.check_admission(GUILD, ALICE, rules, 2 * EST, later)  # exactly what fits
    assert await store.usage(GUILD, ALICE, TODAY.day) == Usage(1, EST, 0)  # only the picture
    await reserve(store, rules, now=later, estimate=2 * EST)  # and it is admitted


async def test_a_charge_is_spent_money_without_a_picture_or_a_cooldown(store: Store) -> None:
    rules = limits(user_daily_micros=EST, cooldown_seconds=30)
    entry_id = await store.charge(GUILD, ALICE, 250, NOW)
    entry = await store.ledger_entry(entry_id)
    assert entry is not None
    assert (entry.state, entry.pictures, entry.estimate_micros, entry.cost_micros) == (
        "settled",
        0,
        0,
        250,
    )
    for place, person, period in (
        (GUILD, ALICE, TODAY.day),
        (GUILD, GUILD_WIDE, TODAY.day),
        (GUILD, GUILD_WIDE, TODAY.month),
        (BOT_WIDE, GUILD_WIDE, TODAY.day),
        (BOT_WIDE, GUILD_WIDE, TODAY.month),
    ):
        assert await store.usage(place, person, period) == Usage(0, 0, 250)
    assert await store.cooldown_left(GUILD, ALICE, 30, NOW) == 0
    refusal = await refused(store, rules)  # the budget counts it: 250 + EST > EST
    assert refusal.kind is LimitKind.USER_DAILY_BUDGET
    await store.charge(GUILD, ALICE, EST, NOW)  # money spent is spent: never refused
    assert (await store.usage(GUILD, ALICE, TODAY.day)).spent_micros == EST + 250


async def test_budget_admits_exactly_what_fits(store: Store) -> None:
    rules = limits(user_daily_micros=3 * EST)
    for _ in range(3):  # 3 × EST == the cap: the last one still fits exactly
        await reserve(store, rules)
    refusal = await refused(store, rules)
    assert (refusal.kind, refusal.limit) == (LimitKind.USER_DAILY_BUDGET, 3 * EST)


async def test_settled_spend_frees_what_the_estimate_held(store: Store) -> None:
    rules = limits(guild_daily_micros=2 * EST)
    first = await reserve(store, rules)
    second = await reserve(store, rules)
    await refused(store, rules)
    assert await store.settle(first, EST // 2, None, NOW)
    usage = await store.usage(GUILD, GUILD_WIDE, TODAY.day)
    assert (usage.pictures, usage.reserved_micros, usage.spent_micros) == (2, EST, EST // 2)
    await refused(store, rules)  # 0.5 + 1 held + 1 asked > 2
    assert await store.release(second, NOW)
    await reserve(store, rules)  # 0.5 + 1 asked <= 2


async def test_monthly_budget_spans_days(store: Store) -> None:
    rules = limits(guild_monthly_micros=2 * EST)
    for day in (1, 2):
        held = await reserve(store, rules, now=NOW.replace(day=day))
        await store.settle(held, EST, None, NOW.replace(day=day))
    refusal = await refused(store, rules, now=NOW.replace(day=3))
    assert refusal.kind is LimitKind.GUILD_MONTHLY_BUDGET
    await reserve(store, rules, now=NOW.replace(month=12, day=1))  # a new month


async def test_picture_limit_wins_when_both_refuse(store: Store) -> None:
    rules = limits(user_daily_pictures=1, user_daily_micros=EST)
    await reserve(store, rules)
    assert (await refused(store, rules)).kind is LimitKind.USER_PICTURES


async def test_fifty_concurrent_reservations_never_overrun(store: Store) -> None:
    rules = limits(user_daily_pictures=5)
    results = await asyncio.gather(
        *(reserve(store, rules) for _ in range(50)), return_exceptions=True
    )
    admitted = [r for r in results if isinstance(r, Reservation)]
    refusals = [r for r in results if isinstance(r, LimitReached)]
    assert len(admitted) == 5
    assert len(refusals) == 45
    assert all(r.kind is LimitKind.USER_PICTURES for r in refusals)
    assert (await store.usage(GUILD, ALICE, TODAY.day)).pictures == 5
    assert len({r.id for r in admitted}) == 5


async def test_concurrent_reservations_of_many_people_respect_the_server_budget(
    store: Store,
) -> None:
    rules = limits(guild_daily_micros=7 * EST)
    results = await asyncio.gather(
        *(reserve(store, rules, user=2000 + n) for n in range(40)), return_exceptions=True
    )
    assert sum(isinstance(r, Reservation) for r in results) == 7
    assert all(isinstance(r, Reservation | LimitReached) for r in results), results
    usage = await store.usage(GUILD, GUILD_WIDE, TODAY.day)
    assert (usage.pictures, usage.reserved_micros) == (7, 7 * EST)


async def test_release_gives_everything_back_and_marks_the_ledger(store: Store) -> None:
    rules = limits(user_daily_pictures=1, cooldown_seconds=60)
    held = await reserve(store, rules)
    assert await store.release(held, NOW + timedelta(seconds=5))
    for who, period in ((ALICE, TODAY.day), (GUILD_WIDE, TODAY.day), (GUILD_WIDE, TODAY.month)):
        usage = await store.usage(GUILD, who, period)
        assert (usage.pictures, usage.reserved_micros, usage.spent_micros) == (0, 0, 0)
    entry = await store.ledger_entry(held.id)
    assert entry is not None
    assert (entry.state, entry.cost_micros, entry.estimate_micros) == ("released", 0, EST)
    await reserve(store, rules, now=NOW + timedelta(seconds=6))  # no cooldown, no quota used


async def test_settle_counts_once(store: Store) -> None:
    held = await reserve(store, limits())
    results = await asyncio.gather(*(store.settle(held, 7_000, None, NOW) for _ in range(5)))
    assert sorted(results) == [False, False, False, False, True]
    assert not await store.release(held, NOW)  # already settled
    usage = await store.usage(GUILD, ALICE, TODAY.day)
    assert (usage.pictures, usage.reserved_micros, usage.spent_micros) == (1, 0, 7_000)
    month = await store.usage(GUILD, GUILD_WIDE, TODAY.month)
    assert (month.pictures, month.spent_micros) == (1, 7_000)
    entry = await store.ledger_entry(held.id)
    assert entry is not None and (entry.state, entry.cost_micros) == ("settled", 7_000)


async def test_release_after_release_is_a_no_op(store: Store) -> None:
    held = await reserve(store, limits())
    assert await store.release(held, NOW)
    assert not await store.release(held, NOW)
    assert not await store.settle(held, 5, None, NOW)
    assert (await store.usage(GUILD, ALICE, TODAY.day)).pictures == 0


async def test_cooldown_exact_boundary(store: Store) -> None:
    rules = limits(cooldown_seconds=30)
    await reserve(store, rules)
    early = await refused(store, rules, now=NOW + timedelta(seconds=29.5))
    assert early.kind is LimitKind.COOLDOWN
    assert early.wait_seconds == pytest.approx(0.5)
    assert await store.cooldown_left(GUILD, ALICE, 30, NOW + timedelta(seconds=10)) == 20
    await reserve(store, rules, now=NOW + timedelta(seconds=30))  # exactly 30 s later
    await reserve(store, rules, user=BOB, now=NOW + timedelta(seconds=31))  # per person


async def test_release_gives_the_cooldown_back(store: Store) -> None:
    rules = limits(cooldown_seconds=30)
    first = await reserve(store, rules)
    await store.settle(first, EST, None, NOW)
    later = NOW + timedelta(seconds=40)
    failed = await reserve(store, rules, now=later)
    await store.release(failed, later + timedelta(seconds=1))
    # The failed picture does not count: the cooldown runs from the first one again.
    await reserve(store, rules, now=later + timedelta(seconds=2))


async def test_times_in_other_zones_compare_as_instants(store: Store) -> None:
    tokyo = ZoneInfo("Asia/Tokyo")
    rules = limits(cooldown_seconds=60)
    await reserve(store, rules, now=NOW.astimezone(tokyo))
    refusal = await refused(store, rules, now=NOW + timedelta(seconds=59))
    assert refusal.wait_seconds == pytest.approx(1)
    await reserve(store, rules, now=(NOW + timedelta(seconds=60)).astimezone(tokyo))


async def test_reset_user_forgets_today_but_keeps_pictures_under_way(store: Store) -> None:
    rules = limits(user_daily_pictures=3, cooldown_seconds=600)
    done = await reserve(store, rules)
    await store.settle(done, EST, None, NOW)
    await reserve(store, rules, now=NOW + timedelta(seconds=600))
    under_way = await reserve(store, rules, now=NOW + timedelta(seconds=1200))
    await store.reset_user(GUILD, ALICE, TODAY)
    usage = await store.usage(GUILD, ALICE, TODAY.day)
    assert (usage.pictures, usage.spent_micros) == (2, 0)  # the two still under way
    assert usage.reserved_micros == 2 * EST
    assert await store.cooldown_left(GUILD, ALICE, 600, NOW + timedelta(seconds=1201)) == 0
    assert (await store.usage(GUILD, GUILD_WIDE, TODAY.day)).pictures == 3  # the server's stay
    await store.release(under_way, NOW)
    assert (await store.usage(GUILD, ALICE, TODAY.day)).pictures == 1
    await reserve(store, rules, now=NOW + timedelta(seconds=1300))
    await reserve(store, rules, now=NOW + timedelta(seconds=1900))
    await refused(store, rules, now=NOW + timedelta(seconds=2500))


async def test_reset_user_keeps_every_picture_of_a_set_under_way(store: Store) -> None:
    rules = limits(user_daily_pictures=5)
    await reserve(store, rules, pictures=3)
    await store.reset_user(GUILD, ALICE, TODAY)
    assert (await store.usage(GUILD, ALICE, TODAY.day)).pictures == 3
    await reserve(store, rules, pictures=2)
    await refused(store, rules)


async def test_reset_of_someone_without_usage_is_harmless(store: Store) -> None:
    await store.reset_user(GUILD, ALICE, TODAY)
    assert (await store.usage(GUILD, ALICE, TODAY.day)).pictures == 0


async def test_direct_messages_are_their_own_place(store: Store) -> None:
    rules = limits(user_daily_pictures=1)
    await reserve(store, rules, guild=None)
    await refused(store, rules, guild=None)
    await reserve(store, rules, guild=GUILD)
    assert (await store.usage(None, ALICE, TODAY.day)).pictures == 1


async def test_a_picture_settled_after_midnight_counts_on_the_day_it_started(store: Store) -> None:
    paris = ZoneInfo("Europe/Paris")
    started = datetime(2026, 11, 30, 23, 59, tzinfo=paris)
    held = await reserve(store, limits(), now=started)
    assert held.periods == Periods("2026-11-30", "2026-11")
    assert await store.settle(held, 7_000, None, started + timedelta(minutes=3))
    for who, period in ((ALICE, "2026-11-30"), (GUILD_WIDE, "2026-11-30"), (GUILD_WIDE, "2026-11")):
        usage = await store.usage(GUILD, who, period)
        assert (usage.pictures, usage.reserved_micros, usage.spent_micros) == (1, 0, 7_000)
    for who, period in ((ALICE, "2026-12-01"), (GUILD_WIDE, "2026-12")):
        assert await store.usage(GUILD, who, period) == Usage()


async def test_zero_limits_refuse_everything(store: Store) -> None:
    assert (await refused(store, limits(user_daily_pictures=0))).kind is LimitKind.USER_PICTURES
    assert (await refused(store, limits(guild_daily_micros=0))).kind is (
        LimitKind.GUILD_DAILY_BUDGET
    )


async def test_the_bots_daily_cap_holds_for_fifty_concurrent_requests_across_servers(
    store: Store,
) -> None:
    rules = limits(bot_daily_micros=12 * EST)
    results = await asyncio.gather(
        *(reserve(store, rules, guild=5000 + n % 10, user=2000 + n) for n in range(50)),
        return_exceptions=True,
    )
    admitted = [r for r in results if isinstance(r, Reservation)]
    refusals = [r for r in results if isinstance(r, LimitReached)]
    assert (len(admitted), len(refusals)) == (12, 38), results
    assert {r.kind for r in refusals} == {LimitKind.BOT_DAILY_BUDGET}
    bot = await store.usage(BOT_WIDE, GUILD_WIDE, TODAY.day)
    assert (bot.pictures, bot.reserved_micros) == (12, 12 * EST)
    servers = [await store.usage(5000 + n, GUILD_WIDE, TODAY.day) for n in range(10)]
    assert sum(usage.pictures for usage in servers) == 12  # a refusal counted nowhere


async def test_the_bots_monthly_cap_counts_every_day_and_the_dms(store: Store) -> None:
    rules = limits(bot_monthly_micros=2 * EST)
    await reserve(store, rules, guild=None)
    await reserve(store, rules, now=NOW - timedelta(days=3))
    refusal = await refused(store, rules, guild=OTHER_GUILD)
    assert refusal.kind is LimitKind.BOT_MONTHLY_BUDGET
    assert refusal.user_message.startswith("The bot's image budget for this month is used up")


async def test_settling_and_releasing_move_the_bots_counters(store: Store) -> None:
    kept = await reserve(store, limits(), guild=GUILD)
    dropped = await reserve(store, limits(), guild=OTHER_GUILD, user=BOB)
    assert await store.settle(kept, 7_000, None, NOW)
    assert await store.release(dropped, NOW)
    for period in (TODAY.day, TODAY.month):
        assert await store.usage(BOT_WIDE, GUILD_WIDE, period) == Usage(1, 0, 7_000)


async def test_top_servers_rank_by_money_and_leave_out_the_bot(store: Store) -> None:
    cheap = await reserve(store, limits(), guild=GUILD, estimate=1_000)
    dear = await reserve(store, limits(), guild=OTHER_GUILD, estimate=9_000)
    await reserve(store, limits(), guild=None, estimate=5_000)
    await store.settle(cheap, 2_000, None, NOW)
    await store.settle(dear, 3_000, None, NOW)
    top = await store.top_servers(TODAY.month, limit=2)
    assert top == [(DMS, Usage(1, 5_000, 0)), (OTHER_GUILD, Usage(1, 0, 3_000))]
