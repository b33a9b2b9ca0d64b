"""What the buttons under a picture do — Reroll, Variations, Prompt, Delete — and ❌ Cancel.

Each press defers first, checks who may (the server's `remix` setting), then submits a job
made from the picture (`bot.jobs`), which records the new picture with its parent; every
failure ends in one sentence (`answering`). Refine opens a form instead (`cogs.pictures.refine`).
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Final

import discord

from bot import lineage
from bot.errors import PicassoError
from bot.i18n import _
from bot.lineage import may_delete
from bot.models import GuildSettings, PictureRecord, Who
from bot.policy import check_access
from bot.storage.job_records import JobKind, JobRecord
from bot.studio import Order, Studio
from cogs.common.answering import CANNOT_POST, NO_MENTIONS, answering, defer_public, reply
from cogs.common.context import may_post_pictures, picasso, who_from_interaction
from cogs.common.custom_ids import PREFIX
from cogs.pictures.orders import (
    GONE,
    from_picture,
    interaction_delivery,
    pressed_picture,
    prompt_text,
    remixable,
    requester,
)
from cogs.pictures.render import cancelled_line, picture_stem, refusal_line, set_number

log = logging.getLogger(__name__)

VARIATIONS: Final = 3


async def reroll(interaction: discord.Interaction, picture_id: int) -> None:
    """🔁 Reroll: paint the picture's prompt again, as a new picture."""
    await defer_public(interaction)
    async with answering(interaction):
        picture, who, settings = await remixable(interaction, picture_id)
        order = Order(
            JobKind.REROLL,
            who,
            delivery=interaction_delivery(interaction, public=True),
            prompt=picture.prompt,
            **from_picture(picture, interaction.message),
            **requester(interaction.user),
        )
        await picasso(interaction).jobs.submit(order, settings)


async def vary(interaction: discord.Interaction, picture_id: int) -> None:
    """🎲 Variations: new takes on the picture's description."""
    await defer_public(interaction)
    async with answering(interaction):
        picture, who, settings = await remixable(interaction, picture_id)
        await _vary(interaction, who, picture, settings)


async def _vary(
    interaction: discord.Interaction, who: Who, picture: PictureRecord, settings: GuildSettings
) -> None:
    """Takes on `picture`'s description, each its own job (own quota, cost and lineage),
    each posted as a reply to the picture once painted; the press's message sums them up."""
    source = interaction.message
    if source is None:
        raise PicassoError(GONE)
    if not may_post_pictures(interaction):  # the takes are channel messages
        raise PicassoError(CANNOT_POST)
    check_access(settings, who, picture.description)
    delivery = dataclasses.replace(
        interaction_delivery(interaction, public=True),
        channel_id=source.channel.id,
        reply_to_id=source.id,
    )
    bot = picasso(interaction)
    admitted: list[JobRecord] = []
    refused: dict[str, list[str]] = {}
    for take in range(VARIATIONS):
        order = Order(
            JobKind.VARIATION,
            who,
            delivery=delivery,
            batch=str(interaction.id),
            take=take,
            takes=VARIATIONS,
            **from_picture(picture, source),
            **requester(interaction.user),
        )
        try:
            admitted.append(await bot.jobs.submit(order, settings))
        except PicassoError as error:
            refused.setdefault(error.user_message, []).append(str(take + 1))
    if not admitted:
        raise PicassoError(next(iter(refused)))
    await bot.publisher.variations(admitted[0], now=True)
    if refused:
        await interaction.followup.send(
            refusal_line(refused), ephemeral=True, allowed_mentions=NO_MENTIONS
        )


async def show_prompt(interaction: discord.Interaction, picture_id: int) -> None:
    """📝 Prompt: the description and the full prompt, privately."""
    await interaction.response.defer(thinking=True, ephemeral=True)
    async with answering(interaction):
        await reply(interaction, prompt_text(await pressed_picture(interaction, picture_id)))


async def delete(interaction: discord.Interaction, picture_id: int) -> None:
    """🗑️ Delete: the requester's or an admin's; the lineage row stays, its message goes."""
    await interaction.response.defer(thinking=True, ephemeral=True)
    async with answering(interaction):
        picture = await pressed_picture(interaction, picture_id)
        who = who_from_interaction(interaction)
        if not may_delete(who, picture):
            raise PicassoError(lineage.DELETE_REFUSAL)
        studio = picasso(interaction).studio
        if interaction.message is not None:
            try:
                await _take_out(interaction.message, picture, studio)
            except discord.NotFound:
                log.info("picture %d's message was already gone", picture.id)
        await studio.erase_picture(picture.id)
        log.info("user %d deleted picture %d", who.user_id, picture.id)
        await reply(interaction, _("🗑️ Deleted the picture."))


async def _take_out(message: discord.Message, picture: PictureRecord, studio: Studio) -> None:
    """Take `picture` out of its message: the whole message for a picture alone (or the
    last of a set), else just its picture, its file and its row of buttons."""
    others = [p for p in await studio.pictures_by_message(message.id) if p.id != picture.id]
    if picture.number is None or not others:
        await message.delete()
        return
    stem = picture_stem(picture.number)
    await message.edit(
        embeds=[e for e in message.embeds if e.description != set_number(picture.number)],
        attachments=[a for a in message.attachments if a.filename.rsplit(".", 1)[0] != stem],
        view=_without_buttons_of(message, picture.id),
        allowed_mentions=NO_MENTIONS,
    )


def _without_buttons_of(message: discord.Message, picture_id: int) -> discord.ui.View:
    """The message's buttons, less those of picture `picture_id` (its row)."""
    view = discord.ui.View.from_message(message, timeout=None)
    for item in list(view.children):
        custom_id = getattr(item, "custom_id", None) or ""
        if custom_id.startswith(f"{PREFIX}:") and custom_id.endswith(f":{picture_id}"):
            view.remove_item(item)
    return view


async def cancel(interaction: discord.Interaction, job_id: int) -> None:
    """❌ Cancel: the requester's waiting job ends (its message says so); anyone else is
    told privately that they can't. Pressed in /queue's private list, the press is answered
    too: the job's own message may be in another channel, or out of sight."""
    await interaction.response.defer()
    async with answering(interaction):
        await picasso(interaction).jobs.cancel(job_id, interaction.user.id)
        if _in_a_private_list(interaction):
            await reply(interaction, cancelled_line(job_id))


def _in_a_private_list(interaction: discord.Interaction) -> bool:
    """Whether the press came from /queue's list: a job's own message is never private."""
    message = interaction.message
    return message is not None and message.flags.ephemeral
