"""/imagine: defer at once, then hand the request over as a job (shown on the response), or
show its prompt and cost privately first (`cogs.pictures.preview`)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.models import MAX_COUNT, MAX_DESCRIPTION_CHARS, Style, check_description
from bot.policy import default_request
from bot.storage.job_records import JobKind
from bot.studio import Order
from cogs.common.answering import defer_private, defer_public
from cogs.common.choices import QUALITIES, SIZES, STYLES, chosen_quality, chosen_size
from cogs.common.context import who_from_interaction
from cogs.pictures.orders import interaction_delivery, requester, upload_urls
from cogs.pictures.preview import Previews

if TYPE_CHECKING:
    from cogs.common.services import Services

log = logging.getLogger(__name__)


class Imagine(commands.Cog):
    """The /imagine command."""

    def __init__(self, bot: Services, previews: Previews) -> None:
        self.bot = bot
        self.previews = previews

    @app_commands.command(name="imagine", description="Turn a few words into a finished picture")
    @app_commands.describe(
        description="What should the picture show?",
        size="Shape of the picture (default: the server's, usually square)",
        quality="Higher quality takes longer and costs more (default: the server's)",
        style="A look to paint it in (default: none)",
        expand="Let the bot write a detailed prompt from your words (default: the server's)",
        image="A picture of yours to start from: the description says what to make of it",
        preview="Show the prompt and its cost only to you before painting (default: the server's)",
        count=f"How many pictures to make, posted together (1–{MAX_COUNT}; default: 1)",
    )
    @app_commands.choices(size=SIZES, quality=QUALITIES, style=STYLES)
    async def imagine(
        self,
        interaction: discord.Interaction,
        description: app_commands.Range[str, 1, MAX_DESCRIPTION_CHARS],
        size: app_commands.Choice[str] | None = None,
        quality: app_commands.Choice[str] | None = None,
        style: app_commands.Choice[str] | None = None,
        expand: bool | None = None,
        image: discord.Attachment | None = None,
        preview: bool | None = None,
        count: app_commands.Range[int, 1, MAX_COUNT] | None = None,
    ) -> None:
        description = description.strip()
        check_description(description)
        uploads = upload_urls([image] if image else [])
        if preview and not uploads:  # a preview is of words: with a picture, it is painted
            await defer_private(interaction)
        else:
            await defer_public(interaction)
        who = who_from_interaction(interaction)
        settings = await self.bot.studio.settings_for(who.guild_id)
        request = default_request(
            settings,
            description,
            size=chosen_size(size),
            quality=chosen_quality(quality),
            style=Style.from_label(style.value) if style else None,
            expand=expand,
            count=count,
        )
        if (settings.preview if preview is None else preview) and not uploads:
            await self.previews.show(interaction, who, request, settings)
            return
        order = Order(
            JobKind.IMAGINE,
            who,
            request,
            interaction_delivery(interaction, public=True),
            uploads=uploads,
            **requester(interaction.user),
        )
        await self.bot.jobs.submit(order, settings)
