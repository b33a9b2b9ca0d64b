"""Showing progress and posting results, on an interaction's message or a plain reply.

A `Surface` is the one message a request is shown on: the deferred response of an
interaction, or a bot reply in a channel (sent on first use, edited afterwards). Progress,
the finished picture (with its buttons) and failure sentences all go through it, so
/imagine, the buttons, the Refine modal and reply-to-refine share one way of posting.
"""

from __future__ import annotations

import dataclasses
import io
import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Final, Protocol

import discord

from bot import lineage
from bot.errors import PicassoError, UploadFailed, WaitedTooLong
from bot.imaging.files import ImageFile, fit_to_limit
from bot.imaging.pipeline import ImageResult, Stage
from bot.studio import Job, Posted
from cogs.audit import audit
from cogs.components import result_view
from cogs.errors import NO_MENTIONS
from cogs.render import Origin, result_embed, stage_line

if TYPE_CHECKING:
    from bot.app import Picasso

log = logging.getLogger(__name__)

REQUEST_ENTITY_TOO_LARGE: Final = 40005
DEFAULT_UPLOAD_LIMIT: Final = 10 * 1024 * 1024  # unboosted servers and DMs
# An interaction can be answered for 15 minutes. A picture that has not started painting
# this long after the request (it waited in line) could not be shown: it is not started.
START_WITHIN: Final = timedelta(minutes=10)


class Surface(Protocol):
    """The one message a request is shown on."""

    @property
    def filesize_limit(self) -> int:
        """Largest file this message may carry."""
        ...

    @property
    def start_by(self) -> datetime | None:
        """Work not started by then could no longer be shown here (None: no deadline)."""
        ...

    async def show(self, **fields: Any) -> discord.Message:
        """Make the message show `fields` (content, embed, attachments, view); no pings."""
        ...


class InteractionSurface:
    """The deferred response of an interaction (edited in place)."""

    def __init__(self, interaction: discord.Interaction) -> None:
        self.interaction = interaction

    @property
    def filesize_limit(self) -> int:
        return self.interaction.filesize_limit

    @property
    def start_by(self) -> datetime | None:
        return self.interaction.created_at + START_WITHIN

    async def show(self, **fields: Any) -> discord.Message:
        return await self.interaction.edit_original_response(allowed_mentions=NO_MENTIONS, **fields)


class ReplySurface:
    """A bot message replying to `to`: the first `show` sends it, later ones edit it."""

    def __init__(self, to: discord.Message) -> None:
        self._to = to
        self.message: discord.Message | None = None

    @property
    def start_by(self) -> datetime | None:
        return None  # a reply of the bot's own can be edited at any time

    @property
    def filesize_limit(self) -> int:
        guild = self._to.guild
        return guild.filesize_limit if guild is not None else DEFAULT_UPLOAD_LIMIT

    async def show(self, **fields: Any) -> discord.Message:
        if self.message is not None:
            self.message = await self.message.edit(allowed_mentions=NO_MENTIONS, **fields)
            return self.message
        files = fields.pop("attachments", None) or []
        given = {name: value for name, value in fields.items() if value is not None}
        self.message = await self._to.channel.send(
            files=files,
            reference=self._to.to_reference(fail_if_not_exists=False),
            mention_author=False,
            allowed_mentions=NO_MENTIONS,
            **given,
        )
        return self.message


class SurfaceProgress:
    """Pipeline progress shown on a surface; display problems are logged, never raised."""

    def __init__(self, surface: Surface, *, refining: bool = False) -> None:
        self._surface = surface
        self._refining = refining

    async def stage(self, stage: Stage, position: int | None = None) -> None:
        """Show the stage; raises `WaitedTooLong` if work would start past the deadline."""
        start_by = self._surface.start_by
        if stage is not Stage.QUEUED and start_by is not None and discord.utils.utcnow() > start_by:
            raise WaitedTooLong()
        await self._show(content=stage_line(stage, position, refining=self._refining))

    async def preview(self, png: bytes, index: int) -> None:
        limit = self._surface.filesize_limit
        try:
            preview = await fit_to_limit(png, limit, stem=f"preview-{index}")
        except PicassoError as error:
            log.warning("skipped a preview that can't be shown: %r", error)
            return
        await self._show(
            content=f"🎨 Painting your picture… (preview {index + 1})",
            attachments=[discord.File(io.BytesIO(preview.data), preview.filename)],
        )

    async def _show(self, **fields: Any) -> None:
        try:
            await self._surface.show(**fields)
        except discord.HTTPException as error:
            log.warning("progress update failed: %s", error)


async def say(surface: Surface, text: str) -> None:
    """Turn the surface into one sentence (no picture, no buttons); errors are logged."""
    try:
        await surface.show(content=text, embed=None, attachments=[], view=None)
    except discord.HTTPException as error:
        log.warning("could not tell the user %r: %s", text, error)


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


async def post_result(
    surface: Surface,
    result: ImageResult,
    requester: discord.abc.User,
    origin: Origin | None = None,
) -> discord.Message:
    """Show the picture on `surface`; retry once smaller if Discord refuses the upload.

    Raises `UploadFailed` if Discord refuses the picture, `discord.Forbidden` if the bot may
    not post here at all.
    """
    image = await fit_to_limit(result.image.data, surface.filesize_limit)
    for attempt in range(2):
        try:
            return await _send(surface, result, requester, origin, image)
        except discord.Forbidden:
            raise  # not the upload: the bot may not post here (`cogs.errors` says so)
        except discord.HTTPException as error:
            if not _too_large(error) or attempt == 1:
                raise UploadFailed(detail=str(error)) from error
            log.warning("Discord refused a %d-byte upload; retrying smaller", len(image.data))
            image = await fit_to_limit(result.image.data, len(image.data) // 2)
    raise AssertionError("unreachable")


async def _send(
    surface: Surface,
    result: ImageResult,
    requester: discord.abc.User,
    origin: Origin | None,
    image: ImageFile,
) -> discord.Message:
    return await surface.show(
        content=None,
        embed=result_embed(result, requester, image.filename, origin),
        attachments=[discord.File(io.BytesIO(image.data), image.filename)],
    )


async def publish(
    bot: Picasso,
    job: Job,
    result: ImageResult,
    surface: Surface,
    requester: discord.abc.User,
    *,
    origin: Origin | None = None,
    parent_id: int | None = None,
    instruction: str | None = None,
) -> discord.Message:
    """Post a finished picture, record its lineage and cost, then add its buttons.

    The buttons carry the picture's id, known only once it is recorded, hence the edit.
    """
    message = await post_result(surface, with_note(result, job.note), requester, origin)
    picture_id = await job.done(
        result,
        posted(message),
        kind=origin.kind if origin else lineage.IMAGINE,
        parent_id=parent_id,
        instruction=instruction,
    )
    try:
        message = await surface.show(view=result_view(picture_id))
    except discord.HTTPException as error:
        log.warning("could not add the buttons to picture %d: %s", picture_id, error)
    await audit(bot, job, result, message)
    return message
