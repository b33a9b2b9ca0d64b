"""Recorded pictures as things to iterate on: who may, what to ask for again, where they are.

Plain functions of a `PictureRecord` (bot/models.py), settings and ids; no Discord.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final, Literal

from bot.i18n import N_
from bot.models import MAX_ID, GuildSettings, PictureRecord, Who

# PictureRecord.kind values: how a picture came to be.
IMAGINE: Final = "imagine"
REROLL: Final = "reroll"
REFINE: Final = "refine"
EDIT: Final = "edit"  # a refinement made by editing the parent picture
PROMPT: Final = "prompt"  # the full prompt edited by hand and painted as it is
VARIATION: Final = "variation"

# msgids, translated where they are shown.
KIND_LABELS: Final = {
    IMAGINE: N_("🖼️ imagined"),
    REROLL: N_("🔁 rerolled"),
    REFINE: N_("✏️ refined"),
    EDIT: N_("✏️ edited"),
    PROMPT: N_("📝 prompt edited"),
    VARIATION: N_("🎲 variation"),
}

REMIX_REFUSAL: Final = N_(
    "On this server only the person who asked for a picture (or a server admin) can reroll, "
    "refine or vary it — make your own with /imagine."
)
DELETE_REFUSAL: Final = N_(
    "Only the person who asked for this picture or a server admin can delete it."
)

_MESSAGE_LINK = re.compile(
    r"^<?https?://(?:\w+\.)?discord(?:app)?\.com/channels/(?:\d+|@me)/\d+/(\d+)>?$"
)
_NUMBER = re.compile(r"^#?(\d{1,20})$")


def may_remix(settings: GuildSettings, who: Who, picture: PictureRecord) -> bool:
    """May `who` reroll, refine or vary `picture` under the server's `remix` setting?"""
    return settings.remix == "anyone" or who.is_admin or who.user_id == picture.requester_id


def may_delete(who: Who, picture: PictureRecord) -> bool:
    """Only the requester and server admins may delete a picture."""
    return who.is_admin or who.user_id == picture.requester_id


def jump_url(guild_id: int | None, channel_id: int, message_id: int | None) -> str | None:
    """The link to a posted message (None once the message is gone)."""
    if message_id is None:
        return None
    return f"https://discord.com/channels/{guild_id or '@me'}/{channel_id}/{message_id}"


def picture_url(picture: PictureRecord) -> str | None:
    """The link to where `picture` is posted (None once deleted)."""
    return jump_url(picture.guild_id, picture.channel_id, picture.message_id)


@dataclass(frozen=True, slots=True)
class PictureRef:
    """What someone typed to name a picture: a message (link or id) or a picture number."""

    kind: Literal["message", "number"]
    id: int


def parse_picture_ref(text: str) -> PictureRef | None:
    """A message link → its message id; digits (or #digits) → a number to look up."""
    text = text.strip()
    if match := _MESSAGE_LINK.match(text):
        ref = PictureRef("message", int(match.group(1)))
    elif match := _NUMBER.match(text):
        ref = PictureRef("number", int(match.group(1)))
    else:
        return None
    return ref if ref.id <= MAX_ID else None  # larger numbers name nothing
