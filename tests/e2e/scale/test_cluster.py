"""Scale-out end to end: a gateway process and two painting workers (real `python -m bot`
processes) on PostgreSQL and Redis, against the fake Discord and the fake OpenAI.

Every request completes, the provider's limit holds across both workers, and a worker
killed mid-picture leaves its job to the other one: one picture, paid once.
"""

from __future__ import annotations

import asyncio
import signal
import socket

import aiohttp

from tests.e2e.admin_kit import admin_says
from tests.e2e.conftest import OTHER_CHANNEL_ID
from tests.e2e.faults.kit import query
from tests.e2e.picture_kit import imagine, is_picture, settled
from tests.e2e.pictures.test_queue import in_line, press_cancel
from tests.e2e.pictures.test_queue_command import ask_queue
from tests.e2e.scale.cluster_kit import LEASE, PEOPLE, Cluster, all_done, worker_holding
from tests.fakes.discord_api import FakeDiscord, FakeInteraction
from tests.fakes.openai_api import FakeOpenAI, Gate


async def one_painting_one_waiting(
    running: Cluster, discord_fake: FakeDiscord, openai_fake: FakeOpenAI
) -> tuple[FakeInteraction, FakeInteraction, Gate]:
    """Two workers, one painting slot between them: the first request paints (until the
    test opens the returned gate), the second waits in the shared line. Returns both
    interactions and the gate."""
    running.env["IMAGE_CONCURRENCY"] = "1"
    painting = openai_fake.hold_images()
    await running.start(workers=2)
    first = await imagine(discord_fake, "the first in line", user_id=PEOPLE[0], wait=False)
    await discord_fake.wait_for(lambda: painting.waiting == 1, 30, what="painting")
    waiting = await imagine(discord_fake, "the second in line", user_id=PEOPLE[1], wait=False)
    await waiting.wait_done(in_line, timeout=30)
    return first, waiting, painting


async def test_twenty_requests_complete_across_two_workers_within_the_providers_limit(
    cluster: tuple[Cluster, str], discord_fake: FakeDiscord, openai_fake: FakeOpenAI
) -> None:
    running, database = cluster
    openai_fake.image_latency = 0.3
    await running.start(workers=2)
    asked = [  # four people, five each: within their 2 painting and 3 waiting
        await imagine(discord_fake, f"a lighthouse, take {n}", user_id=PEOPLE[n % 4], wait=False)
        for n in range(20)
    ]
    shown = await asyncio.gather(*(settled(interaction, timeout=90) for interaction in asked))
    assert all(is_picture(message) for message in shown), [m.get("content") for m in shown]
    await all_done(database, 20)
    assert openai_fake.rate_limited == []  # 0 provider 429s across both workers
    assert openai_fake.count("images") == 20

    def painted() -> list[int]:
        return [worker.output.count("posted pictures") for worker in running.workers]

    await discord_fake.wait_for(lambda: sum(painted()) == 20, 10, what="every worker's log")
    assert min(painted()) > 0, painted()  # both workers painted
    states = await query(database, "SELECT state, count(*) FROM jobs GROUP BY state")
    assert [(row["state"], row["count"]) for row in states] == [("done", 20)]
    held = await query(database, "SELECT count(*) FROM ledger WHERE state = 'reserved'")
    assert held[0]["count"] == 0


async def test_a_worker_killed_mid_picture_leaves_its_job_to_the_other_one(
    cluster: tuple[Cluster, str], discord_fake: FakeDiscord, openai_fake: FakeOpenAI
) -> None:
    running, database = cluster
    gate = openai_fake.hold_images()  # it paints until the worker painting it is killed
    await running.start(workers=2)
    asked = await imagine(discord_fake, "a lighthouse in a storm", wait=False)
    await discord_fake.wait_for(lambda: gate.waiting == 1, 30, what="painting")
    painting = await worker_holding(running, database, 1)
    await painting.stop(signal.SIGKILL)
    gate.open()

    shown = await settled(asked, timeout=90)
    assert is_picture(shown), shown.get("content")
    await all_done(database, 1)
    assert "taking it over" in running.output()
    pictures = await query(database, "SELECT id, message_id FROM pictures")
    assert len(pictures) == 1 and pictures[0]["message_id"] == int(shown["id"])
    [job] = await query(database, "SELECT state, attempts FROM jobs")
    assert (job["state"], job["attempts"]) == ("done", 2)
    ledger = await query(database, "SELECT state, picture_id FROM ledger")
    assert [(e["state"], e["picture_id"]) for e in ledger] == [("settled", pictures[0]["id"])]
    usage = await query(
        database, "SELECT pictures, reserved_micros FROM usage_counters WHERE user_id <> 0"
    )
    assert [(u["pictures"], u["reserved_micros"]) for u in usage] == [(1, 0)]


async def test_a_picture_waiting_in_the_shared_line_is_cancelled_from_the_gateway(
    cluster: tuple[Cluster, str], discord_fake: FakeDiscord, openai_fake: FakeOpenAI
) -> None:
    running, database = cluster
    first, waiting, painting = await one_painting_one_waiting(running, discord_fake, openai_fake)
    assert waiting.original is not None and "position 1" in waiting.original["content"]
    listed = await ask_queue(discord_fake, PEOPLE[1])  # the gateway reads the workers' line
    assert listed.original is not None
    assert "In line — position 1" in listed.original["embeds"][0]["description"]
    cancelled = await press_cancel(discord_fake, waiting, PEOPLE[1])
    await cancelled.wait_done()
    await waiting.wait_done(lambda i: bool(i.followups), timeout=30)
    assert [m["content"] for m in waiting.followups] == [
        "❌ Cancelled — nothing was painted or charged."
    ]
    painting.open()
    assert is_picture(await settled(first, timeout=60))
    await all_done(database, 1)
    assert openai_fake.count("images") == 1  # the cancelled one was never painted
    states = await query(database, "SELECT state FROM jobs ORDER BY id")
    assert [row["state"] for row in states] == ["done", "cancelled"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_gateway_and_worker_report_their_health(
    cluster: tuple[Cluster, str], discord_fake: FakeDiscord, openai_fake: FakeOpenAI
) -> None:
    running, _ = cluster
    ports = {"gateway": free_port(), "worker": free_port()}
    running.gateway_env = {"HEALTH_PORT": str(ports["gateway"])}
    running.worker_env = {"HEALTH_PORT": str(ports["worker"])}
    await running.start(workers=1)
    async with aiohttp.ClientSession() as http:
        for role, port in ports.items():
            async with http.get(f"http://127.0.0.1:{port}/healthz") as answer:
                report = await answer.json()
                assert answer.status == 200, report
            assert report["role"] == role
            assert report["database"] == {"reachable": True}
            assert report["queue"]["reachable"] is True
            assert (report["gateway"] is None) == (role == "worker")


async def test_a_worker_stopped_with_sigterm_hands_its_waiting_job_to_the_other(
    cluster: tuple[Cluster, str], discord_fake: FakeDiscord, openai_fake: FakeOpenAI
) -> None:
    running, database = cluster
    painting, waiting, gate = await one_painting_one_waiting(running, discord_fake, openai_fake)
    holding = await worker_holding(running, database, 2)
    assert holding.process is not None
    holding.process.send_signal(signal.SIGTERM)
    # The waiting job goes to the other worker, which shows it from then on: nothing the
    # stopping worker had pending may show over its picture.
    await holding.wait_for_line("stays queued for the next start")
    gate.open()
    assert await holding.stop(signal.SIGTERM) == 0  # lets its painting finish, if any
    for interaction in (painting, waiting):
        assert is_picture(await settled(interaction, timeout=60))
    await all_done(database, 2)
    assert openai_fake.count("images") == 2  # each painted once


async def test_a_painting_longer_than_a_lease_keeps_its_slot(
    cluster: tuple[Cluster, str], discord_fake: FakeDiscord, openai_fake: FakeOpenAI
) -> None:
    """Holds are renewed while a picture paints: with one slot across the workers, the
    second picture starts only once the first is painted, though painting outlasts a lease
    (2 × QUEUE_HEARTBEAT)."""
    running, database = cluster
    first, waiting, painting = await one_painting_one_waiting(running, discord_fake, openai_fake)
    await asyncio.sleep(LEASE + 2)  # the first paints for longer than a lease
    painting.open()
    for interaction in (first, waiting):
        assert is_picture(await settled(interaction, timeout=60))
    await all_done(database, 2)
    one, two = [r.at for r in openai_fake.requests if r.endpoint == "images"]
    assert two - one >= LEASE + 2  # the second call was sent only after the first one's answer


async def test_the_audit_line_is_posted_by_the_worker_that_settles_the_picture(
    cluster: tuple[Cluster, str], discord_fake: FakeDiscord, openai_fake: FakeOpenAI
) -> None:
    """A worker has no gateway cache of channels: it posts the audit line over REST by the
    channel's id (before, every audit line was dropped with a warning in scale-out)."""
    running, database = cluster
    await running.start(workers=1)
    await admin_says(discord_fake, "audit-channel", user_id=PEOPLE[0], channel=OTHER_CHANNEL_ID)
    shown = await settled(await imagine(discord_fake, "a lighthouse", user_id=PEOPLE[1]))
    assert is_picture(shown)
    await all_done(database, 1)
    await discord_fake.wait_for(
        lambda: len(discord_fake.channel_messages(OTHER_CHANNEL_ID)) == 1, what="the audit line"
    )
    [line] = discord_fake.channel_messages(OTHER_CHANNEL_ID)
    assert f"<@{PEOPLE[1]}>" in line["content"] and line["_pinged"] == set()
    assert line["nonce"] == "a1"  # sent once per job, whoever settles it
