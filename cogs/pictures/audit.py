"""The audit channel: one line per picture (who, where, prompt, cost) for server admins.

Each line's message id is kept with its pictures, so that /forget-me can take the words out
again: the person's own lines are deleted, the lines of copies others made of their
pictures keep everything but the quoted prompt."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING

import discord

from bot.errors import PicassoError
from bot.formatting import clip
from bot.imaging.pipeline import ImageResult
from bot.jobs.runner import Posted
from bot.lineage import jump_url
from bot.models import ERASED
from bot.storage.job_records import JobRecord
from bot.storage.repository import AuditLine
from cogs.common.answering import NO_MENTIONS
from cogs.common.custom_ids import job_nonce

if TYPE_CHECKING:
    from cogs.common.services import Services

log = logging.getLogger(__name__)


async def audit(bot: Services, job: JobRecord, result: ImageResult, posted: Posted) -> None:
    """Post the audit line if the server set an audit channel; problems are only logged.
    Posted over REST by the channel's id, so whichever process settles the picture posts
    it (a painting worker has no gateway cache), once (a nonce from the job)."""
    channel_id = job.spec.audit_channel_id
    if channel_id is None:
        return
    channel = bot.get_partial_messageable(channel_id, guild_id=job.guild_id)
    line = (
        f"🖼️ <@{job.user_id}> in <#{posted.channel_id}> · ${result.cost_usd:.3f} · "
        f"{result.image.model} · {jump_url(job.guild_id, posted.channel_id, posted.message_id)}"
        f"\n> {clip(result.prompt, 1500)}"
    )
    try:
        message = await channel.send(
            clip(line, 2000), allowed_mentions=NO_MENTIONS, nonce=job_nonce("a", job.id)
        )
    except discord.HTTPException as error:
        log.warning("could not post to the audit channel %s: %s", channel_id, error)
        return
    try:
        if await bot.studio.audit_line_posted(job.id, message.id):
            return
    except PicassoError as error:  # the database is away: the line stays, unrecorded
        log.warning("could not record audit line %d of job %d: %r", message.id, job.id, error)
        return
    # Its words were erased between the picture and its line (/forget-me, 🗑️ Delete).
    await forget_lines(bot, [AuditLine(channel_id, message.id, copy=False)])


QUOTE = "\n> "  # where a line's prompt starts


async def forget_lines(bot: Services, lines: Iterable[AuditLine]) -> int:
    """Take forgotten words out of the audit channels: delete the lines about the
    person's own pictures, and replace the prompt a copy's line quotes with `ERASED`.
    Returns how many lines were changed; problems (a line gone, a channel closed to the
    bot) are logged, never raised."""
    done = 0
    for line in lines:
        channel = bot.get_partial_messageable(line.channel_id)
        message = channel.get_partial_message(line.message_id)
        try:
            if line.copy:
                fetched = await message.fetch()
                head, quote, _ = fetched.content.partition(QUOTE)
                if quote and fetched.content != f"{head}{QUOTE}{ERASED}":
                    await fetched.edit(
                        content=f"{head}{QUOTE}{ERASED}", allowed_mentions=NO_MENTIONS
                    )
            else:
                await message.delete()
            done += 1
        except discord.NotFound:
            log.info("audit line %d in %d was gone already", line.message_id, line.channel_id)
        except discord.HTTPException as error:
            log.warning(
                "could not take forgotten words out of audit line %d in %d: %s",
                line.message_id,
                line.channel_id,
                error,
            )
    return done
