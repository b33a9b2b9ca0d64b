"""Every failure of /imagine ends in one clear sentence, and nothing is left "thinking"."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import discord
import pytest

from bot.app import Picasso
from bot.errors import ProviderUnavailable
from bot.jobs.runner import PAINT_TRIES, START_MARGIN
from cogs.pictures.orders import TOKEN_LIFETIME
from tests.e2e.bot_clock import BotClock
from tests.e2e.conftest import (
    ALICE,
    BOB,
    CHANNEL_ID,
    DISCORD_TOKEN,
    GUILD_ID,
    OPENAI_KEY,
    StartBot,
)
from tests.e2e.picture_kit import dump, image_of, imagine, is_final, is_picture, settled
from tests.e2e.pictures.test_queue import in_line
from tests.fakes.discord_api import FakeDiscord, FakeInteraction
from tests.fakes.openai_api import FakeOpenAI


def sentence(interaction: FakeInteraction) -> str:
    """The private sentence that replaced the public "thinking…" of a failed /imagine."""
    shown = interaction.shown
    assert shown is not None
    assert not shown.get("embeds"), "a failure must not post a result"
    assert interaction.original is None, "the public loading message must be gone"
    assert int(shown.get("flags") or 0) & 64, "the sentence must be private (ephemeral)"
    return shown["content"]


@pytest.mark.parametrize("code", ["moderation_blocked", "content_policy_violation"])
async def test_safety_rejection(
    start_bot: StartBot, discord_fake: FakeDiscord, openai_fake: FakeOpenAI, code: str
) -> None:
    openai_fake.fail_next(
        "images",
        status=400,
        code=code,
        type="image_generation_user_error",
        message="Your request was rejected by the safety system.",
    )
    await start_bot(PARTIAL_IMAGES="0")
    interaction = await imagine(discord_fake, "something bad")
    assert sentence(interaction) == (
        "Your request was rejected by the safety system — try rephrasing it."
    )


async def test_safety_rejection_mid_stream(
    start_bot: StartBot, discord_fake: FakeDiscord, openai_fake: FakeOpenAI
) -> None:
    openai_fake.fail_next("images", mode="stream_error", code="moderation_blocked")
    await start_bot(PARTIAL_IMAGES="2")
    interaction = await imagine(discord_fake, "something that turns bad")
    assert "rejected by the safety system" in sentence(interaction)
    assert interaction.shown is not None
    assert interaction.shown["_files"] == []  # the partial preview does not stay up


async def test_a_rate_limit_pauses_painting_and_the_picture_still_comes(
    start_bot: StartBot, discord_fake: FakeDiscord, openai_fake: FakeOpenAI
) -> None:
    """A 429 that passes is waited out (retry-after), never told to the person as "busy"."""
    openai_fake.fail_next(
        "images",
        status=429,
        code="rate_limit_exceeded",
        type="requests",
        headers={"retry-after-ms": "300"},
    )
    await start_bot()
    interaction = await imagine(discord_fake, "a quick sketch")
    assert is_picture(interaction.original), dump(interaction.shown)
    assert not any("busy" in (m.get("content") or "") for m in interaction.followups)
    times = [r.at for r in openai_fake.requests if r.endpoint == "images"]
    assert len(times) == 2 and times[1] - times[0] >= 0.3  # after the pause, not at once


async def test_out_of_quota_is_busy_too(
    start_bot: StartBot, discord_fake: FakeDiscord, openai_fake: FakeOpenAI
) -> None:
    openai_fake.fail_next(
        "images",
        status=429,
        code="insufficient_quota",
        type="insufficient_quota",
        message="You exceeded your current quota.",
    )
    await start_bot()
    interaction = await imagine(discord_fake, "a quick sketch")
    assert sentence(interaction).startswith("The image service is busy right now — try again in")


async def test_timeout(
    start_bot: StartBot, discord_fake: FakeDiscord, openai_fake: FakeOpenAI
) -> None:
    openai_fake.fail_next("images", mode="timeout", delay=4)
    await start_bot(IMAGE_TIMEOUT="1")
    interaction = await imagine(discord_fake, "a slow picture")
    assert sentence(interaction) == (
        "The image service took too long to answer — please try again in a minute."
    )


async def test_connection_error(
    start_bot: StartBot, discord_fake: FakeDiscord, openai_fake: FakeOpenAI
) -> None:
    openai_fake.fail_next("images", mode="disconnect")
    await start_bot()
    interaction = await imagine(discord_fake, "an unlucky picture")
    assert sentence(interaction) == (
        "The image service can't be reached right now — please try again shortly."
    )


async def test_server_error_after_retries(
    start_bot: StartBot, discord_fake: FakeDiscord, openai_fake: FakeOpenAI
) -> None:
    """A 500 proves nothing was made: the bot tries the picture again, a bounded number of
    times (each try with the SDK's own IMAGE_RETRIES), then says it in one sentence."""
    openai_fake.fail_next("images", status=500, count=2 * PAINT_TRIES)
    await start_bot(IMAGE_RETRIES="1")
    interaction = await imagine(discord_fake, "an unlucky picture")
    assert "can't be reached" in sentence(interaction)
    assert openai_fake.count("images") == 2 * PAINT_TRIES


@pytest.mark.parametrize("status", [500, 502, 503])
async def test_a_server_error_that_passes_becomes_a_picture(
    start_bot: StartBot, discord_fake: FakeDiscord, openai_fake: FakeOpenAI, status: int
) -> None:
    openai_fake.fail_next("images", status=status)
    await start_bot()
    interaction = await imagine(discord_fake, "a picture at the second try")
    assert is_picture(interaction.shown)
    assert openai_fake.count("images") == 2


async def test_a_gateway_timeout_is_not_tried_again(
    start_bot: StartBot, discord_fake: FakeDiscord, openai_fake: FakeOpenAI
) -> None:
    """A 504 may have been made (and billed): one call, one sentence."""
    openai_fake.fail_next("images", status=504)
    await start_bot()
    interaction = await imagine(discord_fake, "an unlucky picture")
    assert "can't be reached" in sentence(interaction)
    assert openai_fake.count("images") == 1


async def test_invalid_api_key_is_misconfiguration_and_logged_loudly(
    start_bot: StartBot,
    discord_fake: FakeDiscord,
    openai_fake: FakeOpenAI,
    caplog: pytest.LogCaptureFixture,
) -> None:
    await start_bot(OPENAI_API_KEY="sk-wrong-key-for-this-test")
    interaction = await imagine(discord_fake, "anything")
    assert sentence(interaction) == "The bot is misconfigured — tell a server admin."
    assert any(
        r.levelno >= logging.CRITICAL and "OPENAI_API_KEY" in r.getMessage() for r in caplog.records
    )
    for secret in ("sk-wrong-key-for-this-test", OPENAI_KEY, DISCORD_TOKEN):
        assert secret not in caplog.text
        assert secret not in str(interaction.original)


async def test_chat_outage_still_paints_the_words(
    start_bot: StartBot, discord_fake: FakeDiscord, openai_fake: FakeOpenAI
) -> None:
    openai_fake.fail_next("chat", status=503, count=3)
    await start_bot()
    interaction = await imagine(discord_fake, "a green hill")
    assert interaction.original is not None
    embed = interaction.original["embeds"][0]
    assert embed["description"] == "a green hill"
    assert "unavailable" in embed["footer"]["text"]


async def test_upload_refused_is_retried_smaller(
    start_bot: StartBot, discord_fake: FakeDiscord, openai_fake: FakeOpenAI
) -> None:
    await start_bot(PARTIAL_IMAGES="0")
    discord_fake.fail_next(
        "PATCH",
        r"/webhooks/\d+/[^/]+/messages/@original",
        status=413,
        code=40005,
        message="Request entity too large",
        with_files=True,
    )
    interaction = await imagine(discord_fake, "a detailed map")
    uploads = [r for r in discord_fake.requests if r.method == "PATCH" and r.files]
    assert [r.status for r in uploads] == [413, 200]
    assert len(uploads[1].files[0][2]) < len(uploads[0].files[0][2])
    assert interaction.original is not None
    assert interaction.original["embeds"]
    assert image_of(interaction.original).format == "JPEG"


async def test_large_picture_is_shrunk_to_the_interaction_upload_limit(
    start_bot: StartBot, discord_fake: FakeDiscord, openai_fake: FakeOpenAI
) -> None:
    openai_fake.noisy = True
    await start_bot(PARTIAL_IMAGES="0")
    interaction = await discord_fake.invoke(
        "imagine",
        {"description": "static on a television"},
        user_id=ALICE,
        guild_id=GUILD_ID,
        channel_id=CHANNEL_ID,
        attachment_size_limit=8_000,
    )
    await settled(interaction)
    assert interaction.original is not None
    _, _, data = interaction.original["_files"][0]
    assert len(data) <= 8_000
    assert image_of(interaction.original).format == "JPEG"


async def test_unexpected_exception_still_answers_with_an_apology(
    start_bot: StartBot,
    discord_fake: FakeDiscord,
    openai_fake: FakeOpenAI,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    bot: Picasso = await start_bot()

    async def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(bot.pipeline, "plan_imagine", broken)
    interaction = await imagine(discord_fake, "anything")
    assert sentence(interaction).startswith("Sorry — something went wrong on our side.")
    assert "RuntimeError: boom" in caplog.text


async def test_blank_description_is_refused_without_a_provider_call(
    start_bot: StartBot, discord_fake: FakeDiscord, openai_fake: FakeOpenAI
) -> None:
    await start_bot()
    interaction = await imagine(discord_fake, "    ", wait=False)
    response = await interaction.wait_responded()
    assert response["type"] == 4
    assert response["data"]["flags"] & 64  # ephemeral
    assert "can't be empty" in response["data"]["content"]
    assert openai_fake.requests == []


async def test_a_removed_loading_message_still_gets_its_sentence(
    start_bot: StartBot,
    discord_fake: FakeDiscord,
    openai_fake: FakeOpenAI,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    bot: Picasso = await start_bot()

    async def removed_then_failed(*args: object, **kwargs: object) -> None:
        (asked,) = discord_fake.interactions.values()
        assert asked.original is not None
        await discord_fake.delete_message(asked.original)  # e.g. a moderator removed it
        raise ProviderUnavailable()

    monkeypatch.setattr(bot.pipeline, "plan_imagine", removed_then_failed)
    interaction = await imagine(discord_fake, "anything")
    assert sentence(interaction) == ProviderUnavailable.user_message
    # The bot tried to remove the loading message first: Discord said it was gone already.
    assert [v for v in discord_fake.violations if "DELETE webhook message @original" in v]
    discord_fake.violations.clear()


async def test_a_request_that_waited_too_long_is_not_started(
    start_bot: StartBot,
    discord_fake: FakeDiscord,
    openai_fake: FakeOpenAI,
) -> None:
    """Past the deadline Discord's token would expire before the picture: say so, paint nothing.

    The bot's time is the test's: the second request waits in line behind a picture that
    paints until the test lets it finish, and its deadline passes when the test moves the
    clock past it, not when a fraction of a real second has gone by."""
    clock = BotClock()
    painting = openai_fake.hold_images()
    bot = await start_bot(clocks=clock.clocks, IMAGE_CONCURRENCY="1", PARTIAL_IMAGES="0")
    clock.drive(bot.jobs.engine.line)
    first = await imagine(discord_fake, "the first in line", wait=False)
    await discord_fake.wait_for(lambda: painting.waiting == 1, what="the first to be painting")
    second = await imagine(discord_fake, "the second in line", user_id=BOB, wait=False)
    await second.wait_done(in_line)
    # Interactions' tokens last 15 min and a job must start 5 min before: the second's
    # deadline is 10 min after it was asked. Past it, with its token still alive:
    clock.advance((TOKEN_LIFETIME - START_MARGIN / 2).total_seconds())
    await second.wait_done(lambda i: is_final(i.shown))
    assert (
        sentence(second) == "Your picture waited too long in line — please ask again in a moment."
    )
    painting.open()
    await settled(first)
    assert first.shown is not None and first.shown["embeds"]  # the first was already painting
    assert openai_fake.count("images") == 1


async def test_an_interaction_answered_too_late_is_a_warning_not_a_crash(
    start_bot: StartBot,
    discord_fake: FakeDiscord,
    openai_fake: FakeOpenAI,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A bot blocked past Discord's 3 s window can't answer; it logs why, paints nothing."""
    defer = discord.InteractionResponse.defer

    async def late(self: discord.InteractionResponse, **kwargs: Any) -> Any:
        await asyncio.sleep(3.2)  # as if the event loop had been blocked
        return await defer(self, **kwargs)

    monkeypatch.setattr(discord.InteractionResponse, "defer", late)
    await start_bot()
    interaction = await imagine(discord_fake, "too late", wait=False)
    await discord_fake.wait_for(
        lambda: any("could not tell the user" in r.getMessage() for r in caplog.records)
    )
    assert any("expired before the bot answered" in r.getMessage() for r in caplog.records)
    assert not any(r.getMessage() == "unexpected error" for r in caplog.records)
    assert openai_fake.requests == []
    assert interaction.shown is None  # Discord refused the late answers: nothing is shown
    assert all("after 3." in v or "Unknown" in v for v in discord_fake.violations)
    discord_fake.violations.clear()  # the late answer is the point of this test
