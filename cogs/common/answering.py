"""The one error path: what people read when something goes wrong, and how it reaches them.

Domain errors carry their sentence; anything else is logged with its traceback and the
person gets an apology (`user_message`). Slash commands get it from the command tree's
handler (`bot.app.PicassoTree`); buttons, forms and replies run inside `answering(...)`.
`reply` works whether the interaction is fresh, deferred or expired. Sentences are made in
the reader's language: `answering(interaction)` and the command tree set it from the
interaction (`bot.i18n`).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Final

import discord
from discord import app_commands
from discord.ext import commands

from bot.errors import APOLOGY, PicassoError
from bot.i18n import N_, _, set_locale

log = logging.getLogger(__name__)

UNKNOWN_INTERACTION = 10062  # answered after Discord's 3-second window
CANNOT_POST = N_(
    "I'm not allowed to post pictures here — a server admin can give me Send Messages, "
    "Embed Links and Attach Files in this channel."
)
CANNOT_SEE = N_(
    "I can't see this channel — a server admin can give me View Channel and Send Messages in it."
)
CANNOT_DM = N_(
    "I can't send you direct messages — allow direct messages from this server's members, "
    "then try again."
)
# Discord's reasons for a 403, by error code; any other refusal reads as CANNOT_POST.
MISSING_ACCESS, CANNOT_MESSAGE_USER = 50001, 50007
FORBIDDEN: Final = {MISSING_ACCESS: CANNOT_SEE, CANNOT_MESSAGE_USER: CANNOT_DM}
NO_PERMISSION = N_("You don't have permission to use this command here.")
NO_MENTIONS = discord.AllowedMentions.none()


class NotAllowed(app_commands.CheckFailure):
    """A command's check refused this person; `user_message` (a msgid, translated where it
    is shown) says who may use it."""

    def __init__(self, user_message: str) -> None:
        super().__init__(user_message)
        self.user_message = user_message


PUBLIC_DEFER = "picasso.public_defer"


def read_in_locale_of(interaction: discord.Interaction) -> None:
    """Make the rest of this task's sentences in the language of the person interacting."""
    set_locale(str(interaction.locale))


async def defer_public(interaction: discord.Interaction) -> None:
    """Show a public "thinking…" at once; if the work fails, `reply` answers privately."""
    interaction.extras[PUBLIC_DEFER] = True
    await interaction.response.defer(thinking=True)


async def defer_private(interaction: discord.Interaction) -> None:
    """Show a private "thinking…" at once, unless the interaction is already answered."""
    if not interaction.response.is_done():
        await interaction.response.defer(ephemeral=True, thinking=True)


async def reply(interaction: discord.Interaction, text: str, *, ephemeral: bool = True) -> None:
    """Show `text` as the answer to `interaction`, however far it has got.

    Fresh → an (ephemeral) response; deferred → the loading message becomes `text`, except
    that a public "thinking…" (see `defer_public`) is removed and `text` is told privately;
    already answered → an (ephemeral) follow-up. Discord errors are logged, never raised.
    """
    try:
        if not interaction.response.is_done():
            await interaction.response.send_message(
                text, ephemeral=ephemeral, allowed_mentions=NO_MENTIONS
            )
        elif interaction.response.type is discord.InteractionResponseType.deferred_channel_message:
            if ephemeral and interaction.extras.get(PUBLIC_DEFER):
                try:
                    await interaction.delete_original_response()
                except discord.NotFound:  # someone removed it already; the sentence still goes
                    log.info("interaction %s: the loading message was gone", interaction.id)
                await interaction.followup.send(text, ephemeral=True, allowed_mentions=NO_MENTIONS)
                return
            await interaction.edit_original_response(
                content=text, embed=None, attachments=[], view=None, allowed_mentions=NO_MENTIONS
            )
        else:
            await interaction.followup.send(text, ephemeral=ephemeral, allowed_mentions=NO_MENTIONS)
    except discord.HTTPException as error:
        log.warning("could not tell the user %r: %s", text, error)


def user_message(error: BaseException) -> str:
    """The sentence a user reads for `error` (logging what they don't see)."""
    original = error
    while isinstance(original, app_commands.CommandInvokeError | commands.CommandInvokeError):
        original = original.original
    if isinstance(original, PicassoError):
        return original.user_message
    if isinstance(original, NotAllowed):
        return _(original.user_message)
    if isinstance(original, app_commands.CommandOnCooldown):
        return _("Slow down — try again in {seconds} s.").format(
            seconds=f"{original.retry_after:.0f}"
        )
    if isinstance(original, app_commands.MissingPermissions | app_commands.CheckFailure):
        return _(NO_PERMISSION)
    if isinstance(original, discord.Forbidden):
        log.warning("Discord refused a post: %s", original)
        return _(forbidden(original))
    if isinstance(original, discord.NotFound) and original.code == UNKNOWN_INTERACTION:
        # Nothing can reach the person any more; what matters is why the bot was so slow.
        log.warning("an interaction expired before the bot answered it (event loop blocked?)")
        return _(APOLOGY)
    log.error("unexpected error", exc_info=original)
    return _(APOLOGY)


def forbidden(error: discord.Forbidden) -> str:
    """The msgid for what Discord refused: a channel the bot can't see, a person it can't
    message, or (anything else) a channel it may not post in."""
    return FORBIDDEN.get(error.code, CANNOT_POST)


Say = Callable[[str], Awaitable[None]]


@asynccontextmanager
async def answering(to: discord.Interaction | Say) -> AsyncIterator[None]:
    """Run the block; if it raises, the person reads the error's one sentence.

    `to` is the interaction being answered (see `reply`), or how to tell the person (a
    reply to their message). The details go to the log (`user_message`). From here on,
    sentences are made in the language of the person interacting.
    """
    if isinstance(to, discord.Interaction):
        read_in_locale_of(to)
    try:
        yield
    except Exception as error:
        sentence = user_message(error)
        if isinstance(to, discord.Interaction):
            await reply(to, sentence)
        else:
            await to(sentence)
