"""The fake gateway shards as Discord does: a guild's events on shard (guild_id >> 22) % count,
DMs on shard 0, a session, sequence and RESUME per shard, and IDENTIFYs refused as Discord
refuses them."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from tests.fakes.discord_api import FakeDiscord, FakeInteraction
from tests.test_fakes.discord_rig import TOKEN, USER, PicassoLike, running_bot

# Snowflakes whose shard of two differs: (id >> 22) % 2.
GUILD_ON_1, CHANNEL_ON_1 = 1 << 22, (1 << 22) + 1
GUILD_ON_0, CHANNEL_ON_0 = 2 << 22, (2 << 22) + 1
# Seconds between IDENTIFYs: the bot below waits it out, and the fake holds it to it
# (discord.py's own wait, and Discord's, is 5 s; the end-to-end test uses those).
GAP = 0.5
INTENTS = 1 | 512  # guilds, guild messages


class ShardedLike(PicassoLike):
    """The rig's bot, identifying its shards GAP seconds apart."""

    def __init__(self, fake: FakeDiscord) -> None:
        super().__init__()
        self.fake = fake
        self.identifying = 0  # IDENTIFYs this bot has set out to send

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        if not initial:
            # GAP from when the fake took the last IDENTIFY, not from when it was sent: the
            # fake measures between arrivals, and a stall in between must not shorten it.
            gateway = self.fake.gateway
            await self.fake.wait_for(lambda: gateway.identifies >= self.identifying)
            await asyncio.sleep(GAP)
        self.identifying += 1


def drawn(inter: FakeInteraction) -> bool:
    """The rig's /draw has finished (its last edit)."""
    return inter.original is not None and inter.original["content"].startswith("drew")


def two_guilds(fake: FakeDiscord) -> None:
    fake.add_guild(GUILD_ON_1, channel_ids=[CHANNEL_ON_1], members=[USER])
    fake.add_guild(GUILD_ON_0, channel_ids=[CHANNEL_ON_0], members=[USER])


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    async with FakeDiscord(shards=2, identify_interval=GAP) as server:
        two_guilds(server)
        yield server
        assert server.violations == []


@pytest.fixture
async def bot(fake: FakeDiscord) -> AsyncIterator[PicassoLike]:
    async with running_bot(fake, lambda: ShardedLike(fake)) as client:
        yield client


async def test_each_shard_gets_its_guilds(fake: FakeDiscord, bot: PicassoLike) -> None:
    assert bot.shard_count == 2 and sorted(bot.shards) == [0, 1]
    for shard_id, guild_id in ((0, GUILD_ON_0), (1, GUILD_ON_1)):
        session = fake.gateway.shard(shard_id)
        _, name, ready = session.events[0]
        assert name == "READY" and ready["shard"] == [shard_id, 2]
        assert [g["id"] for g in ready["guilds"]] == [str(guild_id)]
        assert fake.gateway.delivered_to("GUILD_CREATE", guild_id) == [shard_id]
        guild = bot.get_guild(guild_id)
        assert guild is not None and guild.shard_id == shard_id
    assert len({s.session_id for s in fake.gateway.sessions}) == 2


async def test_interactions_and_messages_come_on_their_guilds_shard(
    fake: FakeDiscord, bot: PicassoLike
) -> None:
    for shard_id, guild_id, channel_id in (
        (1, GUILD_ON_1, CHANNEL_ON_1),
        (0, GUILD_ON_0, CHANNEL_ON_0),
    ):
        inter = await fake.invoke(
            "draw", {"prompt": "a cat"}, user_id=USER, guild_id=guild_id, channel_id=channel_id
        )
        await inter.wait_done(drawn)
        assert inter.original is not None and inter.original["content"] == "drew a cat"
        assert fake.gateway.delivered_to("INTERACTION_CREATE", inter.id) == [shard_id]
        posted = await fake.post_message(
            channel_id, "hello", author_id=USER, guild_id=guild_id, mention_bot=True
        )
        assert fake.gateway.delivered_to("MESSAGE_CREATE", posted["id"]) == [shard_id]
    await fake.wait_for(lambda: len(bot.seen) == 2)
    assert fake.gateway.undelivered == []


async def test_direct_messages_come_on_shard_zero(fake: FakeDiscord, bot: PicassoLike) -> None:
    dm = fake.dm_channel(USER)
    inter = await fake.invoke(
        "draw", {"prompt": "a dog"}, user_id=USER, guild_id=None, channel_id=dm.id
    )
    await inter.wait_done(drawn)
    assert inter.original is not None and inter.original["content"] == "drew a dog"
    assert fake.gateway.delivered_to("INTERACTION_CREATE", inter.id) == [0]


async def test_a_shard_resumes_on_its_own(fake: FakeDiscord, bot: PicassoLike) -> None:
    sessions = {k: fake.gateway.shard(k).session_id for k in (0, 1)}
    await fake.disconnect(4000, shard_id=1)
    assert fake.gateway.shard(0).connected and not fake.gateway.shard(1).connected
    await fake.post_message(
        CHANNEL_ON_1, "while away", author_id=USER, guild_id=GUILD_ON_1, mention_bot=True
    )
    await fake.wait_for(fake.gateway.shard(1).resumed.is_set, what="shard 1 to RESUME")
    await fake.wait_for(lambda: len(bot.seen) == 1)
    assert bot.seen[0].guild is not None and bot.seen[0].guild.id == GUILD_ON_1
    assert (fake.gateway.shard(0).resumes, fake.gateway.shard(1).resumes) == (0, 1)
    assert {k: fake.gateway.shard(k).session_id for k in (0, 1)} == sessions
    assert fake.gateway.identifies == 2
    await fake.restart_gateway(shard_id=0)  # and shard 0 on its own too
    assert (fake.gateway.shard(0).resumes, fake.gateway.shard(1).resumes) == (1, 1)


# --- IDENTIFY rules, on a bare websocket ----------------------------------------------------


async def identify(
    http: aiohttp.ClientSession, fake: FakeDiscord, shard: Any
) -> tuple[aiohttp.ClientWebSocketResponse, aiohttp.WSMessage]:
    """Connect, IDENTIFY with `shard` (left out when None), and the gateway's first answer."""
    ws = await http.ws_connect(fake.ws_base + "/gateway?v=10&encoding=json")
    assert (await ws.receive_json())["op"] == 10  # HELLO
    data: dict[str, Any] = {"token": TOKEN, "intents": INTENTS, "properties": {}}
    if shard is not None:
        data["shard"] = shard
    await ws.send_json({"op": 2, "d": data})
    return ws, await ws.receive()


@pytest.mark.parametrize(
    ("shard", "code"),
    [([2, 2], 4010), ([-1, 2], 4010), ([0, 0], 4010), ("0,2", 4010), ([0, 1], 4011), (None, 4011)],
    ids=["id too big", "negative id", "no shards", "not a pair", "too few", "unsharded"],
)
async def test_a_wrong_shard_is_refused(shard: Any, code: int) -> None:
    async with FakeDiscord(shards=2, validate_spec=False) as fake, aiohttp.ClientSession() as http:
        _, answer = await identify(http, fake, shard)
        assert (answer.type, answer.data) == (aiohttp.WSMsgType.CLOSE, code)
        assert len(fake.violations) == 1 and "IDENTIFY with shard" in fake.violations[0]
        assert fake.gateway.sessions == []


async def test_a_larger_count_is_taken_and_routes_by_itself() -> None:
    async with FakeDiscord(shards=2, validate_spec=False) as fake, aiohttp.ClientSession() as http:
        two_guilds(fake)
        _, answer = await identify(http, fake, [1, 3])
        ready = answer.json()["d"]
        assert ready["shard"] == [1, 3]
        # (1 << 22) % 3 == 1 and (2 << 22) % 3 == 2
        assert [g["id"] for g in ready["guilds"]] == [str(GUILD_ON_1)]
        assert fake.violations == []


async def test_identifies_of_one_bucket_are_spaced_out() -> None:
    async with FakeDiscord(shards=2, validate_spec=False) as fake, aiohttp.ClientSession() as http:
        two_guilds(fake)
        await identify(http, fake, [0, 2])
        _, answer = await identify(http, fake, [1, 2])  # at once: max_concurrency is 1
        assert answer.json() == {"op": 9, "d": False, "s": None, "t": None}
        assert len(fake.violations) == 1 and "too soon" in fake.violations[0]
        await asyncio.sleep(fake.gateway.identify_interval)
        _, answer = await identify(http, fake, [1, 2])
        assert answer.json()["t"] == "READY"
        assert [s.shard_id for s in fake.gateway.live()] == [0, 1]


async def test_one_shard_identifies_back_to_back_as_before() -> None:
    async with FakeDiscord(validate_spec=False) as fake, aiohttp.ClientSession() as http:
        for shard in (None, [0, 1]):
            ws, answer = await identify(http, fake, shard)
            assert answer.json()["d"]["shard"] == [0, 1]
            await ws.close()  # 1000: the session ends
        assert fake.gateway.identifies == 2 and fake.violations == []
        assert [s.ended for s in fake.gateway.sessions] == [True, True]


async def test_events_of_a_shard_nobody_runs_are_dropped() -> None:
    async with FakeDiscord(shards=2, validate_spec=False) as fake, aiohttp.ClientSession() as http:
        two_guilds(fake)
        await identify(http, fake, [1, 2])  # a process with SHARD_IDS=1
        for guild_id in (GUILD_ON_0, GUILD_ON_1, None):
            event = {"id": "1", "channel_id": "2"} | (
                {"guild_id": str(guild_id)} if guild_id else {}
            )
            await fake.gateway.dispatch("MESSAGE_DELETE", event)
        assert [e.get("guild_id") for _, e in fake.gateway.undelivered] == [str(GUILD_ON_0), None]
        assert [name for name, _ in fake.gateway.shard(1).delivered][-1] == "MESSAGE_DELETE"


async def test_two_sessions_of_one_shard_both_get_its_events() -> None:
    """As on Discord (a bot started twice answers twice)."""
    async with FakeDiscord(validate_spec=False) as fake, aiohttp.ClientSession() as http:
        fake.add_guild(GUILD_ON_0, channel_ids=[CHANNEL_ON_0])
        first, _ = await identify(http, fake, None)
        second, _ = await identify(http, fake, None)
        event = {"id": "7", "channel_id": str(CHANNEL_ON_0), "guild_id": str(GUILD_ON_0)}
        await fake.gateway.dispatch("MESSAGE_DELETE", event)
        assert fake.gateway.delivered_to("MESSAGE_DELETE", 7) == [0, 0]
        for ws in (first, second):
            names = [(await ws.receive_json(timeout=1))["t"] for _ in range(2)]
            assert names == ["GUILD_CREATE", "MESSAGE_DELETE"]
