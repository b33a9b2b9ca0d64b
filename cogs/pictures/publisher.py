"""How a job shows itself in Discord: the `Publisher` the runner posts through.

A job is shown on one message: its interaction's original response (edited through the
interaction's webhook token, so it works after a restart too), or the bot's own reply in a
channel. Progress goes through the one coalescing `Reporter` (one edit per message per
~2 s, none when nothing changed); the finished picture goes out in one message with its
buttons; a failure becomes one sentence (told privately after a public "thinking…").
"""

from __future__ import annotations

import dataclasses
import io
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Final

import discord

from bot import lineage
from bot.errors import PicassoError, UploadFailed
from bot.i18n import _
from bot.imaging.files import ImageFile, fit_to_limit
from bot.imaging.pipeline import ImageResult
from bot.jobs.progress import Reporter
from bot.jobs.runner import Posted, Status
from bot.models import Stage
from bot.storage.job_records import JobKind, JobRecord
from cogs.common.answering import NO_MENTIONS, forbidden
from cogs.common.custom_ids import job_nonce
from cogs.pictures.audit import audit
from cogs.pictures.buttons import cancel_view, result_view
from cogs.pictures.render import (
    Origin,
    picture_stem,
    result_embed,
    set_embeds,
    status_line,
    variations_summary,
)

if TYPE_CHECKING:
    from cogs.common.services import Services

log = logging.getLogger(__name__)

REQUEST_ENTITY_TOO_LARGE: Final = 40005
ORIGINAL: Final = "@original"


async def _edit_original(webhook: discord.Webhook, **fields: Any) -> discord.WebhookMessage:
    """Edit an interaction's original response ("@original" stands where an id would)."""
    return await webhook.edit_message(ORIGINAL, allowed_mentions=NO_MENTIONS, **fields)  # type: ignore[call-overload]


def _too_large(error: discord.HTTPException) -> bool:
    return error.status == 413 or error.code == REQUEST_ENTITY_TOO_LARGE


class NowhereToShow(PicassoError):
    """The job's message can no longer be reached (its interaction token expired)."""


class DiscordPublisher:
    """Shows jobs on Discord for the runner."""

    def __init__(self, bot: Services, reporter: Reporter) -> None:
        self.bot = bot
        self.reporter = reporter

    # --- where a job is shown ----------------------------------------------------------------

    def _webhook(self, job: JobRecord) -> discord.Webhook | None:
        token = job.delivery.token
        if token is None or not job.delivery.token_alive(self.bot.studio.now()):
            return None
        payload: Any = {"id": self.bot.application_id, "type": 3, "token": token.get()}
        return discord.Webhook.from_state(payload, self.bot._connection)

    async def _show(self, job: JobRecord, **fields: Any) -> discord.Message:
        """Make the job's message show `fields`: the interaction's response while its token
        lives, else the bot's own message (a reply-to-refine's "✏️ Refining…")."""
        webhook = self._webhook(job)
        if webhook is not None:
            return await _edit_original(webhook, **fields)
        delivery = job.delivery
        if delivery.message_id is None:
            raise NowhereToShow(detail=f"job {job.id}: its interaction token expired")
        channel = self.bot.get_partial_messageable(delivery.channel_id, guild_id=job.guild_id)
        message = channel.get_partial_message(delivery.message_id)
        return await message.edit(allowed_mentions=NO_MENTIONS, **fields)

    async def _send_reply(
        self, job: JobRecord, channel: discord.PartialMessageable, fields: dict[str, Any]
    ) -> discord.Message:
        assert job.delivery.reply_to_id is not None
        files = fields.pop("attachments", None) or []
        given = {name: value for name, value in fields.items() if value is not None}
        reference = discord.MessageReference(
            message_id=job.delivery.reply_to_id,
            channel_id=job.delivery.channel_id,
            fail_if_not_exists=False,
        )
        return await channel.send(
            files=files,
            reference=reference,
            mention_author=False,
            allowed_mentions=NO_MENTIONS,
            # Sent again for the same job (a restart after Discord made it, a lost answer),
            # Discord returns the message it made rather than a second one.
            nonce=job_nonce("p", job.id),
            **given,
        )

    # --- the Publisher protocol --------------------------------------------------------------

    async def progress(self, job: JobRecord, status: Status) -> None:
        """Show where the job is, coalesced; takes of a variation show only their result."""
        if job.kind is JobKind.VARIATION:
            return  # the batch's message sums the takes up (`variations`)
        refining = job.kind is JobKind.REFINE
        text = status_line(status, refining=refining, count=job.spec.request.count)
        if status.preview is not None:
            preview = status.preview
            shown: Any = ("preview", status.preview_index)

            async def send() -> None:
                await self._preview(job, text, preview, status.preview_index)

        else:
            waiting = status.stage is Stage.QUEUED and not status.restarting
            view = cancel_view(job.id) if waiting else None
            shown = (text, waiting)

            async def send() -> None:
                await self._show(job, content=text, view=view)

        self.reporter.show(job.id, shown, send)

    async def _preview(self, job: JobRecord, text: str, png: bytes, index: int) -> None:
        try:
            preview = await fit_to_limit(png, job.delivery.upload_limit, stem=f"preview-{index}")
        except PicassoError as error:
            log.warning("skipped a preview that can't be shown: %r", error)
            return
        attachments = [discord.File(io.BytesIO(preview.data), preview.filename)]
        await self._show(job, content=text, attachments=attachments, view=None)

    async def picture(
        self, job: JobRecord, result: ImageResult, picture_ids: Sequence[int]
    ) -> Posted:
        """Post the pictures (one, or a numbered set) in one message with their buttons;
        once smaller if Discord refuses the upload."""
        await self.reporter.take_over(job.id)
        limit = job.delivery.upload_limit
        for attempt in range(2):
            images = await _files(result.pictures, limit)
            try:
                message = await self._post(job, result, picture_ids, images)
            except discord.Forbidden as error:
                log.warning("Discord refused a post: %s", error)
                raise PicassoError(forbidden(error)) from error
            except discord.HTTPException as error:
                if not _too_large(error) or attempt == 1:
                    raise UploadFailed(detail=str(error)) from error
                limit = max(len(image.data) for image in images) // 2
                log.warning("Discord refused an upload; retrying with files under %d B", limit)
            else:
                by_name = {file.filename: file.url for file in message.attachments}
                urls = tuple(by_name.get(image.filename) for image in images)
                return Posted(message.channel.id, message.id, urls)
        raise AssertionError("unreachable")

    async def _post(
        self,
        job: JobRecord,
        result: ImageResult,
        picture_ids: Sequence[int],
        images: Sequence[ImageFile],
    ) -> discord.Message:
        spec = job.spec
        kind = lineage.EDIT if result.edited else job.kind.value
        number = (job.take or 0) + 1
        take = (
            # Translators: which take of a picture's variations this is ("2 of 3").
            _("{number} of {total}").format(number=number, total=spec.takes) if spec.takes else None
        )
        origin = Origin(kind, spec.origin_url, take=take) if job.parent_id is not None else None
        result = _with_note(result, spec.note)
        names = [image.filename for image in images]
        who, avatar = spec.requester_name, spec.requester_avatar
        if len(images) == 1:
            embeds = [result_embed(result, who, avatar, names[0], origin)]
        else:
            embeds = set_embeds(result, who, avatar, names, origin)
        fields: dict[str, Any] = {
            "content": None,
            "embeds": embeds,
            "attachments": [discord.File(io.BytesIO(i.data), i.filename) for i in images],
            "view": result_view(picture_ids),
        }
        if job.kind is JobKind.VARIATION:  # a take is a reply to the picture it varies
            channel = self.bot.get_partial_messageable(job.delivery.channel_id)
            return await self._send_reply(job, channel, fields)
        return await self._show(job, **fields)

    async def sentence(self, job: JobRecord, text: str) -> None:
        """End the job's message in `text`: after a public "thinking…" the loading message
        goes and the sentence is told privately. Problems are logged, never raised."""
        if job.kind is JobKind.VARIATION:
            await self.variations(job)  # the take's sentence is in the summary
            return
        await self.reporter.take_over(job.id)
        try:
            webhook = self._webhook(job)
            if webhook is not None and job.delivery.public:
                try:
                    await webhook.delete_message(ORIGINAL)  # type: ignore[arg-type]
                except discord.NotFound:
                    log.info("job %d: the loading message was gone", job.id)
                await webhook.send(text, ephemeral=True, allowed_mentions=NO_MENTIONS)
                return
            await self._show(job, content=text, embed=None, attachments=[], view=None)
        except (discord.HTTPException, PicassoError) as error:
            log.warning("could not tell the user of job %d %r: %s", job.id, text, error)

    async def recorded(self, job: JobRecord, result: ImageResult, posted: Posted) -> None:
        """The audit line, if the server keeps one."""
        await audit(self.bot, job, result, posted)
        if job.kind is JobKind.VARIATION:
            await self.variations(job)

    async def variations(self, take: JobRecord, *, now: bool = False) -> None:
        """Show where the takes of `take`'s batch are, on the press's own message: a link to
        each posted take, why the others failed, which are still under way (coalesced;
        `now`: sent before returning, e.g. before a follow-up that must not replace it)."""
        webhook = self._webhook(take)
        if take.batch is None or webhook is None:
            return
        takes = await self.bot.jobs.batch(take.batch)
        text = variations_summary(take.spec, takes)

        async def send() -> None:
            await _edit_original(webhook, content=text)

        key = ("batch", take.batch)
        if now:
            await self.reporter.take_over(key)
            await send()
        else:
            self.reporter.show(key, text, send)


async def _files(pictures: Sequence[bytes], limit: int) -> list[ImageFile]:
    """The pictures as files of at most `limit` bytes each, named by their number in a set
    (`picasso-2.png`) so that one can be taken out of the message again."""
    if len(pictures) == 1:
        return [await fit_to_limit(pictures[0], limit)]
    return [
        await fit_to_limit(data, limit, stem=picture_stem(number))
        for number, data in enumerate(pictures, 1)
    ]


def _with_note(result: ImageResult, note: str | None) -> ImageResult:
    """`result` with the server's note (e.g. "quality limited") added to its own."""
    if not note:
        return result
    return dataclasses.replace(result, note=f"{result.note} {note}" if result.note else note)
