"""/imagine: defer at once, run the pipeline with live progress, post the picture."""

from __future__ import annotations

import dataclasses
import io
import logging
from typing import TYPE_CHECKING, Literal

import discord
from discord import app_commands
from discord.ext import commands

from bot.errors import UploadFailed
from bot.imaging.files import ImageFile, fit_to_limit
from bot.imaging.pipeline import (
    MAX_DESCRIPTION_CHARS,
    ImageResult,
    Quality,
    Size,
    Stage,
    check_description,
)
from bot.imaging.prompts import Style
from bot.policy import default_request
from bot.studio import Posted
from cogs.audit import audit
from cogs.context import who_from_interaction
from cogs.errors import NO_MENTIONS
from cogs.render import result_embed, stage_line

if TYPE_CHECKING:
    from bot.app import Picasso

log = logging.getLogger(__name__)

SizeChoice = Literal["square", "portrait", "landscape"]
QualityChoice = Literal["auto", "low", "medium", "high"]
StyleChoice = Literal[
    "none", "photo", "illustration", "anime", "oil painting", "watercolor", "pixel art", "3D render"
]
STYLES = {style.label: style for style in Style}
REQUEST_ENTITY_TOO_LARGE = 40005


class InteractionProgress:
    """Shows pipeline progress by editing the deferred response; display errors are logged."""

    def __init__(self, interaction: discord.Interaction) -> None:
        self._interaction = interaction

    async def stage(self, stage: Stage, position: int | None = None) -> None:
        await self._edit(content=stage_line(stage, position))

    async def preview(self, png: bytes, index: int) -> None:
        preview = await fit_to_limit(png, self._interaction.filesize_limit, stem=f"preview-{index}")
        await self._edit(
            content=f"🎨 Painting your picture… (preview {index + 1})",
            attachments=[discord.File(io.BytesIO(preview.data), preview.filename)],
        )

    async def _edit(self, **fields: object) -> None:
        try:
            await self._interaction.edit_original_response(allowed_mentions=NO_MENTIONS, **fields)  # type: ignore[arg-type]
        except discord.HTTPException as error:
            log.warning("progress update failed: %s", error)


def with_note(result: ImageResult, note: str | None) -> ImageResult:
    """`result` with the server's note (e.g. "quality limited") added to its own."""
    if not note:
        return result
    return dataclasses.replace(result, note=f"{result.note} {note}" if result.note else note)


def posted(message: discord.Message) -> Posted:
    """Where a result message landed, for the lineage record."""
    url = message.attachments[0].url if message.attachments else None
    return Posted(channel_id=message.channel.id, message_id=message.id, image_url=url)


def _too_large(error: discord.HTTPException) -> bool:
    return error.status == 413 or error.code == REQUEST_ENTITY_TOO_LARGE


async def post_result(interaction: discord.Interaction, result: ImageResult) -> discord.Message:
    """Replace the loading message with the picture; retry once smaller if Discord refuses it."""
    limit = interaction.filesize_limit
    image = await fit_to_limit(result.image.data, limit)
    for attempt in range(2):
        try:
            return await _send(interaction, result, image)
        except discord.HTTPException as error:
            if not _too_large(error) or attempt == 1:
                raise UploadFailed(detail=str(error)) from error
            log.warning("Discord refused a %d-byte upload; retrying smaller", len(image.data))
            image = await fit_to_limit(result.image.data, len(image.data) // 2)
    raise AssertionError("unreachable")


async def _send(
    interaction: discord.Interaction, result: ImageResult, image: ImageFile
) -> discord.Message:
    return await interaction.edit_original_response(
        content=None,
        embed=result_embed(result, interaction.user, image.filename),
        attachments=[discord.File(io.BytesIO(image.data), image.filename)],
        allowed_mentions=NO_MENTIONS,
    )


class Imagine(commands.Cog):
    """The /imagine command."""

    def __init__(self, bot: Picasso) -> None:
        self.bot = bot

    @app_commands.command(name="imagine", description="Turn a few words into a finished picture")
    @app_commands.describe(
        description="What should the picture show?",
        size="Shape of the picture (default: the server's, usually square)",
        quality="Higher quality takes longer and costs more (default: the server's)",
        style="A look to paint it in (default: none)",
        expand="Let the bot write a detailed prompt from your words (default: the server's)",
    )
    async def imagine(
        self,
        interaction: discord.Interaction,
        description: app_commands.Range[str, 1, MAX_DESCRIPTION_CHARS],
        size: SizeChoice | None = None,
        quality: QualityChoice | None = None,
        style: StyleChoice | None = None,
        expand: bool | None = None,
    ) -> None:
        description = description.strip()
        check_description(description)
        await interaction.response.defer(thinking=True)
        studio = self.bot.studio
        who = who_from_interaction(interaction)
        settings = await studio.store.guild_settings(who.guild_id)
        request = default_request(
            settings,
            description,
            size=Size[size.upper()] if size else None,
            quality=Quality(quality) if quality else None,
            style=STYLES[style] if style else None,
            expand=expand,
        )
        progress = InteractionProgress(interaction)
        async with studio.job(who, request, settings=settings, progress=progress) as job:
            result = await studio.pipeline.run(job.request, progress, job.options)
            message = await post_result(interaction, with_note(result, job.note))
            await job.done(result, posted(message))
        await audit(self.bot, job, result, message)


async def setup(bot: Picasso) -> None:
    await bot.add_cog(Imagine(bot))
