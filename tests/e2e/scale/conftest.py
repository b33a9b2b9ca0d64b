"""The scale-out tests' fakes (one guild of four people; the provider's limit enforced) and
their cluster on a fresh PostgreSQL database and Redis."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import discord
import pytest

from tests.e2e.conftest import CHANNEL_ID, GUILD_ID, OTHER_CHANNEL_ID, bot_env
from tests.e2e.scale.cluster_kit import BOT_LIMIT, HEARTBEAT, PEOPLE, PROVIDER_LIMIT, Cluster
from tests.fakes.discord_api import FakeDiscord
from tests.fakes.openai_api import FakeOpenAI
from tests.services import postgres_database, redis_database


@pytest.fixture
async def discord_fake() -> AsyncIterator[FakeDiscord]:
    """A fake Discord with one guild of four people."""
    original_base = discord.http.Route.BASE
    async with FakeDiscord() as fake:
        for person in PEOPLE:
            fake.add_user(person, f"person{person}")
        fake.add_guild(
            GUILD_ID,
            channel_ids=[CHANNEL_ID, OTHER_CHANNEL_ID],
            owner_id=PEOPLE[0],
            members=PEOPLE,
        )
        yield fake
    discord.http.Route.BASE = original_base


@pytest.fixture
async def openai_fake() -> AsyncIterator[FakeOpenAI]:
    async with FakeOpenAI(image_size_px=32) as fake:
        fake.image_rate_limit = PROVIDER_LIMIT
        yield fake
    assert fake.violations == []


@pytest.fixture
async def cluster(
    discord_fake: FakeDiscord, openai_fake: FakeOpenAI, tmp_path: Path
) -> AsyncIterator[tuple[Cluster, str]]:
    """A cluster to start (`running.start(workers=…)`), and its database's URL."""
    async with postgres_database() as database, redis_database() as redis:
        env = bot_env(discord_fake, openai_fake, tmp_path) | {
            "DATABASE_URL": database,
            "REDIS_URL": redis,
            "IMAGE_RATE_LIMIT": BOT_LIMIT,
            "IMAGE_CONCURRENCY": "3",
            "PARTIAL_IMAGES": "0",
            "QUEUE_HEARTBEAT": str(HEARTBEAT),
            "QUEUE_SWEEP": "1",
            "SHUTDOWN_GRACE": "90",  # a stopping worker's painting ends when the test says
            "WORKER_SLOTS": "6",  # neither worker can hold all twenty
        }
        running = Cluster(env, tmp_path)
        async with running.stack:
            yield running, database
