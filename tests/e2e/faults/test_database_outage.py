"""PostgreSQL goes away for 8 seconds in the middle of a burst, in one process: requests
already admitted wait for it, pictures already painted are kept and posted once it answers,
each paid for once; a request arriving meanwhile gets one sentence and reserves nothing;
/healthz says 503 while it lasts; the process lives on. The test ends by reading the
database."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import aiohttp
import pytest

from tests.e2e.conftest import ALICE, BOB, StartBot
from tests.e2e.faults.kit import nothing_left_behind, query
from tests.e2e.picture_kit import imagine, is_final, is_picture, settled
from tests.e2e.pictures.test_queue import in_line
from tests.fakes.discord_api import FakeDiscord
from tests.fakes.openai_api import FakeOpenAI
from tests.faults.proxy import FaultProxy
from tests.services import postgres_database

pytestmark = pytest.mark.timeout(180)

OUTAGE = 8.0  # seconds without the database, as a failover or a restart takes
STORAGE_AWAY = "Picasso can't reach its storage right now — please try again in a minute."


@pytest.fixture
async def database() -> AsyncIterator[tuple[str, FaultProxy]]:
    """A fresh PostgreSQL database, and a proxy in front of it the test can cut."""
    async with postgres_database() as url, FaultProxy("127.0.0.1", 5432) as proxy:
        yield url, proxy


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def health(port: int) -> int:
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"http://127.0.0.1:{port}/healthz", timeout=aiohttp.ClientTimeout(10)) as answer,
    ):
        return answer.status


async def test_an_eight_second_outage_mid_burst_loses_nothing(
    start_bot: StartBot,
    discord_fake: FakeDiscord,
    openai_fake: FakeOpenAI,
    database: tuple[str, FaultProxy],
) -> None:
    url, proxy = database
    port = free_port()
    await start_bot(DATABASE_URL=proxy.url_for(url), IMAGE_CONCURRENCY="4", HEALTH_PORT=str(port))
    painting = openai_fake.hold_images()
    asked = [
        await imagine(
            discord_fake, f"a lighthouse, take {n}", user_id=(ALICE, BOB)[n % 2], wait=False
        )
        for n in range(8)
    ]
    await discord_fake.wait_for(lambda: painting.waiting == 4, 30, what="four painting")
    await discord_fake.wait_for(  # the other four admitted, waiting in line
        lambda: sum(in_line(interaction) for interaction in asked) == 4, 30, what="four waiting"
    )

    proxy.cut()
    try:
        painting.open()  # the four are painted while the database is away
        assert await health(port) == 503
        during = await imagine(
            discord_fake, "a request while storage is away", user_id=ALICE, wait=False
        )
        await during.wait_done(lambda i: is_final(i.shown), timeout=30)
        assert during.shown is not None and STORAGE_AWAY in str(during.shown.get("content"))
        await asyncio.sleep(OUTAGE)
    finally:
        proxy.restore()

    shown = await asyncio.gather(*(settled(interaction, timeout=120) for interaction in asked))
    assert all(is_picture(message) for message in shown), [m.get("content") for m in shown]
    assert await health(port) == 200
    assert openai_fake.count("images") == 8  # each painted once: none thrown away
    pictures = await query(url, "SELECT count(*) FROM pictures WHERE message_id IS NOT NULL")
    assert pictures[0]["count"] == 8
    states = await query(url, "SELECT state, count(*) FROM jobs GROUP BY state")
    assert {row["state"]: row["count"] for row in states} == {"done": 8}  # none for the 9th
    ledger = await query(url, "SELECT state, count(*) FROM ledger GROUP BY state")
    assert {row["state"]: row["count"] for row in ledger} == {"settled": 8}
    await nothing_left_behind(url)
