"""bot/jobs/shared_line.py: the provider's rate limit and its pauses, shared by workers in Redis
(turns themselves are tested on both databases in tests/storage/test_turns.py)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from redis.asyncio import Redis

from bot.jobs.shared_line import SHARED_MARGIN, SharedLine, SharedRateLimit, holder_of
from tests.services import redis_database


def line(redis: Any, rate: SharedRateLimit | None = None) -> SharedLine:
    return SharedLine(
        None,  # type: ignore[arg-type]  # pacing never reads the database
        redis,
        process="test",
        concurrency=1,
        lease=timedelta(seconds=4),
        rate=rate,
        now=lambda: datetime.now(UTC),
    )


async def test_every_worker_counts_on_one_rate_limit() -> None:
    async with redis_database() as url:
        one, two = SharedRateLimit("3 per 2 seconds", url), SharedRateLimit("3 per 2 seconds", url)
        assert await one.acquire(2) == 0.0
        assert await two.acquire() == 0.0
        wait = await one.acquire()  # the window is full for both
        assert 0 < wait <= 2 + SHARED_MARGIN


async def written() -> None:
    """Until the pauses heard so far are written to Redis (each by a task of its own)."""
    await asyncio.gather(*(t for t in asyncio.all_tasks() if t.get_name() == "line-pause"))


async def test_a_pause_heard_by_one_worker_holds_every_worker() -> None:
    async with redis_database() as url:
        redis = Redis.from_url(url)
        try:
            hearing, other = line(redis), line(redis)
            hearing.pause(60)  # longer than this test could take, however slow the machine
            await written()
            with pytest.raises(TimeoutError):
                async with asyncio.timeout(0.5):
                    await other.pace()
            hearing.pause(1)  # a shorter pause never shortens a longer one
            await written()
            with pytest.raises(TimeoutError):
                async with asyncio.timeout(1.5):
                    await other.pace()
        finally:
            await redis.aclose()


def test_holders_name_their_process_and_job_within_forty_characters() -> None:
    assert holder_of("host-12-abc", 7) == "host-12-abc:7"
    assert len(holder_of("h" * 60, 2**63 - 1)) == 40


def test_a_job_is_shown_only_while_its_hold_is_sure() -> None:
    """A hold is sure for a lease from its last renewal; a process frozen longer comes back
    to jobs another may have taken over, and shows nothing more of them; nor of a job it
    let go."""
    clock = [100.0]
    shared = SharedLine(
        None,  # type: ignore[arg-type]  # no database read here
        None,
        process="test",
        concurrency=1,
        lease=timedelta(seconds=8),
        rate=None,
        now=lambda: datetime.now(UTC),
        clock=lambda: clock[0],
    )
    assert shared.holds(1)  # never held here: not ours to refuse
    shared.keep(1)
    shared.keep(2)
    clock[0] += 7.9
    assert shared.holds(1) and shared.holds(2)
    clock[0] += 0.2  # past the lease with no renewal
    assert not shared.holds(1)
    shared.let_go(2)
    assert not shared.holds(2)
