"""SHARD_COUNT and SHARD_IDS end to end: the real bot on a fake Discord with two shards, where
each server's events come only on the connection of its shard, (server_id >> 22) % 2."""

from __future__ import annotations

from collections.abc import AsyncIterator

import discord
import pytest
from discord.gateway import DiscordWebSocket

from tests.e2e.conftest import ALICE, BOB, StartBot
from tests.e2e.picture_kit import imagine, is_picture
from tests.fakes.discord_api import FakeDiscord

# Snowflakes on different shards of two: (1 << 22) >> 22 == 1 and (2 << 22) >> 22 == 2.
GUILD_ON_1, CHANNEL_ON_1 = 1 << 22, (1 << 22) + 1
GUILD_ON_0, CHANNEL_ON_0 = 2 << 22, (2 << 22) + 1
SERVERS = ((1, GUILD_ON_1, CHANNEL_ON_1), (0, GUILD_ON_0, CHANNEL_ON_0))
# Discord takes one IDENTIFY per 5 s, and the bot waits 5 s between its shards' (discord.py's
# wait): the fake holds it to 3 s, so that a stall of this machine between an IDENTIFY sent
# and the fake reading it cannot make 5 s look shorter. Not waiting at all is still refused.
IDENTIFY_INTERVAL = 3.0


@pytest.fixture
async def discord_fake() -> AsyncIterator[FakeDiscord]:
    """A fake Discord that asks for two shards, with one server on each (as `start_bot`
    wants it: its fixture of this name is replaced here)."""
    base = discord.http.Route.BASE
    gateway = DiscordWebSocket.DEFAULT_GATEWAY  # the bot points it at the fake
    async with FakeDiscord(shards=2, identify_interval=IDENTIFY_INTERVAL) as fake:
        fake.add_user(ALICE, "alice")
        fake.add_user(BOB, "bob")
        for _, guild_id, channel_id in SERVERS:
            fake.add_guild(guild_id, channel_ids=[channel_id], owner_id=ALICE, members=[BOB])
        yield fake
    discord.http.Route.BASE = base
    DiscordWebSocket.DEFAULT_GATEWAY = gateway
    assert fake.violations == [], "the bot broke a rule of the real Discord"


async def test_two_shards_each_answer_the_servers_of_their_own(
    start_bot: StartBot, discord_fake: FakeDiscord
) -> None:
    bot = await start_bot(SHARD_COUNT="2")

    assert bot.shard_count == 2 and sorted(bot.shards) == [0, 1]
    assert discord_fake.gateway.is_ready([0, 1])
    for shard_id, guild_id, channel_id in SERVERS:
        guild = bot.get_guild(guild_id)
        assert guild is not None and guild.shard_id == shard_id
        interaction = await imagine(
            discord_fake, "a lighthouse", guild_id=guild_id, channel_id=channel_id
        )
        assert is_picture(interaction.original)
        assert discord_fake.gateway.delivered_to("INTERACTION_CREATE", interaction.id) == [shard_id]
    assert discord_fake.gateway.undelivered == []


async def test_a_process_with_one_shard_sees_only_its_servers(
    start_bot: StartBot, discord_fake: FakeDiscord
) -> None:
    bot = await start_bot(SHARD_COUNT="2", SHARD_IDS="1")

    assert sorted(bot.shards) == [1] and [g.id for g in bot.guilds] == [GUILD_ON_1]
    elsewhere = await imagine(
        discord_fake, "a harbour", guild_id=GUILD_ON_0, channel_id=CHANNEL_ON_0, wait=False
    )
    here = await imagine(discord_fake, "a lighthouse", guild_id=GUILD_ON_1, channel_id=CHANNEL_ON_1)

    assert is_picture(here.original)
    assert discord_fake.gateway.delivered_to("INTERACTION_CREATE", here.id) == [1]
    # Shard 0's server is another process's: its interaction reached no connection of this
    # one, so nothing here answered it.
    assert discord_fake.gateway.delivered_to("INTERACTION_CREATE", elsewhere.id) == []
    assert [e["id"] for _, e in discord_fake.gateway.undelivered] == [str(elsewhere.id)]
    assert elsewhere.callbacks == [] and elsewhere.edits == []
