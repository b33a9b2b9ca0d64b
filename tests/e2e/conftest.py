"""Shared fixtures: the fake Discord and OpenAI servers, and a real bot started against them."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import discord
import pytest
from discord.gateway import DiscordWebSocket

from bot.app import Clocks, Picasso
from bot.config import load_settings
from bot.studio import Clock, utc_now
from tests.fakes.discord_api import FakeDiscord
from tests.fakes.openai_api import FakeOpenAI

DISCORD_TOKEN = "fake-discord-token.abcdefghijklmnop"
OPENAI_KEY = "sk-test-fake-openai-key-0123456789"
GUILD_ID = 5001
CHANNEL_ID = 5002
OTHER_CHANNEL_ID = 5003
ALICE = 7001
BOB = 7002
FREE_CHAT = '{"gpt-5.4-mini": {"input": 0, "output": 0}}'  # the default CHAT_MODEL, unpriced

StartBot = Callable[..., Awaitable[Picasso]]
# Bots started by `start_bot` and not yet closed: helpers wait for their jobs to end.
RUNNING: list[Picasso] = []


async def jobs_ended(timeout: float = 10) -> None:  # noqa: ASYNC109 - a test deadline
    """Wait until every running bot has finished its jobs (posted, recorded, settled)."""
    for bot in RUNNING:
        assert await bot.jobs.drain(timeout), "the bot's jobs did not end"


@pytest.fixture
async def openai_fake() -> AsyncIterator[FakeOpenAI]:
    """A fake OpenAI-compatible API; pictures are small to keep tests fast."""
    async with FakeOpenAI(api_key=OPENAI_KEY, image_size_px=64) as fake:
        yield fake
    assert fake.violations == [], "the bot sent requests the real OpenAI API would reject"


@pytest.fixture
async def discord_fake() -> AsyncIterator[FakeDiscord]:
    """A fake Discord with one guild, two channels and two members."""
    original_base = discord.http.Route.BASE
    original_gateway = DiscordWebSocket.DEFAULT_GATEWAY  # the bot points it at the fake
    async with FakeDiscord() as fake:
        fake.add_user(ALICE, "alice")
        fake.add_user(BOB, "bob")
        fake.add_guild(
            GUILD_ID,
            channel_ids=[CHANNEL_ID, OTHER_CHANNEL_ID],
            owner_id=ALICE,
            members=[ALICE, BOB],
        )
        yield fake
    discord.http.Route.BASE = original_base
    DiscordWebSocket.DEFAULT_GATEWAY = original_gateway
    assert fake.violations == [], "the bot sent requests the real Discord API would reject"
    pings = [
        (message["id"], message["_pinged"])
        for message in [*fake.messages.values(), *fake.deleted_messages.values()]
        if int(message["author"]["id"]) == fake.bot_user_id and message["_pinged"]
    ]
    assert pings == [], "the bot pinged someone (it never means to)"


def bot_env(discord_fake: FakeDiscord, openai_fake: FakeOpenAI, tmp_path: Path) -> dict[str, str]:
    """The environment a bot under test runs with."""
    return {
        "DISCORD_TOKEN": DISCORD_TOKEN,
        "OPENAI_API_KEY": openai_fake.api_key,
        "OPENAI_BASE_URL": openai_fake.base_url,
        "DISCORD_API_BASE_URL": discord_fake.api_base,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'picasso.db'}",
        "IMAGE_RETRIES": "0",
        "SHUTDOWN_GRACE": "10",
        # Tests set the limits they test; the operator's defaults have tests of their own.
        "DEFAULT_SERVER_LIMITS": "none",
        "BOT_DAILY_BUDGET_USD": "none",
        # Prompt writing is free unless a test prices it: the fake's chat usage follows the
        # length of the prompts' text, and would move every amount a test checks with it.
        "CHAT_PRICES": FREE_CHAT,
    }


@pytest.fixture
async def start_bot(
    discord_fake: FakeDiscord, openai_fake: FakeOpenAI, tmp_path: Path
) -> AsyncIterator[StartBot]:
    """Start a real Picasso bot against the fakes; `await start_bot(VAR="value")`.

    `clock=` injects the bot's dates (an aware-datetime callable) for day-boundary tests;
    `clocks=` every time it reads (its line's seconds, its progress pacing too).
    """
    running: list[tuple[Picasso, asyncio.Task[None]]] = []

    async def start(
        clock: Clock = utc_now, clocks: Clocks | None = None, **overrides: str
    ) -> Picasso:
        settings = load_settings({**bot_env(discord_fake, openai_fake, tmp_path), **overrides})
        bot = Picasso(settings, clocks=clocks or Clocks(dates=clock), guild_ready_timeout=0.05)
        task = asyncio.create_task(bot.start(DISCORD_TOKEN))
        ready = asyncio.create_task(bot.wait_until_ready())
        await asyncio.wait({task, ready}, timeout=15, return_when=asyncio.FIRST_COMPLETED)
        if not ready.done():
            ready.cancel()
            if task.done():
                task.result()  # re-raise why the bot could not start
            raise AssertionError("the bot did not become ready")
        running.append((bot, task))
        RUNNING.append(bot)
        return bot

    yield start
    for bot, task in running:
        if bot in RUNNING:
            RUNNING.remove(bot)
        await bot.close()
        with contextlib.suppress(asyncio.CancelledError, asyncio.TimeoutError):
            await asyncio.wait_for(task, 5)


async def stop_bot(bot: Picasso) -> None:
    """Close a bot started by `start_bot` (its fixture teardown tolerates a second close)."""
    if bot in RUNNING:
        RUNNING.remove(bot)
    await bot.close()
