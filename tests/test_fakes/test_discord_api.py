"""The fake Discord, driven by a real (small) discord.py AutoShardedBot in the same event loop."""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import AsyncIterator

import aiohttp
import discord
import discord.http
import pytest

from tests.fakes.discord_api import FakeDiscord
from tests.fakes.discord_rules import INTENT_MESSAGE_CONTENT, SEND_MESSAGES
from tests.test_fakes.discord_rig import (
    CHANNEL,
    GUILD,
    OTHER,
    TOKEN,
    USER,
    PicassoLike,
    channel_of,
    running_bot,
)

log = logging.getLogger(__name__)


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    async with FakeDiscord() as server:
        server.add_guild(GUILD, channel_ids=[CHANNEL], members=[USER, OTHER])
        yield server


@pytest.fixture
async def bot(fake: FakeDiscord) -> AsyncIterator[PicassoLike]:
    async with running_bot(fake) as client:
        yield client


async def test_connect_and_ready(fake: FakeDiscord, bot: PicassoLike) -> None:
    assert fake.bot_token == TOKEN
    assert fake.identify is not None and fake.identify["shard"] == [0, 1]
    assert not fake.identify["intents"] & INTENT_MESSAGE_CONTENT
    assert bot.user is not None and bot.user.id == fake.bot_user_id
    guild = bot.get_guild(GUILD)
    # bot, owner and two members; without the members intent discord.py caches only itself
    assert guild is not None and guild.member_count == 4 and guild.me is not None
    assert [c["name"] for c in fake.commands_global] == [
        "draw",
        "button",
        "slow",
        "twice",
        "upload",
        "feedback",
        "Echo",
    ]
    paths = [r.path for r in fake.requests]
    assert "/gateway/bot" in paths and "/users/@me" in paths
    assert all(r.status < 400 for r in fake.requests)
    assert fake.violations == []


async def test_slash_command_defers_then_edits(fake: FakeDiscord, bot: PicassoLike) -> None:
    inter = await fake.invoke(
        "draw", {"prompt": "a cat", "steps": 2}, user_id=USER, guild_id=GUILD, channel_id=CHANNEL
    )
    assert (await inter.wait_responded())["type"] == 5
    await inter.wait_done()
    assert inter.deferred and not inter.ephemeral
    assert [e["content"] for e in inter.edits] == ["step 0", "step 1", "drew a cat"]
    assert inter.original is not None and inter.original["content"] == "drew a cat"
    assert inter.original["flags"] == 0 and inter.original["type"] == 20
    assert fake.violations == []


async def test_late_response_is_unknown_interaction(fake: FakeDiscord, bot: PicassoLike) -> None:
    inter = await fake.invoke("slow", user_id=USER, guild_id=GUILD, channel_id=CHANNEL)
    await fake.wait_for(lambda: bool(bot.errors), timeout=6)
    assert isinstance(bot.errors[0], discord.NotFound) and bot.errors[0].code == 10062
    assert inter.callbacks == [] and "after" in fake.violations[0]


async def test_second_response_is_refused(fake: FakeDiscord, bot: PicassoLike) -> None:
    inter = await fake.invoke("twice", user_id=USER, guild_id=GUILD, channel_id=CHANNEL)
    await fake.wait_for(lambda: bool(bot.errors))
    error = bot.errors[0]
    assert isinstance(error, discord.HTTPException) and error.code == 40060
    assert [c["type"] for c in inter.callbacks] == [4, 4]
    assert inter.original is not None and inter.original["content"] == "one"
    assert len(fake.violations) == 1 and "second initial response" in fake.violations[0]


async def test_allowed_mentions_decide_pings(fake: FakeDiscord, bot: PicassoLike) -> None:
    channel = channel_of(bot)
    quiet = await channel.send(
        "@everyone <@21> hi", allowed_mentions=discord.AllowedMentions.none()
    )
    loud = await channel.send("@everyone hi")
    assert fake.messages[quiet.id]["_pinged"] == set()
    assert fake.messages[loud.id]["_pinged"] == {"everyone"}
    reply = await loud.reply("yes", mention_author=False)
    assert fake.messages[reply.id]["_pinged"] == set()
    assert fake.messages[reply.id]["message_reference"]["message_id"] == str(loud.id)
    assert fake.violations == []


async def test_upload_is_recorded_and_served(fake: FakeDiscord, bot: PicassoLike) -> None:
    data = bytes(range(256)) * 40
    sent = await channel_of(bot).send("pic", file=discord.File(io.BytesIO(data), "pic.png"))
    stored = fake.messages[sent.id]
    assert stored["_files"] == [("pic.png", "image/png", data)]
    assert sent.attachments[0].url.startswith(fake.http_base)
    async with aiohttp.ClientSession() as session, session.get(sent.attachments[0].url) as resp:
        assert resp.status == 200 and await resp.read() == data
    assert await sent.attachments[0].read() == data
    assert fake.requests[-1].files == [("pic.png", "application/octet-stream", data)]
    embed = discord.Embed(title="t").set_image(url="attachment://x.png")
    with_embed = await channel_of(bot).send(
        embed=embed, file=discord.File(io.BytesIO(data), "x.png")
    )
    assert with_embed.embeds[0].image.url == with_embed.attachments[0].url
    assert fake.violations == []


async def test_upload_over_the_limit_is_413(fake: FakeDiscord, bot: PicassoLike) -> None:
    big = discord.File(io.BytesIO(b"\0" * (10 * 1024 * 1024 + 1)), "big.bin")
    with pytest.raises(discord.HTTPException) as info:
        await channel_of(bot).send(file=big)
    assert info.value.status == 413 and info.value.code == 40005
    assert len(fake.violations) == 1

    inter = await fake.invoke(
        "upload",
        {"size": 2000},
        user_id=USER,
        guild_id=GUILD,
        channel_id=CHANNEL,
        attachment_size_limit=1000,
    )
    await inter.wait_done()
    assert isinstance(bot.errors[0], discord.HTTPException) and bot.errors[0].status == 413
    # the first follow-up replaced the "thinking" message and kept it ephemeral
    assert inter.original is not None and inter.original["content"] == "too big"
    assert inter.original["flags"] & 64 and inter.followups == [inter.original]


async def test_message_content_intent(fake: FakeDiscord, bot: PicassoLike) -> None:
    plain = await fake.post_message(CHANNEL, "secret", author_id=USER, guild_id=GUILD)
    pinged = await fake.post_message(
        CHANNEL, "hello", author_id=USER, guild_id=GUILD, mention_bot=True
    )
    await fake.wait_for(lambda: len(bot.seen) == 2)
    assert bot.seen[0].id == int(plain["id"]) and bot.seen[0].content == ""
    assert bot.seen[1].content == f"<@{fake.bot_user_id}> hello"
    assert fake.messages[int(plain["id"])]["content"] == "secret"
    assert pinged["_pinged"] == {f"user:{fake.bot_user_id}"}

    own = await channel_of(bot).send("bot says")
    reply = await fake.post_message(
        CHANNEL, "a reply", author_id=OTHER, guild_id=GUILD, reply_to=own.id
    )
    await fake.wait_for(lambda: len(bot.seen) == 3)
    assert bot.seen[2].content == "a reply" and bot.seen[2].reference is not None
    assert reply["type"] == 19
    assert fake.violations == []


async def test_button_click_reaches_dynamic_item(fake: FakeDiscord, bot: PicassoLike) -> None:
    inter = await fake.invoke("button", user_id=USER, guild_id=GUILD, channel_id=CHANNEL)
    await inter.wait_done()
    assert inter.original is not None
    click = await fake.click(
        int(inter.original["id"]), "counter:7", user_id=OTHER, guild_id=GUILD, channel_id=CHANNEL
    )
    assert (await click.wait_responded())["type"] == 7
    assert bot.clicks == [(7, OTHER)]
    assert fake.messages[int(inter.original["id"])]["content"] == "clicked 7"
    assert fake.violations == []


async def test_modal_round_trip(fake: FakeDiscord, bot: PicassoLike) -> None:
    opener = await fake.invoke("feedback", user_id=USER, guild_id=GUILD, channel_id=CHANNEL)
    modal = await opener.wait_responded()
    assert modal["type"] == 9
    assert [c["type"] for c in modal["data"]["components"]] == [1, 18]
    submit = await fake.submit_modal(
        modal["data"]["custom_id"],
        {"name": "Ada", "detail": "lovely"},
        user_id=USER,
        guild_id=GUILD,
        channel_id=CHANNEL,
    )
    await submit.wait_done()
    assert bot.submitted == [("Ada", "lovely")]
    assert submit.ephemeral and submit.original is not None
    assert submit.original["content"] == "thanks Ada"
    with pytest.raises(ValueError, match="required"):
        await fake.submit_modal(
            modal["data"]["custom_id"],
            {"detail": "x"},
            user_id=USER,
            guild_id=GUILD,
            channel_id=CHANNEL,
        )
    assert fake.violations == []


async def test_embed_title_over_256_is_a_violation(fake: FakeDiscord, bot: PicassoLike) -> None:
    with pytest.raises(discord.HTTPException) as info:
        await channel_of(bot).send(embed=discord.Embed(title="t" * 257))
    assert info.value.status == 400 and info.value.code == 50035
    assert fake.violations and "title" in fake.violations[0]


async def test_fault_injection_and_rate_limit_retry(fake: FakeDiscord, bot: PicassoLike) -> None:
    fake.fail_next(
        "POST",
        r"/channels/\d+/messages$",
        status=429,
        code=20028,
        message="slow down",
        retry_after=0.05,
    )
    sent = await channel_of(bot).send("after a 429")
    assert [r.status for r in fake.requests[-2:]] == [429, 200]
    fake.fail_next("POST", r"/messages$", status=403, code=50013, message="Missing Permissions")
    with pytest.raises(discord.Forbidden):
        await channel_of(bot).send("nope")
    assert sent.content == "after a 429" and fake.violations == []


async def test_a_held_route_answers_once_released(fake: FakeDiscord, bot: PicassoLike) -> None:
    released = fake.hold("POST", r"/channels/\d+/messages$")
    sending = asyncio.create_task(channel_of(bot).send("held back"))
    await fake.wait_for(lambda: fake.in_flight == 1, what="the post to arrive")
    await asyncio.sleep(0)
    assert not sending.done() and fake.channel_messages(CHANNEL) == []
    released.set()
    sent = await asyncio.wait_for(sending, 10)
    assert sent.content == "held back" and fake.violations == []


async def test_a_bot_without_send_messages_gets_403_but_interactions_work(
    fake: FakeDiscord, bot: PicassoLike
) -> None:
    fake.forbid_bot(CHANNEL)
    with pytest.raises(discord.Forbidden) as info:
        await channel_of(bot).send("hello")
    assert info.value.code == 50013
    inter = await fake.invoke(
        "draw", {"prompt": "a cat"}, user_id=USER, guild_id=GUILD, channel_id=CHANNEL
    )
    await inter.wait_done()
    assert not int(inter.payload["app_permissions"]) & SEND_MESSAGES
    assert inter.original is not None and inter.original["content"] == "drew a cat"
    assert fake.violations == []  # refused, as Discord would, but not the bot's mistake


async def test_message_command_on_a_message(fake: FakeDiscord, bot: PicassoLike) -> None:
    posted = await fake.post_message(CHANNEL, "hi there", author_id=USER, guild_id=GUILD)
    inter = await fake.use_message_command(
        "Echo", int(posted["id"]), user_id=OTHER, guild_id=GUILD, channel_id=CHANNEL
    )
    await inter.wait_done()
    assert inter.data["target_id"] == posted["id"] and inter.ephemeral
    assert inter.original is not None and inter.original["content"] == "echo hi there"
    with pytest.raises(ValueError, match="no message command"):
        await fake.use_message_command(
            "Nope", int(posted["id"]), user_id=OTHER, guild_id=GUILD, channel_id=CHANNEL
        )
    assert fake.violations == []


async def test_gateway_resume_replays_missed_events(fake: FakeDiscord, bot: PicassoLike) -> None:
    await fake.disconnect(4000)
    await fake.post_message(CHANNEL, "while away", author_id=USER, guild_id=GUILD, mention_bot=True)
    await fake.wait_for(fake.gateway.resumed.is_set)
    await fake.wait_for(lambda: len(bot.seen) == 1)
    assert fake.gateway.resumes == 1 and fake.gateway.identifies == 1
    assert fake.violations == []


async def test_rest_rules_without_a_bot() -> None:
    async with FakeDiscord(validate_spec=False) as fake, aiohttp.ClientSession() as http:
        async with http.get(fake.api_base + "/users/@me") as resp:
            assert resp.status == 401 and resp.headers["Content-Type"] == "application/json"
        headers = {"Authorization": "Bot t"}
        fake.bot_token = "t"
        async with http.get(fake.api_base + "/nope", headers=headers) as resp:
            assert resp.status == 404 and (await resp.json())["message"] == "404: Not Found"
        bad = [
            {
                "name": "Bad Name",
                "description": "",
                "options": [
                    {"name": "b", "description": "b", "type": 3},
                    {"name": "a", "description": "a", "type": 3, "required": True},
                ],
            }
        ]
        async with http.put(
            fake.api_base + "/applications/1000/commands", json=bad, headers=headers
        ) as resp:
            body = await resp.json()
    assert resp.status == 400 and body["code"] == 50035
    assert body["errors"]["0"]["name"]["_errors"][0]["code"] == "APPLICATION_COMMAND_INVALID_NAME"
    assert "required" in body["errors"]["0"]["options"]["1"]
    assert len(fake.violations) == 3


async def test_a_nonce_enforced_twice_makes_one_message(
    fake: FakeDiscord, bot: PicassoLike
) -> None:
    """Discord de-duplicates `enforce_nonce` sends: the second gets the first's message. A
    message created before its answer was lost (`after=True`) is found again that way."""
    channel = channel_of(bot)
    first = await channel.send("hello", nonce="p42")
    again = await channel.send("hello again", nonce="p42")
    other = await channel.send("another", nonce="p43")
    assert again.id == first.id and other.id != first.id
    fake.fail_next("POST", r"/messages$", status=500, code=0, message="lost", after=True)
    sent = await channel.send("lost answer", nonce="p44")  # made, its answer lost, tried again
    made = [m for m in fake.messages.values() if m.get("nonce") == "p44"]
    assert [int(m["id"]) for m in made] == [sent.id]  # the retry got the same message back
    with pytest.raises(discord.HTTPException):
        await channel.send("too long", nonce="x" * 26)
