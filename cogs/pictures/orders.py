"""Turning what people do in Discord into orders for jobs: where the job is shown, who
asked, and what it starts from (a recorded picture, if this person may remix it)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any, Final

import discord

from bot.config import Secret
from bot.errors import PicassoError
from bot.formatting import clip
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

MAX_INSTRUCTION_CHARS: Final = 500
# Discord lets a bot answer an interaction through its token for 15 minutes.
TOKEN_LIFETIME: Final = timedelta(minutes=15)
GONE: Final = "That picture is no longer available — it may have been deleted."


def check_instruction(text: str) -> None:
    """Raise `PicassoError` with the user's sentence if `text` can't be a change request."""
    check_text(text)
    if not text.strip():
        raise PicassoError("Say what should change — for example “make it night”.")
    if len(text) > MAX_INSTRUCTION_CHARS:
        raise PicassoError(
            f"That change is too long — keep it under {MAX_INSTRUCTION_CHARS} characters."
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
    fresh = live.attachments[0].url if live and live.attachments else None
    if live is not None and live.id != picture.message_id:
        fresh = None
    urls = tuple(dict.fromkeys(url for url in (fresh, picture.image_url) if url))
    return {
        "request": picture.request,
        "parent_id": picture.id,
        "origin_url": picture_url(picture),
        "image_urls": urls,
    }


def prompt_text(picture: PictureRecord) -> str:
    """What the 📝 Prompt button shows: the description and the full prompt."""
    head = f"📝 Prompt for “{clip(picture.description, 200)}”:\n"
    return clip(head + picture.prompt, 2000)


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
    that is not a PNG, JPEG or WebP picture of at most `MAX_UPLOAD_BYTES`, or too many."""
    if len(attachments) > MAX_UPLOADS:
        raise PicassoError(f"Attach at most {MAX_UPLOADS} pictures.")
    for attachment in attachments:
        kind = (attachment.content_type or "").split(";")[0].strip().lower()
        if kind not in UPLOAD_TYPES:
            raise PicassoError("Attach a PNG, JPEG or WebP picture — other files can't be used.")
        if attachment.size > MAX_UPLOAD_BYTES:
            limit = MAX_UPLOAD_BYTES // (1024 * 1024)
            raise PicassoError(f"That picture is too large — attach one of at most {limit} MB.")
    return tuple(attachment.url for attachment in attachments)
