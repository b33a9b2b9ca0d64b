"""cogs/common/answering.py: every error becomes one sentence, and `reply` delivers it
without pinging anyone, whether the interaction is fresh, deferred or already answered."""

from __future__ import annotations

import asyncio
import logging
from typing import Any
from unittest.mock import create_autospec

import discord
import pytest
from discord import app_commands
from discord.ext import commands

from bot.errors import APOLOGY, ModerationBlocked, PicassoError, ProviderBusy, SafetyRejected
from cogs.common.answering import (
    CANNOT_DM,
    CANNOT_POST,
    CANNOT_SEE,
    NO_MENTIONS,
    PUBLIC_DEFER,
    UNKNOWN_INTERACTION,
    NotAllowed,
    answering,
    reply,
    user_message,
)

NO_PERMISSION = "You don't have permission to use this command here."
Kind = discord.InteractionResponseType


class FakeResponse:
    """The two fields discord.HTTPException reads from an aiohttp response."""

    def __init__(self, status: int, reason: str) -> None:
        self.status = status
        self.reason = reason


def http_error(kind: type[discord.HTTPException], status: int, code: int) -> Any:
    response: Any = FakeResponse(status, "refused")
    return kind(response, {"code": code, "message": "refused by Discord"})


async def _imagine(interaction: discord.Interaction) -> None:
    """The callback of the command the invoke errors below come from."""


IMAGINE: app_commands.Command[Any, ..., None] = app_commands.Command(
    name="imagine", description="Paint", callback=_imagine
)


def errors_logged(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.levelno >= logging.ERROR]


@pytest.mark.parametrize(
    "error",
    [
        PicassoError("Custom sentence."),
        SafetyRejected(),
        ProviderBusy(12.0),
        ModerationBlocked(["x"]),
    ],
)
def test_domain_errors_give_their_own_sentence(
    error: PicassoError, caplog: pytest.LogCaptureFixture
) -> None:
    assert user_message(error) == error.user_message != APOLOGY
    assert errors_logged(caplog) == []


def test_a_refused_check_gives_its_sentence() -> None:
    assert user_message(NotAllowed("Only server admins can do that.")) == (
        "Only server admins can do that."
    )


@pytest.mark.parametrize(
    "wrap",
    [
        lambda e: app_commands.CommandInvokeError(IMAGINE, e),
        lambda e: commands.CommandInvokeError(e),
        lambda e: app_commands.CommandInvokeError(IMAGINE, commands.CommandInvokeError(e)),
    ],
)
def test_invoke_errors_are_unwrapped_to_the_domain_error(wrap: Any) -> None:
    assert user_message(wrap(SafetyRejected())) == SafetyRejected.user_message


def test_a_cooldown_says_how_long_to_wait() -> None:
    error = app_commands.CommandOnCooldown(app_commands.Cooldown(1, 60.0), 12.4)
    assert user_message(error) == "Slow down — try again in 12 s."


@pytest.mark.parametrize(
    "error", [app_commands.MissingPermissions(["manage_guild"]), app_commands.CheckFailure()]
)
def test_failed_checks_say_permission(error: Exception) -> None:
    assert user_message(error) == NO_PERMISSION


def test_forbidden_asks_an_admin_for_permissions(caplog: pytest.LogCaptureFixture) -> None:
    assert user_message(http_error(discord.Forbidden, 403, 50013)) == CANNOT_POST
    assert [r.levelno for r in caplog.records] == [logging.WARNING]


@pytest.mark.parametrize(
    ("code", "sentence"),
    [(50013, CANNOT_POST), (50001, CANNOT_SEE), (50007, CANNOT_DM), (160002, CANNOT_POST)],
)
def test_each_refusal_of_discord_says_what_to_do(code: int, sentence: str) -> None:
    assert user_message(http_error(discord.Forbidden, 403, code)) == sentence


def test_an_expired_interaction_is_a_warning_not_an_error(
    caplog: pytest.LogCaptureFixture,
) -> None:
    assert user_message(http_error(discord.NotFound, 404, UNKNOWN_INTERACTION)) == APOLOGY
    assert [r.levelno for r in caplog.records] == [logging.WARNING]


@pytest.mark.parametrize("error", [RuntimeError("boom"), http_error(discord.NotFound, 404, 10008)])
def test_anything_else_apologises_and_logs_the_traceback(
    error: Exception, caplog: pytest.LogCaptureFixture
) -> None:
    assert user_message(app_commands.CommandInvokeError(IMAGINE, error)) == APOLOGY
    [record] = errors_logged(caplog)
    assert record.exc_info is not None and record.exc_info[1] is error


class Said:
    """A `Say` that remembers what it told the person."""

    def __init__(self) -> None:
        self.sentences: list[str] = []

    async def __call__(self, text: str) -> None:
        self.sentences.append(text)


async def test_answering_says_nothing_when_the_block_succeeds() -> None:
    say = Said()
    async with answering(say):
        pass
    assert say.sentences == []


@pytest.mark.parametrize(
    ("error", "sentence"), [(SafetyRejected(), SafetyRejected.user_message), (KeyError(), APOLOGY)]
)
async def test_answering_says_one_sentence_and_swallows_the_error(
    error: Exception, sentence: str
) -> None:
    say = Said()
    async with answering(say):
        raise error
    assert say.sentences == [sentence]


async def test_answering_lets_cancellation_through() -> None:
    say = Said()
    with pytest.raises(asyncio.CancelledError):
        async with answering(say):
            raise asyncio.CancelledError
    assert say.sentences == []


def an_interaction(*, done: bool = False, kind: Kind | None = None, public: bool = False) -> Any:
    """A typed double of discord.Interaction whose response has got as far as `kind`."""
    interaction = create_autospec(discord.Interaction, instance=True)
    interaction.id = 42
    interaction.extras = {PUBLIC_DEFER: True} if public else {}
    interaction.response = create_autospec(discord.InteractionResponse, instance=True)
    interaction.response.is_done.return_value = done
    interaction.response.type = kind
    interaction.followup = create_autospec(discord.Webhook, instance=True)
    return interaction


def deferred(*, public: bool = False) -> Any:
    return an_interaction(done=True, kind=Kind.deferred_channel_message, public=public)


def assert_no_mentions(call: Any) -> None:
    assert call.kwargs["allowed_mentions"].to_dict() == discord.AllowedMentions.none().to_dict()


async def test_answering_an_interaction_replies_privately() -> None:
    interaction = an_interaction()
    async with answering(interaction):
        raise SafetyRejected
    interaction.response.send_message.assert_awaited_once_with(
        SafetyRejected.user_message, ephemeral=True, allowed_mentions=NO_MENTIONS
    )
    assert_no_mentions(interaction.response.send_message.call_args)


async def test_a_fresh_interaction_gets_a_response() -> None:
    interaction = an_interaction()
    await reply(interaction, "@everyone hi")
    interaction.response.send_message.assert_awaited_once_with(
        "@everyone hi", ephemeral=True, allowed_mentions=NO_MENTIONS
    )
    assert_no_mentions(interaction.response.send_message.call_args)
    interaction.followup.send.assert_not_awaited()


async def test_a_public_thinking_is_removed_then_told_privately() -> None:
    interaction = deferred(public=True)
    order: list[str] = []
    interaction.delete_original_response.side_effect = lambda: order.append("delete")
    interaction.followup.send.side_effect = lambda *_, **__: order.append("send")
    await reply(interaction, "oops")
    assert order == ["delete", "send"]
    interaction.followup.send.assert_awaited_once_with(
        "oops", ephemeral=True, allowed_mentions=NO_MENTIONS
    )
    assert_no_mentions(interaction.followup.send.call_args)
    interaction.edit_original_response.assert_not_awaited()


async def test_a_vanished_thinking_still_gets_the_sentence() -> None:
    interaction = deferred(public=True)
    interaction.delete_original_response.side_effect = http_error(discord.NotFound, 404, 10008)
    await reply(interaction, "oops")
    interaction.followup.send.assert_awaited_once_with(
        "oops", ephemeral=True, allowed_mentions=NO_MENTIONS
    )


@pytest.mark.parametrize(("public", "ephemeral"), [(False, True), (True, False)])
async def test_a_kept_thinking_becomes_the_sentence(public: bool, ephemeral: bool) -> None:
    interaction = deferred(public=public)
    await reply(interaction, "done", ephemeral=ephemeral)
    interaction.edit_original_response.assert_awaited_once_with(
        content="done", embed=None, attachments=[], view=None, allowed_mentions=NO_MENTIONS
    )
    assert_no_mentions(interaction.edit_original_response.call_args)
    interaction.delete_original_response.assert_not_awaited()
    interaction.followup.send.assert_not_awaited()


@pytest.mark.parametrize("kind", [Kind.channel_message, Kind.deferred_message_update])
async def test_an_answered_interaction_gets_a_followup(kind: Kind) -> None:
    interaction = an_interaction(done=True, kind=kind)
    await reply(interaction, "again")
    interaction.followup.send.assert_awaited_once_with(
        "again", ephemeral=True, allowed_mentions=NO_MENTIONS
    )
    assert_no_mentions(interaction.followup.send.call_args)
    interaction.response.send_message.assert_not_awaited()


async def test_failing_to_tell_is_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    interaction = an_interaction()
    interaction.response.send_message.side_effect = http_error(discord.HTTPException, 500, 0)
    await reply(interaction, "lost")
    assert [(r.levelno, "lost" in r.getMessage()) for r in caplog.records] == [
        (logging.WARNING, True)
    ]
