"""The audit channel: one line per picture (who, where, prompt, cost) for server admins."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import discord

from bot.formatting import clip
from bot.imaging.pipeline import ImageResult
from bot.jobs.runner import Posted
from bot.lineage import jump_url
from bot.storage.job_records import JobRecord
from cogs.common.answering import NO_MENTIONS

if TYPE_CHECKING:
    from bot.app import Picasso

log = logging.getLogger(__name__)


async def audit(bot: Picasso, job: JobRecord, result: ImageResult, posted: Posted) -> None:
    """Post the audit line if the server set an audit channel; problems are only logged."""
    channel_id = job.spec.audit_channel_id
    if channel_id is None:
        return
    channel = bot.get_channel(channel_id)
    if not isinstance(channel, discord.abc.Messageable):
        log.warning("audit channel %s of guild %s is not reachable", channel_id, job.guild_id)
        return
    line = (
        f"🖼️ <@{job.user_id}> in <#{posted.channel_id}> · ${result.cost_usd:.3f} · "
        f"{result.image.model} · {jump_url(job.guild_id, posted.channel_id, posted.message_id)}"
        f"\n> {clip(result.prompt, 1500)}"
    )
    try:
        await channel.send(clip(line, 2000), allowed_mentions=NO_MENTIONS)
    except discord.HTTPException as error:
        log.warning("could not post to the audit channel %s: %s", channel_id, error)
