"""The cluster heals itself, through the real processes (a gateway and painting workers on
PostgreSQL and Redis, against the fakes), under the faults real deployments meet:

- the provider answers 429 (another program shares the key): the requests wait it out;
- Redis loses its data while the worker holding the jobs dies, and a new worker starts;
- PostgreSQL goes away for 8 seconds mid-burst;
- a worker freezes (SIGSTOP) while it holds the line's lock.

Each test ends by reading the database: no job left live, no money left reserved.
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import AsyncIterator

import asyncpg
import pytest
from redis.asyncio import Redis

from bot.storage.turns import LINE_LOCK
from tests.e2e.faults.kit import nothing_left_behind, plain, query
from tests.e2e.picture_kit import imagine, is_picture, settled
from tests.e2e.pictures.test_queue import in_line
from tests.e2e.scale.cluster_kit import (
    PEOPLE,
    Cluster,
    all_done,
    pid_of,
    signal_to,
    states,
    worker_holding,
)
from tests.fakes.discord_api import FakeDiscord, FakeInteraction
from tests.fakes.openai_api import FakeOpenAI
from tests.faults.proxy import FaultProxy

pytestmark = pytest.mark.timeout(240)

OUTAGE = 8.0  # seconds without the database, as a failover or a restart takes
WAITING_FOR_THE_SERVICE = "⏳ Waiting for the image service"


async def burst(discord_fake: FakeDiscord, count: int, what: str) -> list[FakeInteraction]:
    """`count` requests at once from the four people, in turn."""
    return [
        await imagine(discord_fake, f"{what}, take {n}", user_id=PEOPLE[n % 4], wait=False)
        for n in range(count)
    ]


async def all_pictures(asked: list[FakeInteraction], within: float = 120) -> None:
    shown = await asyncio.gather(*(settled(interaction, timeout=within) for interaction in asked))
    assert all(is_picture(message) for message in shown), [m.get("content") for m in shown]


def ever_said(interaction: FakeInteraction, text: str) -> bool:
    """Whether any version of the interaction's message said `text`."""
    return any(text in str(edit.get("content") or "") for edit in interaction.edits) or text in str(
        (interaction.original or {}).get("content") or ""
    )


async def test_a_provider_429_is_waited_out_and_every_request_is_painted(
    cluster: tuple[Cluster, str], discord_fake: FakeDiscord, openai_fake: FakeOpenAI
) -> None:
    """Measured before: 1 picture of 4, three stuck at "Painting…" with their money held."""
    running, database = cluster
    openai_fake.fail_next(
        "images",
        status=429,
        type="requests",
        code="rate_limit_exceeded",
        message="Rate limit reached for images per minute.",
        # Long enough that the wait shows: progress edits are at most one per 2 s.
        headers={"retry-after": "4"},
        count=3,
    )
    await running.start(workers=1)
    asked = await burst(discord_fake, 4, "a harbour at dawn")
    await all_pictures(asked)
    await all_done(database, 4)
    assert openai_fake.count("images") == 4 + 3  # each refused call was made again
    assert any(ever_said(interaction, WAITING_FOR_THE_SERVICE) for interaction in asked)
    assert states(await query(database, "SELECT state, count(*) FROM jobs GROUP BY state")) == {
        "done": 4
    }
    await nothing_left_behind(database)


async def test_redis_emptied_while_its_worker_dies_heals_without_a_restart(
    cluster: tuple[Cluster, str], discord_fake: FakeDiscord, openai_fake: FakeOpenAI
) -> None:
    """Measured before: 0 pictures of 5, stuck for over 150 s, 5 reservations held; only a
    gateway restart put the jobs back on the queue."""
    running, database = cluster
    painting = openai_fake.hold_images()
    await running.start(workers=1)
    asked = await burst(discord_fake, 5, "a fox in the snow")
    await discord_fake.wait_for(lambda: painting.waiting == 3, 30, what="three painting")
    [dying] = running.workers
    await dying.stop(signal.SIGKILL)
    redis = Redis.from_url(running.env["REDIS_URL"])
    try:
        await redis.flushdb()  # the queue, its deliveries and the shared limits: gone
    finally:
        await redis.aclose()
    painting.open()
    await running.add_worker()  # a new worker; the gateway is never restarted
    await all_pictures(asked)
    await all_done(database, 5)
    assert "unfinished jobs nobody ran back on the queue" in running.output()  # the sweep
    await nothing_left_behind(database)


@pytest.fixture
async def through_proxy(cluster: tuple[Cluster, str]) -> AsyncIterator[FaultProxy]:
    """The cluster's processes reach PostgreSQL through a proxy the test can cut."""
    running, _ = cluster
    async with FaultProxy("127.0.0.1", 5432) as proxy:
        running.env["DATABASE_URL"] = proxy.url_for(running.env["DATABASE_URL"])
        yield proxy


async def test_an_eight_second_database_outage_in_the_cluster_loses_nothing(
    cluster: tuple[Cluster, str],
    through_proxy: FaultProxy,
    discord_fake: FakeDiscord,
    openai_fake: FakeOpenAI,
) -> None:
    """Measured before (one process): 0 pictures of 8, 3 apologies, 5 never ending."""
    running, database = cluster
    painting = openai_fake.hold_images()
    await running.start(workers=2)
    asked = await burst(discord_fake, 8, "a lighthouse")
    await discord_fake.wait_for(lambda: painting.waiting == 3, 30, what="three painting")
    await discord_fake.wait_for(
        lambda: sum(in_line(interaction) for interaction in asked) == 5, 30, what="five waiting"
    )
    through_proxy.cut()
    try:
        painting.open()  # painted while the database is away: kept, posted once it answers
        await asyncio.sleep(OUTAGE)
    finally:
        through_proxy.restore()
    await all_pictures(asked)
    await all_done(database, 8, within=60)
    assert openai_fake.count("images") == 8  # none painted twice, none thrown away
    await nothing_left_behind(database)


async def freeze_holding_the_lock(database: str, worker: int, within: float = 60) -> None:
    """SIGSTOP `worker` at a moment it holds the shared line's lock (its claimer takes it
    every time it asks for turns for the jobs it holds waiting), as a frozen machine would."""
    high, low = LINE_LOCK >> 32, LINE_LOCK & 0xFFFFFFFF
    holds = (
        "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
        "WHERE l.locktype = 'advisory' AND l.granted AND l.classid = $1 AND l.objid = $2 "
        "AND a.application_name = $3"
    )
    name = f"picasso worker {worker}"
    watcher = await asyncpg.connect(plain(database), timeout=10)
    frozen = False
    try:
        async with asyncio.timeout(within):
            while not frozen:
                if await watcher.fetchval(holds, high, low, name):
                    os.kill(worker, signal.SIGSTOP)
                    frozen = bool(await watcher.fetchval(holds, high, low, name))
                    if not frozen:  # it let go in between: try again
                        os.kill(worker, signal.SIGCONT)
                await asyncio.sleep(0)
    finally:
        if not frozen:
            os.kill(worker, signal.SIGCONT)
        await watcher.close()


async def test_a_worker_frozen_holding_the_lines_lock_stalls_no_one(
    cluster: tuple[Cluster, str], discord_fake: FakeDiscord, openai_fake: FakeOpenAI
) -> None:
    """The lock's holder is cut off by PostgreSQL (idle in its transaction for 10 s); the
    other worker, whose waits for the lock time out after 5 s and are asked again, paints
    on; the frozen worker's jobs go to it once their leases run out."""
    running, database = cluster
    running.env["IMAGE_CONCURRENCY"] = "1"
    painting = openai_fake.hold_images()
    await running.start(workers=2)
    asked = await burst(discord_fake, 6, "a mountain lake")
    await discord_fake.wait_for(lambda: painting.waiting == 1, 30, what="one painting")
    await discord_fake.wait_for(
        lambda: sum(in_line(interaction) for interaction in asked) == 5, 30, what="five waiting"
    )
    # The worker to freeze holds jobs waiting for their turn: its claimer asks for them.
    [row] = await query(
        database, "SELECT min(id) AS id FROM jobs WHERE state = 'queued' AND holder IS NOT NULL"
    )
    frozen = await worker_holding(running, database, row["id"])
    await freeze_holding_the_lock(database, pid_of(frozen))
    try:
        painting.open()
        # While it stays frozen, the cluster goes on: pictures are posted by the other.
        await all_done(database, 2, within=90)
    finally:
        signal_to(frozen, signal.SIGCONT)
    await all_pictures(asked)
    await all_done(database, 6, within=60)
    assert openai_fake.count("images") >= 6
    await nothing_left_behind(database)
