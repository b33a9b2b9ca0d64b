"""The fake Discord's REST rate limits: raw requests see the buckets, discord.py obeys them.

Windows are shrunk where a test has to wait one out; where requests must land in one window,
the limiter runs on a clock the test holds. Counts and statuses are asserted, never durations.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import discord
import pytest

from tests.clocks import ManualClock
from tests.fakes.discord_api import FakeDiscord, FakeInteraction
from tests.fakes.discord_ratelimits import DiscordRateLimits, Window
from tests.test_fakes.discord_rig import CHANNEL, GUILD, TOKEN, USER, PicassoLike, running_bot

RATE_HEADERS = (
    "X-RateLimit-Limit",
    "X-RateLimit-Remaining",
    "X-RateLimit-Reset",
    "X-RateLimit-Reset-After",
    "X-RateLimit-Bucket",
)
# Discord's limits, with windows short enough to wait out in a test.
SHORT = DiscordRateLimits(
    interaction_webhook=Window(5, 0.5),
    channel_messages=Window(5, 0.5),
    bot_global=Window(50, 1.0),
)


class HeldClock:
    """The monotonic clock, held still until `go_on`: requests meanwhile arrive at one
    instant, however far apart the machine sends them."""

    def __init__(self) -> None:
        self._held: float | None = time.monotonic()

    def __call__(self) -> float:
        return time.monotonic() if self._held is None else self._held

    def go_on(self) -> None:
        self._held = None


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    async with FakeDiscord() as server:
        server.add_guild(GUILD, channel_ids=[CHANNEL], members=[USER])
        yield server
    assert server.violations == []


@pytest.fixture
async def bot(fake: FakeDiscord) -> AsyncIterator[PicassoLike]:
    async with running_bot(fake) as client:
        yield client


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def pressed(fake: FakeDiscord) -> FakeInteraction:
    """An interaction whose original message (with a button) the bot has sent."""
    inter = await fake.invoke("button", user_id=USER, guild_id=GUILD, channel_id=CHANNEL)
    await inter.wait_done()
    assert inter.original is not None
    return inter


async def send(
    http: aiohttp.ClientSession, fake: FakeDiscord, method: str, path: str, body: Any = None
) -> tuple[int, Any, dict[str, str]]:
    """One raw request with the bot's token; the status, JSON body and headers."""
    auth = {"Authorization": f"Bot {TOKEN}"}
    async with http.request(method, fake.api_base + path, json=body, headers=auth) as resp:
        data = await resp.json() if resp.content_type == "application/json" else None
        return resp.status, data, dict(resp.headers)


def original_path(fake: FakeDiscord, inter: FakeInteraction) -> str:
    return f"/webhooks/{fake.application_id}/{inter.token}/messages/@original"


async def test_the_sixth_edit_in_a_window_is_refused(
    fake: FakeDiscord, bot: PicassoLike, http: aiohttp.ClientSession
) -> None:
    inter = await pressed(fake)
    fake.rest.limiter.clock = ManualClock()  # all six in one window, however long they take
    answers = [
        await send(http, fake, "PATCH", original_path(fake, inter), {"content": f"edit {i}"})
        for i in range(6)
    ]
    assert [status for status, _, _ in answers] == [200] * 5 + [429]
    assert [h["X-RateLimit-Remaining"] for _, _, h in answers] == ["4", "3", "2", "1", "0", "0"]
    _, body, headers = answers[-1]
    assert body["message"] == "You are being rate limited." and body["global"] is False
    assert 0 < body["retry_after"] <= 2 and headers["Via"] == "1.1 google"
    assert headers["X-RateLimit-Scope"] == "user" and int(headers["Retry-After"]) >= 1
    assert fake.rate_limited == [fake.requests[-1]] and fake.requests[-1].status == 429
    assert inter.original is not None and inter.original["content"] == "edit 4"  # not processed


async def test_every_answer_on_a_bucketed_route_describes_the_bucket(
    fake: FakeDiscord, bot: PicassoLike, http: aiohttp.ClientSession
) -> None:
    inter = await pressed(fake)
    hook = f"/webhooks/{fake.application_id}/{inter.token}"
    answers = [
        await send(http, fake, "PATCH", original_path(fake, inter), {"content": "ok"}),
        await send(http, fake, "PATCH", hook + "/messages/1", {"content": "no such message"}),
        await send(http, fake, "POST", f"/channels/{CHANNEL}/messages", {"content": "hi"}),
        await send(http, fake, "POST", f"/channels/{CHANNEL}/messages", {"embeds": [{}] * 11}),
    ]
    assert [status for status, _, _ in answers] == [200, 404, 200, 400]
    for _, _, headers in answers:
        assert all(name in headers for name in RATE_HEADERS), headers
    webhook_bucket, channel_bucket = answers[0][2], answers[2][2]
    assert webhook_bucket["X-RateLimit-Limit"] == "5" and channel_bucket["X-RateLimit-Limit"] == "5"
    assert webhook_bucket["X-RateLimit-Bucket"] != channel_bucket["X-RateLimit-Bucket"]
    assert float(channel_bucket["X-RateLimit-Reset-After"]) <= 5
    fake.violations.clear()  # the 404 and the 400 were on purpose


async def test_discordpy_paces_interaction_edits_by_the_headers(
    fake: FakeDiscord, bot: PicassoLike
) -> None:
    fake.rate_limits = SHORT
    inter = await fake.invoke(
        "draw", {"prompt": "a cat", "steps": 10}, user_id=USER, guild_id=GUILD, channel_id=CHANNEL
    )
    await inter.wait_done(timeout=20)
    await fake.wait_for(lambda: len(inter.edits) == 11, 20, what="all eleven edits")
    assert inter.original is not None and inter.original["content"] == "drew a cat"
    counts = fake.request_counts()
    assert counts["interaction_webhook"] == 11 and counts["callback"] == 1
    assert fake.rate_limited == []  # discord.py waited whenever Remaining hit 0


async def test_discordpy_paces_channel_posts_by_the_headers(
    fake: FakeDiscord, bot: PicassoLike
) -> None:
    fake.rate_limits = SHORT
    channel = bot.get_channel(CHANNEL)
    assert isinstance(channel, discord.TextChannel)
    sent = await asyncio.gather(*(channel.send(f"post {i}") for i in range(12)))
    assert sorted(m.content for m in sent) == sorted(f"post {i}" for i in range(12))
    assert fake.request_counts()["channel_messages"] == 12
    assert fake.rate_limited == []


async def test_channel_bucket_is_per_channel(
    fake: FakeDiscord, bot: PicassoLike, http: aiohttp.ClientSession
) -> None:
    fake.add_guild(GUILD + 1, channel_ids=[CHANNEL + 100], members=[USER])
    fake.rate_limits = SHORT
    fake.rest.limiter.clock = clock = ManualClock()  # the window ends where the test says
    post = {"content": "hello"}
    here, there = f"/channels/{CHANNEL}/messages", f"/channels/{CHANNEL + 100}/messages"
    first = [await send(http, fake, "POST", here, post) for _ in range(6)]
    other = await send(http, fake, "POST", there, post)
    assert [s for s, _, _ in first] == [200] * 5 + [429] and other[0] == 200
    clock.advance(first[-1][1]["retry_after"])
    again = await send(http, fake, "POST", here, post)
    assert again[0] == 200 and again[2]["X-RateLimit-Remaining"] == "4"  # a 429 is not counted
    assert len(fake.rate_limited) == 1


async def test_global_limit_spans_routes_and_spares_interactions(
    fake: FakeDiscord, bot: PicassoLike, http: aiohttp.ClientSession
) -> None:
    fake.rate_limits = DiscordRateLimits(bot_global=Window(3, 10.0))
    inter = await pressed(fake)  # a callback: outside the global limit
    got = [
        await send(http, fake, "GET", "/users/@me"),
        await send(http, fake, "GET", f"/guilds/{GUILD}"),
        await send(http, fake, "POST", f"/channels/{CHANNEL}/messages", {"content": "hi"}),
        await send(http, fake, "GET", f"/guilds/{GUILD}/channels"),
    ]
    assert [s for s, _, _ in got] == [200, 200, 200, 429]
    _, body, headers = got[-1]
    assert body["global"] is True and headers["X-RateLimit-Scope"] == "global"
    assert headers["X-RateLimit-Global"] == "true" and headers["Via"] == "1.1 google"
    assert "X-RateLimit-Bucket" not in got[0][2]  # Discord does not describe the global bucket
    edit = await send(http, fake, "PATCH", original_path(fake, inter), {"content": "still ok"})
    later = await pressed(fake)
    assert edit[0] == 200 and later.callbacks and later.original is not None
    assert [r.path for r in fake.rate_limited] == [f"/guilds/{GUILD}/channels"]


async def test_discordpy_waits_out_a_global_429(fake: FakeDiscord, bot: PicassoLike) -> None:
    fake.rate_limits = DiscordRateLimits(bot_global=Window(2, 0.3))
    clock = HeldClock()  # the five arrive in one window, however far apart
    fake.rest.limiter.clock = clock
    fetching = asyncio.gather(*(bot.fetch_user(USER) for _ in range(5)))
    await fake.wait_for(lambda: len(fake.rate_limited) >= 3, what="three refused at once")
    clock.go_on()  # time passes again: discord.py's waits end the window
    users = await fetching
    assert [u.id for u in users] == [USER] * 5
    assert fake.rate_limited and all(r.status == 429 for r in fake.rate_limited)
    assert fake.requests[-1].status == 200


async def test_callbacks_carry_no_bucket_and_limits_can_be_switched_off(
    fake: FakeDiscord, bot: PicassoLike, http: aiohttp.ClientSession
) -> None:
    await pressed(fake)
    callback = next(r for r in fake.requests if r.path.endswith("/callback"))
    assert callback.status == 200 and fake.request_counts()["callback"] == 1
    fake.rate_limits = None
    inter = await pressed(fake)
    answers = [
        await send(http, fake, "PATCH", original_path(fake, inter), {"content": "x"})
        for _ in range(8)
    ]
    assert [s for s, _, _ in answers] == [200] * 8
    assert "X-RateLimit-Limit" not in answers[0][2] and fake.rate_limited == []


async def test_injected_faults_still_win(
    fake: FakeDiscord, bot: PicassoLike, http: aiohttp.ClientSession
) -> None:
    fake.fail_next("POST", r"/messages$", status=500, code=0, message="boom")
    status, _, headers = await send(
        http, fake, "POST", f"/channels/{CHANNEL}/messages", {"content": "hi"}
    )
    assert status == 500 and headers["X-RateLimit-Remaining"] == "4"
    assert fake.rate_limited == []
