"""Two gateway processes, one shard each (`SHARD_COUNT=2`, `SHARD_IDS=0` and `1`), started
together, and one painting worker: the gateways take turns to IDENTIFY, each server's events
reach only the gateway of its shard, and both end in a picture painted by the worker."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import discord
import pytest
from discord.gateway import DiscordWebSocket

from tests.e2e.conftest import ALICE, bot_env
from tests.e2e.picture_kit import imagine, is_picture, settled
from tests.e2e.process import BotProcess
from tests.e2e.scale.cluster_kit import READY, all_done
from tests.fakes.discord_api import FakeDiscord
from tests.fakes.openai_api import FakeOpenAI
from tests.services import postgres_database, redis_database

# Snowflakes on different shards of two: (id >> 22) % 2.
SERVERS = {0: (2 << 22, (2 << 22) + 1), 1: (1 << 22, (1 << 22) + 1)}
# Discord takes one IDENTIFY per 5 s; the gateways take turns 5.5 s apart through Redis. The
# fake holds them to 3 s, so that one process slower to connect and send its IDENTIFY than
# the other (a loaded machine) cannot make 5.5 s look shorter. Not taking turns (both at
# once) is still refused.
IDENTIFY_INTERVAL = 3.0


@pytest.fixture
async def discord_fake() -> AsyncIterator[FakeDiscord]:
    base, gateway = discord.http.Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY
    async with FakeDiscord(shards=2, identify_interval=IDENTIFY_INTERVAL) as fake:
        fake.add_user(ALICE, "alice")
        for guild_id, channel_id in SERVERS.values():
            fake.add_guild(guild_id, channel_ids=[channel_id], owner_id=ALICE, members=[ALICE])
        yield fake
    discord.http.Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY = base, gateway
    assert fake.violations == [], "a process broke a rule of the real Discord"


async def test_each_gateway_process_answers_the_servers_of_its_shard(
    discord_fake: FakeDiscord, openai_fake: FakeOpenAI, tmp_path: Path
) -> None:
    async with postgres_database() as database, redis_database() as redis:
        env = bot_env(discord_fake, openai_fake, tmp_path) | {
            "DATABASE_URL": database,
            "REDIS_URL": redis,
            "PARTIAL_IMAGES": "0",
            "SHARD_COUNT": "2",
        }
        async with (
            BotProcess(tmp_path, **env, ROLE="gateway", SHARD_IDS="0") as first,
            BotProcess(tmp_path, **env, ROLE="gateway", SHARD_IDS="1") as second,
            BotProcess(tmp_path, **env, ROLE="worker") as worker,
        ):
            # Started together: they take turns to IDENTIFY (through Redis), or the fake
            # would answer op 9 and record a violation.
            gateways = {0: first, 1: second}
            for gateway in gateways.values():
                await gateway.wait_for_line("logged in as", within=40)
            await worker.wait_for_line(READY)
            for shard, (guild_id, channel_id) in SERVERS.items():
                asked = await imagine(
                    discord_fake,
                    "a lighthouse",
                    guild_id=guild_id,
                    channel_id=channel_id,
                    wait=False,
                )
                assert is_picture(await settled(asked, timeout=60))
                delivered = discord_fake.gateway.delivered_to("INTERACTION_CREATE", asked.id)
                assert delivered == [shard]
            await all_done(database.replace("postgresql+asyncpg://", "postgresql://"), 2)
        submitted = [gateways[s].output.count("submitted by user") for s in (0, 1)]
        assert submitted == [1, 1]  # each gateway admitted its own server's request
        assert worker.output.count("posted pictures") == 2
