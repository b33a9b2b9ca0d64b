"""/imagine-admin usage: the last 30 days of a server (or of the DMs) as a chart, privately."""

from __future__ import annotations

import io
from collections.abc import Iterable
from typing import Final

import discord

from bot.charts import spend_png
from bot.i18n import N_, _
from bot.studio import Studio
from cogs.admin import render as text
from cogs.common.answering import NO_MENTIONS, defer_private

CHART_FILE: Final = "picasso-usage.png"
DMS_PLACE: Final = N_("direct messages")


async def show_spend(interaction: discord.Interaction, studio: Studio) -> None:
    """Answer with the chart of this place's last 30 days and one line that sums them up."""
    await defer_private(interaction)
    report = await studio.spend_report(interaction.guild_id)
    place = where(interaction)
    labels = names(interaction, (user for user, _ in report.top))
    chart = await spend_png(report, place=place, labels=labels)
    await interaction.edit_original_response(
        content=text.spend_summary(report, place),
        attachments=[discord.File(io.BytesIO(chart), CHART_FILE)],
        allowed_mentions=NO_MENTIONS,
    )


def where(interaction: discord.Interaction) -> str:
    """The place the chart is about, as its title names it."""
    if interaction.guild_id is None:
        return _(DMS_PLACE)
    guild = interaction.guild
    if guild is not None:
        return guild.name
    return _("server {id}").format(id=interaction.guild_id)


def names(interaction: discord.Interaction, user_ids: Iterable[int]) -> dict[int, str]:
    """The display names the cache already has (no request to Discord); the chart shows the
    id of anyone else."""
    found: dict[int, str] = {}
    for user_id in user_ids:
        if user_id == interaction.user.id:
            found[user_id] = interaction.user.display_name
            continue
        guild = interaction.guild
        known = guild.get_member(user_id) if guild else interaction.client.get_user(user_id)
        if known is not None:
            found[user_id] = known.display_name
    return found
