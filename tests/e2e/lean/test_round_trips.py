"""What one picture costs the database, counted on the wire (PostgreSQL, through a counting
proxy) and in SQLAlchemy's events (SQLite): every statement, BEGIN and COMMIT, and every
statement prepared. A count, not a timing: it holds on any machine."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy.engine import make_url

from tests.e2e.conftest import ALICE, BOB, StartBot, jobs_ended
from tests.e2e.picture_kit import imagine, is_picture, settled
from tests.fakes.discord_api import FakeDiscord
from tests.fakes.openai_api import FakeOpenAI
from tests.faults.pg_wire import PgWire
from tests.faults.proxy import FaultProxy
from tests.services import POSTGRES_URL, postgres_database

PICTURES = 20


@pytest.fixture
async def counted_database() -> AsyncIterator[tuple[str, PgWire]]:
    """A fresh PostgreSQL database reached through a proxy that counts the wire."""
    wire = PgWire()
    async with postgres_database() as url:
        target = make_url(POSTGRES_URL)
        async with FaultProxy(
            target.host or "127.0.0.1", target.port or 5432, watch=wire.connection
        ) as proxy:
            yield proxy.url_for(url), wire


async def test_round_trips_per_picture_in_one_process(
    start_bot: StartBot,
    discord_fake: FakeDiscord,
    openai_fake: FakeOpenAI,
    counted_database: tuple[str, PgWire],
) -> None:
    url, wire = counted_database
    await start_bot(DATABASE_URL=url, IMAGE_CONCURRENCY="4", PARTIAL_IMAGES="0", QUEUE_SWEEP="600")
    warm = await imagine(discord_fake, "a first picture, to warm the caches", user_id=ALICE)
    assert is_picture(await settled(warm))
    before = wire.snapshot()
    asked = [
        await imagine(
            discord_fake, f"a lighthouse, take {n}", user_id=(ALICE, BOB)[n % 2], wait=False
        )
        for n in range(PICTURES)
    ]
    shown = await asyncio.gather(*(settled(interaction, timeout=120) for interaction in asked))
    assert all(is_picture(message) for message in shown)
    await jobs_ended()
    counted = wire.snapshot() - before
    per_picture = sum(counted[kind] for kind in "QHS") / PICTURES
    prepared = counted["P"] / PICTURES
    print(f"round trips per picture: {per_picture:.1f}; statements prepared: {prepared:.1f}")
    print(dict(counted))
