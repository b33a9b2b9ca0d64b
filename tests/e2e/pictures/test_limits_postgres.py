"""The whole bot on PostgreSQL: a burst stays within the quota, and a restart keeps it all.

Skips when PostgreSQL does not answer, unless REQUIRE_SERVICES=1 (see tests/services.py).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.e2e.admin_kit import EXACT_PRICES, PICTURE, admin, admin_says, burst, draw
from tests.e2e.conftest import StartBot, stop_bot
from tests.fakes.discord_api import FakeDiscord
from tests.fakes.openai_api import FakeOpenAI
from tests.services import postgres_database


@pytest.fixture
async def database_url() -> AsyncIterator[str]:
    """A fresh PostgreSQL database for one bot (dropped afterwards)."""
    async with postgres_database() as url:
        yield url


async def test_burst_and_restart_on_postgresql(
    database_url: str, start_bot: StartBot, discord_fake: FakeDiscord, openai_fake: FakeOpenAI
) -> None:
    env = {"DATABASE_URL": database_url, "PARTIAL_IMAGES": "0", "IMAGE_PRICES": EXACT_PRICES}
    openai_fake.image_latency = 0.05
    first = await start_bot(**env)
    await admin_says(discord_fake, "limits", user_daily_pictures=5, running_jobs=10, queued_jobs=20)
    outcomes = await burst(discord_fake, 60)
    assert outcomes.count(PICTURE) == 5
    assert openai_fake.count("images") == 5
    assert all(
        o == PICTURE or o.startswith(("You've reached", "You already have")) for o in outcomes
    )
    await stop_bot(first)

    await start_bot(**env)
    assert (await draw(discord_fake)).startswith("You've reached your daily limit of 5 pictures")
    show = await admin(discord_fake, "show")
    assert show.original is not None
    usage = show.original["embeds"][0]["fields"][0]["value"]
    assert usage.startswith("Today: 5 pictures, $0.136 spent")
