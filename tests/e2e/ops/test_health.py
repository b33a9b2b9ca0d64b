"""HEALTH_PORT end to end: /healthz and /metrics served by the real bot, through the fakes."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.app import Picasso
from bot.config import load_settings
from bot.jobs.observer import UNOBSERVED
from bot.ops.health import ServeFailed
from tests.e2e.conftest import DISCORD_TOKEN, GUILD_ID, StartBot, bot_env
from tests.e2e.picture_kit import imagine, is_picture, is_sentence
from tests.fakes.discord_api import FakeDiscord
from tests.fakes.openai_api import FakeOpenAI

ORIGINAL = r"/webhooks/\d+/[^/]+/messages/@original"


def free_port() -> int:
    """A port nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def get(port: int, path: str) -> tuple[int, str]:
    """GET http://127.0.0.1:`port``path`: (status, body)."""
    async with aiohttp.ClientSession() as session:
        async with session.get(f"http://127.0.0.1:{port}{path}") as response:
            return response.status, await response.text()


async def health(port: int) -> tuple[int, dict[str, Any]]:
    status, body = await get(port, "/healthz")
    return status, json.loads(body)


async def first_answer(port: int) -> tuple[int, dict[str, Any]]:
    """/healthz as soon as it listens (it starts right after the login)."""
    while True:
        with contextlib.suppress(aiohttp.ClientConnectionError):
            return await health(port)
        await asyncio.sleep(0.02)


async def metric(port: int, name: str, **labels: str) -> float | None:
    """One sample of a /metrics scrape (None: not there)."""
    status, text = await get(port, "/metrics")
    assert status == 200
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return float(sample.value)
    return None


async def test_healthz_is_503_until_the_gateway_is_ready_then_200(
    discord_fake: FakeDiscord, openai_fake: FakeOpenAI, tmp_path: Path
) -> None:
    port = free_port()
    env = {**bot_env(discord_fake, openai_fake, tmp_path), "HEALTH_PORT": str(port)}
    # Hold the gateway back: Discord answers GET /gateway/bot once the test had its answer.
    gateway = discord_fake.hold("GET", r"^/gateway/bot$")
    bot = Picasso(load_settings(env), guild_ready_timeout=0.05)
    running = asyncio.create_task(bot.start(DISCORD_TOKEN))
    try:
        status, body = await first_answer(port)
        assert status == 503
        assert body == {
            "status": "unavailable",
            "role": "all",
            "gateway": {"connected": False, "shards": []},
            "database": {"reachable": True},
            "queue": None,
        }
        gateway.set()
        await asyncio.wait_for(bot.wait_until_ready(), 10)
        status, body = await health(port)
        assert status == 200 and body["status"] == "ok"
        assert body["gateway"]["connected"] is True
        [shard] = body["gateway"]["shards"]
        assert shard["id"] == 0 and shard["connected"] is True
        assert shard["latency_ms"] is None or shard["latency_ms"] >= 0
    finally:
        gateway.set()
        await bot.close()
        with contextlib.suppress(asyncio.CancelledError, asyncio.TimeoutError):
            await asyncio.wait_for(running, 5)
    with pytest.raises(aiohttp.ClientConnectionError):  # closed with the bot
        await get(port, "/healthz")


async def test_healthz_is_503_while_the_database_is_unreachable(
    start_bot: StartBot, tmp_path: Path
) -> None:
    port = free_port()
    bot = await start_bot(HEALTH_PORT=str(port))
    assert (await health(port))[0] == 200
    database = tmp_path / "picasso.db"
    moved = database.rename(tmp_path / "moved-away.db")
    database.mkdir()  # where the file was, SQLite now finds a folder it can't open
    await bot.studio.store._engine.dispose()  # no pooled connection keeps the old file open
    try:
        status, body = await health(port)
        assert status == 503 and body["status"] == "unavailable"
        assert body["database"] == {"reachable": False}
        assert body["gateway"]["connected"] is True
        assert await metric(port, "picasso_jobs", state="done") is None  # not stale: left out
    finally:
        database.rmdir()
        moved.rename(database)
    assert (await health(port))[0] == 200


async def test_metrics_count_a_painted_picture_and_its_spend(
    start_bot: StartBot, discord_fake: FakeDiscord, openai_fake: FakeOpenAI
) -> None:
    port = free_port()
    await start_bot(HEALTH_PORT=str(port))
    assert await metric(port, "picasso_jobs", state="done") == 0
    interaction = await imagine(discord_fake, "a beach sunset")
    assert is_picture(interaction.original)

    assert await metric(port, "picasso_paint_seconds_count") == 1
    assert await metric(port, "picasso_job_seconds_count") == 1
    assert await metric(port, "picasso_jobs", state="done") == 1
    assert await metric(port, "picasso_jobs", state="queued") == 0
    assert await metric(port, "picasso_queue_depth") == 0
    spent = await metric(port, "picasso_spend_usd_total", server=str(GUILD_ID))
    assert spent is not None and 0 < spent < 1
    assert await metric(port, "picasso_discord_429_total", scope="user") is None


async def test_metrics_show_the_process_its_memory_cpu_and_collections(
    start_bot: StartBot,
) -> None:
    port = free_port()
    await start_bot(HEALTH_PORT=str(port))
    resident = await metric(port, "process_resident_memory_bytes")
    assert resident is not None and resident > 10 * 1024 * 1024  # a running bot: tens of MB
    cpu = await metric(port, "process_cpu_seconds_total")
    assert cpu is not None and cpu > 0
    fds = await metric(port, "process_open_fds")
    assert fds is not None and fds >= 3
    collected = await metric(port, "python_gc_objects_collected_total", generation="0")
    assert collected is not None


async def test_metrics_count_provider_errors_by_kind(
    start_bot: StartBot, discord_fake: FakeDiscord, openai_fake: FakeOpenAI
) -> None:
    port = free_port()
    await start_bot(HEALTH_PORT=str(port))
    openai_fake.fail_next("images", status=504)  # a gateway timeout: it may have been made
    interaction = await imagine(discord_fake, "an unlucky picture")
    assert is_sentence(interaction.shown)

    errors = await metric(
        port, "picasso_provider_errors_total", call="image", kind="ProviderUnavailable"
    )
    assert errors == 1
    assert await metric(port, "picasso_jobs", state="failed") == 1
    assert await metric(port, "picasso_paint_seconds_count") == 0
    assert await metric(port, "picasso_spend_usd_total", server=str(GUILD_ID)) is None

    openai_fake.fail_next("images", status=503)  # proves nothing was made: tried again
    assert is_picture((await imagine(discord_fake, "a luckier picture")).shown)
    errors = await metric(
        port, "picasso_provider_errors_total", call="image", kind="ProviderUnavailable"
    )
    assert errors == 2
    assert await metric(port, "picasso_jobs", state="done") == 1


async def test_metrics_count_discords_429s(
    start_bot: StartBot, discord_fake: FakeDiscord, openai_fake: FakeOpenAI
) -> None:
    port = free_port()
    await start_bot(HEALTH_PORT=str(port), PARTIAL_IMAGES="0")
    discord_fake.fail_next(
        "PATCH", ORIGINAL, status=429, code=0, message="You are being rate limited.", count=2
    )
    interaction = await imagine(discord_fake, "a patient picture")
    assert is_picture(interaction.original)  # discord.py waited the 429s out
    assert await metric(port, "picasso_discord_429_total", scope="user") == 2


async def test_a_taken_port_stops_the_start_with_one_line(
    discord_fake: FakeDiscord, openai_fake: FakeOpenAI, tmp_path: Path
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {**bot_env(discord_fake, openai_fake, tmp_path), "HEALTH_PORT": str(port)}
        bot = Picasso(load_settings(env))
        try:
            with pytest.raises(ServeFailed) as failed:
                await bot.start(DISCORD_TOKEN)
        finally:
            await bot.close()
    assert str(failed.value).startswith(f"HEALTH_PORT: cannot listen on 127.0.0.1:{port} (")
    assert not discord_fake.gateway.connected  # it never went on to connect


async def test_nothing_is_served_or_counted_without_health_port(start_bot: StartBot) -> None:
    bot = await start_bot()
    assert bot.metrics is None and bot.jobs.runner.observer is UNOBSERVED
