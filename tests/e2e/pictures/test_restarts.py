"""Restarts lose nothing: `python -m bot` stopped with SIGTERM, or killed with SIGKILL
mid-picture, then started again on the same database."""

from __future__ import annotations

import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

from bot.errors import ShuttingDown
from bot.storage.counting import Periods
from bot.storage.database import make_engine
from bot.storage.job_records import JobState
from bot.storage.repository import Store
from tests.e2e.conftest import ALICE, BOB, CHANNEL_ID, GUILD_ID, bot_env
from tests.e2e.picture_kit import is_picture, is_private, is_sentence
from tests.e2e.process import BotProcess
from tests.fakes.discord_api import FakeDiscord, FakeInteraction
from tests.fakes.openai_api import FakeOpenAI


@asynccontextmanager
async def fakes() -> AsyncIterator[tuple[FakeDiscord, FakeOpenAI]]:
    async with FakeOpenAI(image_size_px=64) as openai_fake, FakeDiscord() as discord_fake:
        discord_fake.add_user(ALICE, "alice")
        discord_fake.add_user(BOB, "bob")
        discord_fake.add_guild(GUILD_ID, channel_ids=[CHANNEL_ID], members=[ALICE, BOB])
        yield discord_fake, openai_fake
        assert openai_fake.violations == []
        assert discord_fake.violations == []
        assert discord_fake.rate_limited == []


def process_env(
    tmp_path: Path, discord_fake: FakeDiscord, openai_fake: FakeOpenAI
) -> dict[str, str]:
    """The bot's settings: one picture painted at a time, no previews, the usual grace."""
    env = bot_env(discord_fake, openai_fake, tmp_path)
    return env | {"IMAGE_CONCURRENCY": "1", "PARTIAL_IMAGES": "0", "SHUTDOWN_GRACE": "90"}


@asynccontextmanager
async def store_at(tmp_path: Path) -> AsyncIterator[Store]:
    """The bot's database, read from the test (the bot process is stopped by then)."""
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'picasso.db'}")
    try:
        yield Store(engine)
    finally:
        await engine.dispose()


async def imagine(discord_fake: FakeDiscord, text: str, user_id: int) -> FakeInteraction:
    return await discord_fake.invoke(
        "imagine",
        {"description": text},
        user_id=user_id,
        guild_id=GUILD_ID,
        channel_id=CHANNEL_ID,
    )


def shows(interaction: FakeInteraction, start: str) -> bool:
    return (interaction.original or {}).get("content", "").startswith(start)


async def test_sigterm_finishes_the_painting_keeps_the_waiting_and_exits_0(
    tmp_path: Path,
) -> None:
    async with fakes() as (discord_fake, openai_fake):
        env = process_env(tmp_path, discord_fake, openai_fake)
        gate = openai_fake.hold_images()  # the first paints until the test has stopped the bot
        async with BotProcess(tmp_path, **env) as bot:
            await bot.wait_for_line("logged in as")
            painting = await imagine(discord_fake, "the first in line", ALICE)
            await discord_fake.wait_for(lambda: gate.waiting == 1, what="the first to paint")
            waiting = await imagine(discord_fake, "the second in line", BOB)
            await waiting.wait_done(lambda i: shows(i, "⏳ In line"))
            assert bot.process is not None
            bot.process.send_signal(signal.SIGTERM)
            await bot.wait_for_line("SIGTERM: stopping")
            # While the painting finishes, new work is refused in one sentence.
            late = await imagine(discord_fake, "a late request", ALICE)
            await late.wait_done(lambda i: bool(i.followups))
            assert late.followups[-1]["content"] == ShuttingDown.user_message
            assert is_private(late.followups[-1])
            gate.open()  # the painting finishes within the grace period
            assert await bot.stop(signal.SIGTERM, within=30) == 0
        assert is_picture(painting.original)  # finished and posted within the grace period
        assert shows(waiting, "⏳ The bot is restarting — your picture keeps its place")
        assert openai_fake.count("images") == 1  # the waiting one was not started
        async with store_at(tmp_path) as store:
            (kept,) = await store.unfinished_jobs()
            assert (kept.state, kept.user_id) == (JobState.QUEUED, BOB)

        async with BotProcess(tmp_path, **env) as bot:
            await waiting.wait_done(lambda i: is_picture(i.original), timeout=30)
        assert openai_fake.count("images") == 2
        async with store_at(tmp_path) as store:
            assert await store.unfinished_jobs() == []
            day = Periods.of(datetime.now(UTC)).day
            usage = await store.usage(GUILD_ID, BOB, day)
            assert (usage.pictures, usage.reserved_micros) == (1, 0) and usage.spent_micros > 0


async def test_sigkill_mid_picture_then_a_restart_paints_it_and_counts_it_once(
    tmp_path: Path,
) -> None:
    async with fakes() as (discord_fake, openai_fake):
        env = process_env(tmp_path, discord_fake, openai_fake)
        openai_fake.image_latency = 30.0  # the picture is being painted when the bot dies
        async with BotProcess(tmp_path, **env) as bot:
            await bot.wait_for_line("logged in as")
            asked = await imagine(discord_fake, "a lighthouse", ALICE)
            await discord_fake.wait_for(lambda: openai_fake.count("images") == 1)
            assert await bot.stop(signal.SIGKILL) == -signal.SIGKILL
        day = Periods.of(datetime.now(UTC)).day
        async with store_at(tmp_path) as store:
            (cut_short,) = await store.unfinished_jobs()
            assert cut_short.state is JobState.RUNNING
            held = await store.usage(GUILD_ID, ALICE, day)
            assert (held.pictures, held.reserved_micros > 0) == (1, True)

        openai_fake.image_latency = 0.0
        async with BotProcess(tmp_path, **env) as bot:
            await asked.wait_done(lambda i: is_picture(i.original), timeout=30)
            await bot.wait_for_line("posted picture")
        assert "running it again" in bot.output  # the log says why it may be billed twice
        assert openai_fake.count("images") == 2
        async with store_at(tmp_path) as store:
            assert await store.unfinished_jobs() == []
            usage = await store.usage(GUILD_ID, ALICE, day)
            # Exact: one picture, nothing left reserved, charged once.
            assert (usage.pictures, usage.reserved_micros) == (1, 0) and usage.spent_micros > 0
            history = await store.history(ALICE, GUILD_ID, limit=10)
            assert asked.original is not None
            assert len(history) == 1 and history[0].message_id == int(asked.original["id"])
        assert not any(is_sentence(m) for m in asked.followups)
