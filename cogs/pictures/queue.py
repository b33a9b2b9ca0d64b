"""/queue: the pictures on their way, privately — the asker's own, each still waiting with
its ❌ Cancel; for server admins, the whole server's line with who asked."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.i18n import _
from cogs.common.answering import NO_MENTIONS
from cogs.common.context import who_from_interaction
from cogs.pictures.buttons import cancels_view
from cogs.pictures.render import NOTHING_HERE, NOTHING_OF_YOURS, QUEUE_SHOWN, queue_embed

if TYPE_CHECKING:
    from cogs.common.services import Services


class Queue(commands.Cog):
    """The /queue command."""

    def __init__(self, bot: Services) -> None:
        self.bot = bot

    @app_commands.command(
        name="queue",
        description="Your pictures waiting and being made, with Cancel (admins: the server's)",
    )
    async def queue(self, interaction: discord.Interaction) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        who = who_from_interaction(interaction)
        everyone = who.is_admin  # only ever true in a server
        entries = await self.bot.jobs.queue(who.guild_id, None if everyone else who.user_id)
        if not entries:
            empty = NOTHING_HERE if everyone else NOTHING_OF_YOURS
            await interaction.edit_original_response(content=_(empty), allowed_mentions=NO_MENTIONS)
            return
        shown = entries[:QUEUE_SHOWN]
        yours = [e.job_id for e in shown if e.waiting and e.user_id == who.user_id]
        await interaction.edit_original_response(
            embed=queue_embed(entries, everyone=everyone),
            view=cancels_view(yours) if yours else None,
            allowed_mentions=NO_MENTIONS,
        )
