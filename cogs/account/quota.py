"""/quota: where a person stands — pictures and money left, cooldown, pictures on the way."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from cogs.account.render import quota_embed
from cogs.common.answering import NO_MENTIONS
from cogs.common.context import who_from_interaction

if TYPE_CHECKING:
    from cogs.common.services import Services


class Quota(commands.Cog):
    """The /quota command."""

    def __init__(self, bot: Services) -> None:
        self.bot = bot

    @app_commands.command(
        name="quota",
        description="Your pictures and money left today, cooldown, pictures on the way",
    )
    async def quota(self, interaction: discord.Interaction) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        standing = await self.bot.studio.standing(who_from_interaction(interaction))
        await interaction.edit_original_response(
            embed=quota_embed(standing), allowed_mentions=NO_MENTIONS
        )
