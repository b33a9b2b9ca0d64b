"""The buttons under every picture — Reroll, Refine, Variations, Prompt, Delete — the form,
and ❌ Cancel under a waiting request.

Presses defer first, check who may (the server's `remix` setting), then submit a job
made from the picture (`bot.jobs`), which records the new picture with its parent. Refine
is the exception: its form must be the first response, so it looks the picture up first,
against a deadline well inside Discord's 3 s. Reply-to-refine is `cogs.replies`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from typing import TYPE_CHECKING, Any, Final

import discord
from discord.ext import commands

from bot import lineage
from bot.errors import PicassoError
from bot.formatting import join
from bot.imaging.prompts import MAX_PROMPT_CHARS
from bot.lineage import may_delete, may_remix
from bot.models import GuildSettings, PictureRecord, Who
from bot.policy import check_access
from bot.storage.job_records import JobKind, JobRecord
from bot.studio import Order
from cogs.components import (
    Action,
    CancelButton,
    PictureButton,
    modal_custom_id,
    modal_values,
    parse_modal_custom_id,
)
from cogs.context import may_post_pictures, who_from_interaction
from cogs.errors import CANNOT_POST, NO_MENTIONS, defer_public, reply, user_message
from cogs.orders import (
    GONE,
    MAX_INSTRUCTION_CHARS,
    check_instruction,
    from_picture,
    interaction_delivery,
    prompt_text,
    requester,
)

if TYPE_CHECKING:
    from bot.app import Picasso

log = logging.getLogger(__name__)

# discord.py keeps an open form in memory until this passes; submissions never depend on it.
FORM_TTL: Final = 15 * 60.0
# The form must be the first answer, within Discord's 3 s, yet needs the picture and the
# server's settings first; past this many seconds the press is answered with FORM_BUSY.
FORM_DEADLINE: Final = 2.0
FORM_BUSY: Final = "I'm a little busy right now — press ✏️ Refine again in a moment."
VARIATIONS: Final = 3


def _same_text(a: str, b: str) -> bool:
    return a.split() == b.split()


class RefineModal(discord.ui.Modal):
    """The Refine form: a change to make, or the full prompt to edit by hand.

    Submissions are handled by `Remix.on_interaction` (by custom_id), so a form opened
    before a restart still works after it.
    """

    def __init__(self, picture: PictureRecord) -> None:
        super().__init__(
            title="Refine this picture", custom_id=modal_custom_id(picture.id), timeout=FORM_TTL
        )
        self.add_item(
            discord.ui.TextInput(
                label="What should change?",
                custom_id="instruction",
                placeholder="make it night · add a red umbrella · warmer colours",
                required=False,
                max_length=MAX_INSTRUCTION_CHARS,
            )
        )
        self.add_item(
            discord.ui.TextInput(
                label="…or edit the full prompt",
                custom_id="prompt",
                style=discord.TextStyle.paragraph,
                default=picture.prompt[:MAX_PROMPT_CHARS],
                required=False,
                max_length=MAX_PROMPT_CHARS,
            )
        )


class Remix(commands.Cog):
    """The buttons under every picture, the Refine modal, and the flows behind them."""

    def __init__(self, bot: Picasso) -> None:
        self.bot = bot

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(PictureButton, CancelButton)

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(PictureButton, CancelButton)

    # --- entry points ------------------------------------------------------------------------

    async def on_picture_button(
        self, interaction: discord.Interaction, action: Action, picture_id: int
    ) -> None:
        """A button under picture `picture_id` was pressed; always ends in an answer."""
        if action == Action.REFINE:  # a modal must be the first response: no deferring
            await self._open_refine(interaction, picture_id)
            return
        if action in (Action.REROLL, Action.VARY):
            await defer_public(interaction)
        else:
            await interaction.response.defer(thinking=True, ephemeral=True)
        try:
            if action == Action.PROMPT:
                await reply(interaction, prompt_text(await self._picture(interaction, picture_id)))
            elif action == Action.DELETE:
                await self._delete(interaction, picture_id)
            else:
                picture, who, settings = await self._remixable(interaction, picture_id)
                if action == Action.REROLL:
                    await self._reroll(interaction, who, picture, settings)
                else:
                    await self._vary(interaction, who, picture, settings)
        except Exception as error:
            await reply(interaction, user_message(error))

    async def _reroll(
        self,
        interaction: discord.Interaction,
        who: Who,
        picture: PictureRecord,
        settings: GuildSettings,
    ) -> None:
        """Paint `picture`'s prompt again, as a new picture."""
        order = Order(
            JobKind.REROLL,
            who,
            delivery=interaction_delivery(interaction, public=True),
            prompt=picture.prompt,
            **from_picture(picture, interaction.message),
            **requester(interaction.user),
        )
        await self.bot.jobs.submit(order, settings)

    async def _vary(
        self,
        interaction: discord.Interaction,
        who: Who,
        picture: PictureRecord,
        settings: GuildSettings,
    ) -> None:
        """Takes on `picture`'s description, each its own job (own quota, cost and lineage),
        each posted as a reply to the picture once painted; the press's message sums them up."""
        source = interaction.message
        if source is None:
            raise PicassoError(GONE)
        if not may_post_pictures(interaction):  # the takes are channel messages
            raise PicassoError(CANNOT_POST)
        check_access(settings, who, picture.description)
        delivery = dataclasses.replace(
            interaction_delivery(interaction, public=True),
            channel_id=source.channel.id,
            reply_to_id=source.id,
        )
        admitted: list[JobRecord] = []
        refused: dict[str, list[str]] = {}
        for take in range(VARIATIONS):
            order = Order(
                JobKind.VARIATION,
                who,
                delivery=delivery,
                batch=str(interaction.id),
                take=take,
                takes=VARIATIONS,
                **from_picture(picture, source),
                **requester(interaction.user),
            )
            try:
                admitted.append(await self.bot.jobs.submit(order, settings))
            except PicassoError as error:
                refused.setdefault(error.user_message, []).append(str(take + 1))
        if not admitted:
            raise PicassoError(next(iter(refused)))
        await self.bot.publisher.variations(admitted[0], now=True)
        if refused:
            await interaction.followup.send(
                refusal_line(refused), ephemeral=True, allowed_mentions=NO_MENTIONS
            )

    async def _open_refine(self, interaction: discord.Interaction, picture_id: int) -> None:
        """Answer with the form — within Discord's 3 s, however slow the lookups behind it."""
        lookup = asyncio.ensure_future(self._remixable(interaction, picture_id))
        try:
            try:
                picture, _, _ = await asyncio.wait_for(asyncio.shield(lookup), FORM_DEADLINE)
            except TimeoutError:
                log.warning("picture %d: too slow to open the form; told the user", picture_id)
                lookup.add_done_callback(_ignore_outcome)  # it may finish; nobody waits
                raise PicassoError(FORM_BUSY) from None
            await interaction.response.send_modal(RefineModal(picture))
        except Exception as error:
            await reply(interaction, user_message(error))

    @commands.Cog.listener()
    async def on_interaction(self, interaction: discord.Interaction) -> None:
        """Refine modal submissions (matched by custom_id, so they survive restarts)."""
        if interaction.type is not discord.InteractionType.modal_submit:
            return
        data: Any = interaction.data or {}
        picture_id = parse_modal_custom_id(str(data.get("custom_id", "")))
        if picture_id is None:
            return
        await defer_public(interaction)
        try:
            await self._submit_refine(interaction, picture_id, modal_values(data.get("components")))
        except Exception as error:
            await reply(interaction, user_message(error))

    async def _submit_refine(
        self, interaction: discord.Interaction, picture_id: int, values: dict[str, str]
    ) -> None:
        picture, who, settings = await self._remixable(interaction, picture_id)
        instruction = values.get("instruction", "").strip()
        prompt = values.get("prompt", "").strip()
        edited = bool(prompt) and not _same_text(prompt, picture.prompt)
        if instruction:
            check_instruction(instruction)
            kind, text, start = JobKind.REFINE, instruction, prompt if edited else picture.prompt
        elif edited:
            kind, text, start = JobKind.PROMPT, prompt, prompt  # painted exactly as written
        else:
            raise PicassoError("Say what should change, or edit the prompt — nothing was changed.")
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
        await self.bot.jobs.submit(order, settings)

    async def on_cancel(self, interaction: discord.Interaction, job_id: int) -> None:
        """❌ Cancel: the requester's waiting job ends (its message says so); anyone else is
        told privately that they can't."""
        await interaction.response.defer()
        try:
            await self.bot.jobs.cancel(job_id, interaction.user.id)
        except Exception as error:
            await interaction.followup.send(
                user_message(error), ephemeral=True, allowed_mentions=NO_MENTIONS
            )

    # --- lookups -----------------------------------------------------------------------------

    async def _picture(self, interaction: discord.Interaction, picture_id: int) -> PictureRecord:
        """The picture a component belongs to (it must still be the message clicked on)."""
        picture = await self.bot.studio.store.picture(picture_id)
        message = interaction.message
        if picture is None or (message is not None and picture.message_id != message.id):
            raise PicassoError(GONE)
        return picture

    async def _remixable(
        self, interaction: discord.Interaction, picture_id: int
    ) -> tuple[PictureRecord, Who, GuildSettings]:
        """The picture, who pressed and the server's settings — if this person may remix it."""
        picture = await self._picture(interaction, picture_id)
        who = who_from_interaction(interaction)
        settings = await self.bot.studio.store.guild_settings(who.guild_id)
        if not may_remix(settings, who, picture):
            raise PicassoError(lineage.REMIX_REFUSAL)
        return picture, who, settings

    async def _delete(self, interaction: discord.Interaction, picture_id: int) -> None:
        picture = await self._picture(interaction, picture_id)
        who = who_from_interaction(interaction)
        if not may_delete(who, picture):
            raise PicassoError(lineage.DELETE_REFUSAL)
        if interaction.message is not None:
            try:
                await interaction.message.delete()
            except discord.NotFound:
                log.info("picture %d's message was already gone", picture.id)
        if picture.message_id is not None:
            await self.bot.studio.store.forget_message(picture.message_id)
        log.info("user %d deleted picture %d", who.user_id, picture.id)
        await reply(interaction, "🗑️ Deleted the picture.")


def refusal_line(refused: dict[str, list[str]]) -> str:
    """Why some takes of a variations press were not started (each reason once)."""
    return " · ".join(
        f"{'Take' if len(takes) == 1 else 'Takes'} {join(takes)} not started: {reason}"
        for reason, takes in refused.items()
    )


def _ignore_outcome(lookup: asyncio.Future[Any]) -> None:
    """Done-callback of an abandoned lookup: retrieve its outcome so nothing warns about it."""
    if not lookup.cancelled() and lookup.exception() is not None:
        log.warning("an abandoned lookup failed: %s", lookup.exception())


async def setup(bot: Picasso) -> None:
    await bot.add_cog(Remix(bot))
