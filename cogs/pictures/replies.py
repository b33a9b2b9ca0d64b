"""Reply to refine: a reply to one of the bot's pictures is an instruction to change it.

The bot answers at once with a "✏️ Refining…" reply and edits that message through the
stages into the new picture (or one sentence). Replies to anything else are ignored.

Without the privileged message-content intent Discord only sends the text of messages that
mention the bot — a reply with its ping on counts — so an empty reply gets a hint instead.
"""

from __future__ import annotations

import logging
import re
import time
from typing import TYPE_CHECKING, Final

import discord
from discord.ext import commands

from bot import lineage
from bot.errors import PicassoError
from bot.i18n import N_, _
from bot.lineage import may_remix
from bot.models import PictureRecord
from bot.storage.job_records import DEFAULT_UPLOAD_LIMIT, Delivery, JobKind
from bot.studio import Order
from cogs.common.answering import NO_MENTIONS, answering
from cogs.common.context import who_from_message
from cogs.pictures.orders import (
    check_instruction,
    chosen_picture,
    from_picture,
    requester,
    upload_urls,
)

if TYPE_CHECKING:
    from cogs.common.services import Services

log = logging.getLogger(__name__)

# msgids, translated where they are shown (in the server's language: a message event's).
ACKNOWLEDGEMENT: Final = N_("✏️ Refining…")
HINT_NO_TEXT: Final = N_(
    "✏️ I can't read replies that don't ping me — keep the reply's @mention on, "
    "or press ✏️ Refine under the picture."
)
HINT_EMPTY: Final = N_("✏️ Reply with what should change — for example “make it night”.")
# The unreadable-reply hint is given once per person and channel in this many seconds: an
# unpinged "nice!" reads exactly like an unpinged instruction, and one hint is enough.
HINT_EVERY: Final = 600.0


def instruction_from(content: str, bot_id: int) -> str:
    """The reply's text without mentions of the bot (a ping-reply may carry one)."""
    return re.sub(rf"<@!?{bot_id}>", " ", content).strip()


def replied_to(message: discord.Message) -> int | None:
    """The id of the message `message` replies to (None for other messages and forwards)."""
    reference = message.reference
    if reference is None or reference.message_id is None:
        return None
    if reference.type is not discord.MessageReferenceType.default:
        return None  # a forward, not a reply
    return reference.message_id


class Replies(commands.Cog):
    """Listens for replies to the bot's pictures."""

    def __init__(self, bot: Services) -> None:
        self.bot = bot
        self._hinted: dict[tuple[int, int], float] = {}

    def _hint_due(self, message: discord.Message) -> bool:
        """True (and remembered) if this person has not had the hint here lately."""
        now = time.monotonic()
        self._hinted = {k: t for k, t in self._hinted.items() if now - t < HINT_EVERY}
        key = (message.author.id, message.channel.id)
        if key in self._hinted:
            return False
        self._hinted[key] = now
        return True

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        """A reply to one of the bot's pictures: refine it, ending in a picture or a sentence."""
        me = self.bot.user
        target = replied_to(message)
        if target is None or me is None or message.author.bot:
            return
        parent = message.reference.resolved if message.reference else None
        if isinstance(parent, discord.Message) and parent.author.id != me.id:
            return  # a reply to someone else's message: no database lookup needed
        answer = _Answer(message)

        async def say(sentence: str) -> None:
            # Answer where an answer is due: our reply is up, or they replied to the bot.
            if answer.message is not None or isinstance(parent, discord.Message):
                await answer.say(sentence)

        async with answering(say):
            pictures = await self.bot.studio.pictures_by_message(target)
            if pictures:
                live = parent if isinstance(parent, discord.Message) else None
                await self._refine(message, me, pictures, answer, live)

    async def _refine(
        self,
        message: discord.Message,
        me: discord.ClientUser,
        pictures: list[PictureRecord],
        answer: _Answer,
        live: discord.Message | None,
    ) -> None:
        instruction = instruction_from(message.content, me.id)
        if not instruction:
            readable = self.bot.intents.message_content or me in message.mentions
            if readable:
                await answer.say(_(HINT_EMPTY))
            elif self._hint_due(message):
                await answer.say(_(HINT_NO_TEXT))
            return
        try:
            acknowledgement = await answer.show(_(ACKNOWLEDGEMENT))
        except discord.HTTPException as error:
            log.warning("cannot reply in channel %s: %s", message.channel.id, error)
            return
        picture, instruction = chosen_picture(pictures, instruction)
        check_instruction(instruction)
        uploads = upload_urls(message.attachments)  # both pictures go to the edit
        who = who_from_message(message)
        settings = await self.bot.studio.settings_for(who.guild_id)
        if not may_remix(settings, who, picture):
            raise PicassoError(lineage.REMIX_REFUSAL)
        guild = message.guild
        order = Order(
            JobKind.REFINE,
            who,
            delivery=Delivery(
                channel_id=message.channel.id,
                reply_to_id=message.id,
                message_id=acknowledgement.id,
                upload_limit=guild.filesize_limit if guild else DEFAULT_UPLOAD_LIMIT,
            ),
            text=instruction,
            prompt=picture.prompt,
            instruction=instruction,
            uploads=uploads,
            **from_picture(picture, live),
            **requester(message.author),
        )
        await self.bot.jobs.submit(order, settings)


class _Answer:
    """The bot's one reply to a person's message: sent on first use, edited afterwards."""

    def __init__(self, to: discord.Message) -> None:
        self._to = to
        self.message: discord.Message | None = None

    async def show(self, text: str) -> discord.Message:
        """Make the reply say `text` (no pings)."""
        if self.message is not None:
            self.message = await self.message.edit(
                content=text, embed=None, attachments=[], view=None, allowed_mentions=NO_MENTIONS
            )
        else:
            self.message = await self._to.channel.send(
                text,
                reference=self._to.to_reference(fail_if_not_exists=False),
                mention_author=False,
                allowed_mentions=NO_MENTIONS,
            )
        return self.message

    async def say(self, text: str) -> None:
        """`show`, with Discord's refusals logged rather than raised."""
        try:
            await self.show(text)
        except discord.HTTPException as error:
            log.warning("could not tell the user %r: %s", text, error)
