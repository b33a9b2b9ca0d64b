"""✏️ Refine: the form under a picture — a change to make, or the full prompt to edit.

The form must be the first answer to the press, within Discord's 3 s, yet needs the picture
and the server's settings first: the lookup gets `FORM_DEADLINE`, past which the person is
asked to press again. Submissions are matched by custom_id (`RefineForms`), so a form
opened before a restart still works after it. Reply-to-refine is `cogs.pictures.replies`.

custom_id format: picasso:refine-modal:<picture id>
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import TYPE_CHECKING, Any, Final

import discord
from discord.ext import commands

from bot.errors import PicassoError
from bot.i18n import N_, _
from bot.imaging.prompts import MAX_PROMPT_CHARS
from bot.models import PictureRecord, check_text
from bot.storage.job_records import JobKind
from bot.studio import Order
from cogs.common.answering import answering, defer_public
from cogs.common.context import picasso
from cogs.common.custom_ids import ID, PREFIX
from cogs.common.forms import submitted_form
from cogs.pictures.orders import (
    MAX_INSTRUCTION_CHARS,
    check_instruction,
    from_picture,
    interaction_delivery,
    remixable,
    requester,
)

if TYPE_CHECKING:
    from cogs.common.services import Services

log = logging.getLogger(__name__)

# discord.py keeps an open form in memory until this passes; submissions never depend on it.
FORM_TTL: Final = 15 * 60.0
FORM_DEADLINE: Final = 2.0
FORM_BUSY: Final = N_("I'm a little busy right now — press ✏️ Refine again in a moment.")
NOTHING_CHANGED: Final = N_("Say what should change, or edit the prompt — nothing was changed.")
MODAL_TEMPLATE: Final = re.compile(rf"^{PREFIX}:refine-modal:(?P<id>{ID})$")


def modal_custom_id(picture_id: int) -> str:
    """The custom_id of the Refine form for picture `picture_id`."""
    return f"{PREFIX}:refine-modal:{picture_id}"


def parse_modal_custom_id(custom_id: str) -> int | None:
    """The picture id from a Refine form's custom_id, or None."""
    match = MODAL_TEMPLATE.fullmatch(custom_id)
    return int(match["id"]) if match else None


class RefineModal(discord.ui.Modal):
    """The Refine form: a change to make, or the full prompt to edit by hand (in the
    language of the person who opens it)."""

    def __init__(self, picture: PictureRecord) -> None:
        super().__init__(
            title=_("Refine this picture"),
            custom_id=modal_custom_id(picture.id),
            timeout=FORM_TTL,
        )
        self.add_item(
            discord.ui.TextInput(
                label=_("What should change?"),
                custom_id="instruction",
                placeholder=_("make it night · add a red umbrella · warmer colours"),
                required=False,
                max_length=MAX_INSTRUCTION_CHARS,
            )
        )
        self.add_item(
            discord.ui.TextInput(
                label=_("…or edit the full prompt"),
                custom_id="prompt",
                style=discord.TextStyle.paragraph,
                default=picture.prompt[:MAX_PROMPT_CHARS],
                required=False,
                max_length=MAX_PROMPT_CHARS,
            )
        )


async def open_form(interaction: discord.Interaction, picture_id: int) -> None:
    """✏️ Refine was pressed: answer with the form — within Discord's 3 s, however slow the
    lookups behind it (a form must be the first response: no deferring)."""
    async with answering(interaction):
        lookup = asyncio.ensure_future(remixable(interaction, picture_id))
        try:
            picture, _who, _settings = await asyncio.wait_for(asyncio.shield(lookup), FORM_DEADLINE)
        except TimeoutError:
            log.warning("picture %d: too slow to open the form; told the user", picture_id)
            lookup.add_done_callback(_ignore_outcome)  # it may finish; nobody waits
            raise PicassoError(FORM_BUSY) from None
        await interaction.response.send_modal(RefineModal(picture))


def _same_text(a: str, b: str) -> bool:
    return a.split() == b.split()


async def _submit(
    interaction: discord.Interaction, picture_id: int, values: dict[str, str]
) -> None:
    """A change → a refinement; only the prompt edited → that prompt, painted as written."""
    picture, who, settings = await remixable(interaction, picture_id)
    instruction = values.get("instruction", "").strip()
    prompt = values.get("prompt", "").strip()
    check_text(prompt)
    edited = bool(prompt) and not _same_text(prompt, picture.prompt)
    if instruction:
        check_instruction(instruction)
        kind, start = JobKind.REFINE, prompt if edited else picture.prompt
        text = f"{instruction}\n{prompt}" if edited else instruction  # all they typed
    elif edited:
        kind, text, start = JobKind.PROMPT, prompt, prompt  # painted exactly as written
    else:
        raise PicassoError(NOTHING_CHANGED)
    order = Order(
        kind,
        who,
        delivery=interaction_delivery(interaction, public=True),
        text=text,
        prompt=start,
        instruction=instruction or None,
        **from_picture(picture, interaction.message),
        **requester(interaction.user),
    )
    await picasso(interaction).jobs.submit(order, settings)


class RefineForms(commands.Cog):
    """Receives submitted Refine forms (by custom_id, so they survive restarts)."""

    def __init__(self, bot: Services) -> None:
        self.bot = bot

    @commands.Cog.listener()
    async def on_interaction(self, interaction: discord.Interaction) -> None:
        form = submitted_form(interaction)
        picture_id = parse_modal_custom_id(form.custom_id) if form else None
        if form is None or picture_id is None:
            return
        await defer_public(interaction)
        async with answering(interaction):
            await _submit(interaction, picture_id, form.values)


def _ignore_outcome(lookup: asyncio.Future[Any]) -> None:
    """Done-callback of an abandoned lookup: retrieve its outcome so nothing warns about it."""
    if not lookup.cancelled() and lookup.exception() is not None:
        log.warning("an abandoned lookup failed: %s", lookup.exception())
