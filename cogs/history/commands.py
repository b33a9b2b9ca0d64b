"""/history: your recent pictures (paged), or the chain a picture came from.

Also a message context menu, "Picture history", for the chain behind a picture.
Everything here is ephemeral: it is for the person asking.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Final

import discord
from discord import app_commands
from discord.ext import commands

from bot.errors import PicassoError
from bot.i18n import N_
from bot.lineage import parse_picture_ref
from bot.models import PictureRecord
from cogs.common.answering import NO_MENTIONS
from cogs.history.pages import show_page
from cogs.history.render import chain_embed

if TYPE_CHECKING:
    from cogs.common.services import Services

log = logging.getLogger(__name__)

NOT_FOUND: Final = N_("I can't find that picture here — give its message link or its id.")
NOT_A_PICTURE: Final = N_("That message isn't one of my pictures.")


class History(commands.Cog):
    """/history and the "Picture history" context menu."""

    def __init__(self, bot: Services) -> None:
        self.bot = bot
        self.menu = app_commands.ContextMenu(name="Picture history", callback=self.chain_menu)

    async def cog_load(self) -> None:
        self.bot.tree.add_command(self.menu)

    async def cog_unload(self) -> None:
        self.bot.tree.remove_command(self.menu.name, type=self.menu.type)

    @app_commands.command(
        name="history", description="Your recent pictures, or the chain one picture came from"
    )
    @app_commands.describe(picture="A picture's message link or id: show the chain it came from")
    async def history(
        self,
        interaction: discord.Interaction,
        picture: app_commands.Range[str, 1, 200] | None = None,
    ) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        if picture is None:
            await show_page(interaction, interaction.user.id, 0)
            return
        ref = parse_picture_ref(picture)
        found = await self._find(ref.kind, ref.id) if ref else None
        if found is None or not _may_see(found, interaction):
            raise PicassoError(NOT_FOUND)
        await self._show_chain(interaction, found)

    async def chain_menu(self, interaction: discord.Interaction, message: discord.Message) -> None:
        """The context menu: the chain behind the message's picture."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        found = await self.bot.studio.picture_by_message(message.id)
        if found is None:
            raise PicassoError(NOT_A_PICTURE)
        await self._show_chain(interaction, found)

    async def _find(self, kind: str, number: int) -> PictureRecord | None:
        studio = self.bot.studio
        found = await studio.picture_by_message(number)
        if found is None and kind == "number":
            found = await studio.picture(number)
        return found

    async def _show_chain(self, interaction: discord.Interaction, picture: PictureRecord) -> None:
        chain = await self.bot.studio.ancestry(picture.id)
        await interaction.edit_original_response(
            content=None, embed=chain_embed(chain), allowed_mentions=NO_MENTIONS
        )


def _may_see(picture: PictureRecord, interaction: discord.Interaction) -> bool:
    """Your own pictures, and in a server those posted where you can read; in direct
    messages, only your own."""
    if picture.requester_id == interaction.user.id:
        return picture.guild_id == interaction.guild_id
    if interaction.guild is None or picture.guild_id != interaction.guild_id:
        return False
    channel = interaction.guild.get_channel_or_thread(picture.channel_id)
    member = interaction.user
    return (
        channel is not None
        and isinstance(member, discord.Member)
        and channel.permissions_for(member).read_message_history
    )
