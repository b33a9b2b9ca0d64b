"""Turning what people do in Discord into orders for jobs: where the job is shown, who
asked, and what it starts from (a recorded picture, if this person may remix it)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import timedelta
from typing import Any, Final

import discord

from bot.config import Secret
from bot.errors import PicassoError
from bot.formatting import clip
from bot.i18n import N_, _
from bot.imaging.inputs import check_dimensions
from bot.lineage import REMIX_REFUSAL, may_remix, picture_url
from bot.models import (
    MAX_UPLOAD_BYTES,
    UPLOAD_TYPES,
    GuildSettings,
    PictureRecord,
    Who,
    check_text,
)
from bot.storage.job_records import Delivery
from cogs.common.context import picasso, who_from_interaction
from cogs.pictures.render import picture_stem

MAX_INSTRUCTION_CHARS: Final = 500
# Discord lets a bot answer an interaction through its token for 15 minutes.
TOKEN_LIFETIME: Final = timedelta(minutes=15)
GONE: Final = N_("That picture is no longer available — it may have been deleted.")
# A reply naming one picture of a set: "#2 make it night" or "2: make it night".
PICKED: Final = re.compile(
    r"\s*(?:#(?P<hash>\d{1,2})\s*:?|(?P<colon>\d{1,2})\s*:)\s*(?P<rest>.*)", re.S
)


def check_instruction(text: str) -> None:
    """Raise `PicassoError` with the user's sentence if `text` can't be a change request."""
    check_text(text)
    if not text.strip():
        raise PicassoError(N_("Say what should change — for example “make it night”."))
    if len(text) > MAX_INSTRUCTION_CHARS:
        raise PicassoError(
            N_("That change is too long — keep it under {count} characters."),
            count=MAX_INSTRUCTION_CHARS,
        )


def interaction_delivery(interaction: discord.Interaction, *, public: bool) -> Delivery:
    """Show the job on the interaction's (deferred) response, through its token."""
    return Delivery(
        channel_id=interaction.channel_id or 0,
        token=Secret(interaction.token),
        token_expires_at=interaction.created_at + TOKEN_LIFETIME,
        public=public,
        upload_limit=interaction.filesize_limit,
    )


def requester(user: discord.abc.User) -> dict[str, Any]:
    """The name and picture shown as "Requested by" under the result."""
    return {"requester_name": user.display_name, "requester_avatar": user.display_avatar.url}


def from_picture(picture: PictureRecord, live: discord.Message | None = None) -> dict[str, Any]:
    """What a new picture made from `picture` starts from: its request, its link and the
    URLs its file can be fetched from (`live`, the posted message, has the freshest one)."""
    fresh = None
    if live is not None and live.id == picture.message_id:
        fresh = attachment_url(live, picture.number)
    urls = tuple(dict.fromkeys(url for url in (fresh, picture.image_url) if url))
    return {
        "request": picture.request,
        "parent_id": picture.id,
        "origin_url": picture_url(picture),
        "image_urls": urls,
    }


def attachment_url(message: discord.Message, number: int | None) -> str | None:
    """The URL of a picture's file in its message: the only one, or number `number`'s."""
    if number is None:
        return message.attachments[0].url if message.attachments else None
    stem = picture_stem(number)
    named = (a for a in message.attachments if a.filename.rsplit(".", 1)[0] == stem)
    return next((attachment.url for attachment in named), None)


def chosen_picture(pictures: Sequence[PictureRecord], text: str) -> tuple[PictureRecord, str]:
    """The picture of a message a reply means, and the reply without its number: the only
    one, or in a set the one it names first (“#2 make it night”, “2: make it night”)."""
    if len(pictures) == 1:
        return pictures[0], text
    numbers = {picture.number: picture for picture in pictures}
    named = PICKED.match(text)
    if named is None:
        raise PicassoError(
            N_(
                "That message has {count} pictures — start your reply with the number "
                "of the one to change, like “#2 make it night”."
            ),
            count=len(pictures),
        )
    number = int(named["hash"] or named["colon"])
    if number not in numbers:
        shown = ", ".join(f"#{n}" for n in sorted(n for n in numbers if n is not None))
        raise PicassoError(
            N_("That message has no picture #{number} — it shows {shown}."),
            number=number,
            shown=shown,
        )
    return numbers[number], named["rest"].strip()


def prompt_text(picture: PictureRecord) -> str:
    """What the 📝 Prompt button shows: the description and the full prompt."""
    head = _("📝 Prompt for “{description}”:").format(description=clip(picture.description, 200))
    return clip(f"{head}\n{picture.prompt}", 2000)


async def pressed_picture(interaction: discord.Interaction, picture_id: int) -> PictureRecord:
    """The picture a pressed component belongs to (it must still be the message clicked on)."""
    picture = await picasso(interaction).studio.picture(picture_id)
    message = interaction.message
    if picture is None or (message is not None and picture.message_id != message.id):
        raise PicassoError(GONE)
    return picture


async def remixable(
    interaction: discord.Interaction, picture_id: int
) -> tuple[PictureRecord, Who, GuildSettings]:
    """The picture, who pressed and the server's settings — if this person may remix it."""
    picture = await pressed_picture(interaction, picture_id)
    who = who_from_interaction(interaction)
    settings = await picasso(interaction).studio.settings_for(who.guild_id)
    if not may_remix(settings, who, picture):
        raise PicassoError(REMIX_REFUSAL)
    return picture, who, settings


MAX_UPLOADS: Final = 4  # pictures attached to one reply


def upload_urls(attachments: Sequence[discord.Attachment]) -> tuple[str, ...]:
    """Where the attached pictures can be fetched; raises `PicassoError` for an attachment
    that is not a PNG, JPEG or WebP picture of at most `MAX_UPLOAD_BYTES`, or too many, and
    `PictureRefused` for one too large to decode by what Discord says of its width and
    height (before anything is reserved: the job checks the file's own header again)."""
    if len(attachments) > MAX_UPLOADS:
        raise PicassoError(N_("Attach at most {count} pictures."), count=MAX_UPLOADS)
    for attachment in attachments:
        kind = (attachment.content_type or "").split(";")[0].strip().lower()
        if kind not in UPLOAD_TYPES:
            raise PicassoError(
                N_("Attach a PNG, JPEG or WebP picture — other files can't be used.")
            )
        if attachment.size > MAX_UPLOAD_BYTES:
            limit = MAX_UPLOAD_BYTES // (1024 * 1024)
            raise PicassoError(
                N_("That picture is too large — attach one of at most {limit} MB."), limit=limit
            )
        check_dimensions(attachment.width, attachment.height, kind)
    return tuple(attachment.url for attachment in attachments)
