"""bot/studio.py on real SQLite: admission, turns, settling and releasing, the zone's day."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.imaging.pipeline import ImageRequest, Pipeline, Stage
from bot.imaging.pricing import DEFAULT_PRICES
from bot.jobs import SlotQueue
from bot.policy import GuildSettings, LimitKind, LimitReached, Who
from bot.storage.database import make_engine, migrate
from bot.storage.repository import GUILD_WIDE, Reservation, Store
from bot.studio import Posted, Studio
from tests.unit.doubles import Recorder, RecordingImages, ScriptedChat, until

GUILD, CHANNEL, ALICE = 4242, 10, 1001
ALICE_HERE = Who(user_id=ALICE, guild_id=GUILD, channel_id=CHANNEL)
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
REQUEST = ImageRequest("a cat")


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'picasso.db'}")
    await migrate(engine)
    yield Store(engine)
    await engine.dispose()


def make_studio(store: Store, *, now: datetime = NOW, zone: str = "UTC") -> Studio:
    pipeline = Pipeline(
        ScriptedChat(), RecordingImages(), slots=SlotQueue(4), prices=DEFAULT_PRICES
    )
    return Studio(store, pipeline, DEFAULT_PRICES, timezone=ZoneInfo(zone), clock=lambda: now)


async def make_picture(studio: Studio, settings: GuildSettings, message_id: int = 1) -> int:
    async with studio.job(ALICE_HERE, REQUEST, settings=settings) as job:
        result = await studio.pipeline.paint(job.request, "A cat.", None, job.options)
        return await job.done(result, Posted(CHANNEL, message_id, None))


async def test_a_failed_job_costs_nothing_and_a_finished_one_is_charged(store: Store) -> None:
    studio = make_studio(store)
    settings = GuildSettings(user_daily_pictures=1)
    with pytest.raises(RuntimeError):
        async with studio.job(ALICE_HERE, REQUEST, settings=settings):
            raise RuntimeError("the upload failed")
    assert (await store.usage(GUILD, ALICE, "2026-11-26")).pictures == 0
    picture_id = await make_picture(studio, settings)
    used = await store.usage(GUILD, ALICE, "2026-11-26")
    stored = await store.picture(picture_id)
    assert stored is not None and stored.cost_micros > 0
    assert (used.pictures, used.reserved_micros, used.spent_micros) == (1, 0, stored.cost_micros)
    with pytest.raises(LimitReached) as caught:
        await make_picture(studio, settings, message_id=2)
    assert caught.value.kind is LimitKind.USER_PICTURES
    assert studio.in_flight(GUILD, ALICE) == 0


async def test_the_day_and_the_reset_are_the_configured_zones(store: Store) -> None:
    late = datetime(2026, 11, 26, 23, 30, tzinfo=UTC)  # already the 27th in Paris
    studio = make_studio(store, now=late, zone="Europe/Paris")
    settings = GuildSettings(user_daily_pictures=1)
    await make_picture(studio, settings)
    assert (await store.usage(GUILD, ALICE, "2026-11-27")).pictures == 1
    assert (await store.usage(GUILD, GUILD_WIDE, "2026-11")).pictures == 1
    assert (await store.usage(GUILD, ALICE, "2026-11-26")).pictures == 0
    with pytest.raises(LimitReached) as caught:
        await make_picture(studio, settings, message_id=2)
    assert caught.value.user_message.endswith("it resets in 23 h 30 min, at midnight Europe/Paris.")


async def test_jobs_beyond_running_and_queued_are_refused_at_once(store: Store) -> None:
    studio = make_studio(store)
    settings = GuildSettings(user_running=1, user_queued=1)
    hold = asyncio.Event()

    async def job() -> None:
        async with studio.job(ALICE_HERE, REQUEST, settings=settings):
            await hold.wait()

    tasks = [asyncio.create_task(job()) for _ in range(5)]
    await until(lambda: sum(task.done() for task in tasks) == 3)
    hold.set()
    outcomes = await asyncio.gather(*tasks, return_exceptions=True)
    refusals = [o for o in outcomes if isinstance(o, LimitReached)]
    assert [r.kind for r in refusals] == [LimitKind.IN_FLIGHT] * 3
    assert outcomes.count(None) == 2
    assert studio.in_flight(GUILD, ALICE) == 0


async def test_the_queue_position_counts_only_jobs_waiting_for_a_turn(store: Store) -> None:
    """A variation take in flight holds no turn: the next job is first in line, not second."""
    studio = make_studio(store)
    settings = GuildSettings(user_running=1, user_queued=3)
    hold = asyncio.Event()
    inside: list[str] = []

    async def job(name: str, *, own_turn: bool = True, progress: Recorder | None = None) -> None:
        async with studio.job(
            ALICE_HERE, REQUEST, settings=settings, own_turn=own_turn, progress=progress
        ):
            inside.append(name)
            await hold.wait()

    running = asyncio.create_task(job("running"))
    await until(lambda: inside == ["running"])
    take = asyncio.create_task(job("take", own_turn=False))
    await until(lambda: inside == ["running", "take"])
    progress = Recorder()
    waiting = asyncio.create_task(job("waiting", progress=progress))
    await until(lambda: bool(progress.stages))
    assert progress.stages == [(Stage.QUEUED, 1)]
    assert studio.in_flight(GUILD, ALICE) == 3
    hold.set()
    await asyncio.gather(running, take, waiting)
    assert inside == ["running", "take", "waiting"]


async def test_a_second_cancellation_does_not_lose_the_release(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Shutdown may cancel a job twice; the reservation must still be given back."""
    studio = make_studio(store)
    releasing, proceed = asyncio.Event(), asyncio.Event()
    release = store.release
    held: list[Reservation] = []

    async def slow_release(reservation: Reservation, now: datetime) -> bool:
        releasing.set()
        await proceed.wait()
        return await release(reservation, now)

    monkeypatch.setattr(store, "release", slow_release)

    async def job() -> None:
        async with studio.job(ALICE_HERE, REQUEST, settings=GuildSettings()) as admitted:
            held.append(admitted.reservation)
            await asyncio.Event().wait()

    task = asyncio.create_task(job())
    await until(lambda: bool(held))
    task.cancel()
    await releasing.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    proceed.set()

    async def state() -> str | None:
        entry = await store.ledger_entry(held[0].id)
        return entry.state if entry else None

    async with asyncio.timeout(2):
        while await state() != "released":
            await asyncio.sleep(0.01)
    assert (await store.usage(GUILD, ALICE, "2026-11-26")).pictures == 0
    assert studio.in_flight(GUILD, ALICE) == 0
