"""The stage every scenario plays on: the fake Discord and fake OpenAI on loopback, one guild
with one channel and as many people as needed, and the real bot — in this process
(`Stage`) or as `python -m bot` (see `bench.process`).

People: one Discord user per request unless a scenario says otherwise, so per-person limits
(2 painting, 3 waiting) are not what is measured.
"""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import discord

from bot.app import Picasso
from bot.config import load_settings
from tests.fakes.discord_api import FakeDiscord, FakeInteraction
from tests.fakes.openai_api import FakeOpenAI

GUILD, CHANNEL = 9001, 9002
FIRST_USER = 100_000
TOKEN = "bench-token-0123456789"
IMAGE_PX = 256  # small pictures: the fake's PNG encoding is not what is measured
POLL = 0.05  # how often the bench looks for finished pictures (times come from the fake)


@dataclass(frozen=True)
class Setup:
    """How the bot and the fakes are configured for a scenario."""

    people: int
    concurrency: int = 4
    image_latency: float = 0.5
    provider_limit: tuple[int, float] | None = None  # the fake provider's (images, seconds)
    bot_rate_limit: str | None = None  # IMAGE_RATE_LIMIT
    partial_images: int = 0

    def bot_env(
        self, discord_fake: FakeDiscord, openai_fake: FakeOpenAI, folder: Path
    ) -> dict[str, str]:
        """The bot's settings, as environment variables."""
        env = {
            "DISCORD_TOKEN": TOKEN,
            "OPENAI_API_KEY": openai_fake.api_key,
            "OPENAI_BASE_URL": openai_fake.base_url,
            "DISCORD_API_BASE_URL": discord_fake.api_base,
            "DATABASE_URL": f"sqlite:///{folder / 'bench.db'}",
            "IMAGE_CONCURRENCY": str(self.concurrency),
            "PARTIAL_IMAGES": str(self.partial_images),
            "DEFAULT_SERVER_LIMITS": "none",  # the bursts would pass 10 pictures a person
            # 200 pictures reserved as "high" (quality auto) pass the default $10 a day.
            "BOT_DAILY_BUDGET_USD": "none",
        }
        if self.bot_rate_limit:
            env["IMAGE_RATE_LIMIT"] = self.bot_rate_limit
        return env


def people(count: int) -> list[int]:
    """User ids of `count` people."""
    return [FIRST_USER + n for n in range(count)]


@contextlib.asynccontextmanager
async def fakes(setup: Setup) -> AsyncIterator[tuple[FakeDiscord, FakeOpenAI]]:
    """Both fakes running, the world populated; yields (discord, openai)."""
    original_base = discord.http.Route.BASE
    try:
        async with (
            FakeDiscord(validate_spec=False) as discord_fake,
            FakeOpenAI(image_size_px=IMAGE_PX) as openai_fake,
        ):
            everyone = people(setup.people)
            for person in everyone:
                discord_fake.add_user(person, f"person{person}")
            discord_fake.add_guild(GUILD, channel_ids=[CHANNEL], members=everyone)
            openai_fake.image_latency = setup.image_latency
            openai_fake.image_rate_limit = setup.provider_limit
            yield discord_fake, openai_fake
    finally:
        discord.http.Route.BASE = original_base


async def imagine(discord_fake: FakeDiscord, person: int, n: int) -> FakeInteraction:
    """`person` runs /imagine in the bench channel."""
    return await discord_fake.invoke(
        "imagine",
        {"description": f"bench picture {n}"},
        user_id=person,
        guild_id=GUILD,
        channel_id=CHANNEL,
    )


async def burst(discord_fake: FakeDiscord, requesters: Iterable[int]) -> list[FakeInteraction]:
    """Every requester runs /imagine at once (one each, in the order given)."""
    return list(
        await asyncio.gather(*(imagine(discord_fake, p, n) for n, p in enumerate(requesters)))
    )


def has_picture(interaction: FakeInteraction) -> bool:
    """The loading message became the finished picture."""
    original = interaction.original
    return bool(original and original.get("embeds"))


def ack_at(interaction: FakeInteraction) -> float | None:
    """When the first response (the deferral) reached the fake."""
    return interaction.callbacks[0]["at"] if interaction.callbacks else None


def picture_at(interaction: FakeInteraction) -> float | None:
    """When the edit that showed the picture reached the fake."""
    return next((e["_at"] for e in interaction.edits if e.get("embeds")), None)


def ack_latencies(interactions: Iterable[FakeInteraction]) -> list[float]:
    """Seconds from INTERACTION_CREATE to the deferral, per answered interaction."""
    acks = ((ack_at(i), i.created_at) for i in interactions)
    return [at - created for at, created in acks if at is not None]


def picture_latencies(interactions: Iterable[FakeInteraction]) -> list[float]:
    """Seconds from INTERACTION_CREATE to the picture, per finished interaction."""
    done = ((picture_at(i), i.created_at) for i in interactions)
    return [at - created for at, created in done if at is not None]


async def wait_pictures(interactions: list[FakeInteraction], timeout: float) -> None:  # noqa: ASYNC109
    """Until every interaction shows its picture; raises TimeoutError naming how many did not."""
    deadline = time.monotonic() + timeout
    left = [i for i in interactions if not has_picture(i)]
    while left:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{len(left)} of {len(interactions)} pictures not posted")
        await asyncio.sleep(POLL)
        left = [i for i in left if not has_picture(i)]


def calls_since(discord_fake: FakeDiscord, since: float) -> Counter[str]:
    """REST calls the bot made since `since` (monotonic), per kind, 429s included."""
    from tests.fakes.discord_ratelimits import route_kind

    return Counter(route_kind(r.method, r.path) for r in discord_fake.requests if r.at >= since)


def discord_429s_since(discord_fake: FakeDiscord, since: float) -> int:
    """Rate-limit refusals Discord served since `since`."""
    return sum(1 for r in discord_fake.rate_limited if r.at >= since)


class Stage:
    """Fakes plus the real bot in this process, connected and ready."""

    def __init__(self, setup: Setup) -> None:
        self.setup = setup
        self.people = people(setup.people)
        self._stack = contextlib.AsyncExitStack()
        self._runner: asyncio.Task[None] | None = None
        self.bot: Picasso | None = None

    async def __aenter__(self) -> Stage:
        self.discord, self.openai = await self._stack.enter_async_context(fakes(self.setup))
        folder = Path(self._stack.enter_context(tempfile.TemporaryDirectory()))
        settings = load_settings(self.setup.bot_env(self.discord, self.openai, folder))
        self.bot = Picasso(settings, guild_ready_timeout=0.05)
        self._runner = asyncio.create_task(self.bot.start(TOKEN))
        ready = asyncio.create_task(self.bot.wait_until_ready())
        await asyncio.wait({self._runner, ready}, timeout=30, return_when="FIRST_COMPLETED")
        if not ready.done():
            ready.cancel()
            if self._runner.done():
                self._runner.result()  # why the bot could not start
            raise RuntimeError("the bot did not become ready")
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if self.bot is not None:
                await self.bot.close()
            if self._runner is not None:
                self._runner.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await self._runner
        finally:
            await self._stack.aclose()

    async def line_waiting(self) -> int:
        """Jobs waiting for a painting turn in the bot's line now."""
        assert self.bot is not None
        return await self.bot.jobs.engine.line.depth()

    async def drain(self, timeout: float = 60) -> None:  # noqa: ASYNC109 - a deadline
        """Until every job has ended (posted, recorded, settled)."""
        assert self.bot is not None
        if not await self.bot.jobs.drain(timeout):
            raise TimeoutError("the bot's jobs did not end")
