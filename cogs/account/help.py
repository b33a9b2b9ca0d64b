"""/help, and the one welcome the bot posts when it joins a server.

The welcome goes to the server's system channel, and only where the bot may post; it says
what the bot does, how to make and refine a picture, and who sets the limits.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.i18n import _
from cogs.account.render import WELCOME, help_embed
from cogs.common.answering import NO_MENTIONS
from cogs.common.context import who_from_interaction

if TYPE_CHECKING:
    from cogs.common.services import Services

log = logging.getLogger(__name__)


def greeting_channel(guild: discord.Guild) -> discord.TextChannel | None:
    """The server's system channel, if the bot may post there."""
    channel = guild.system_channel
    if channel is None or not channel.permissions_for(guild.me).send_messages:
        return None
    return channel


class Help(commands.Cog):
    """/help and the welcome on joining a server."""

    def __init__(self, bot: Services) -> None:
        self.bot = bot

    @app_commands.command(name="help", description="What Picasso does, and your limits here")
    async def help(self, interaction: discord.Interaction) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        standing = await self.bot.studio.standing(who_from_interaction(interaction))
        await interaction.edit_original_response(
            embed=help_embed(standing), allowed_mentions=NO_MENTIONS
        )

    @commands.Cog.listener()
    async def on_guild_join(self, guild: discord.Guild) -> None:
        """Say hello once, where the server's members will see it (in the server's language)."""
        channel = greeting_channel(guild)
        if channel is None:
            log.info("joined guild %s: no system channel I may post in, no welcome", guild.id)
            return
        try:
            await channel.send(_(WELCOME), allowed_mentions=NO_MENTIONS)
        except discord.HTTPException as error:
            log.warning("could not welcome guild %s in %s: %s", guild.id, channel.id, error)
