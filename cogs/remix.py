"""The buttons under every picture — Reroll, Refine, Variations, Prompt, Delete — and the form.

Presses defer first (except Refine, whose form must be the first response), check who may
(the server's `remix` setting), then hand over to `cogs.flows`, where every new picture goes
through `studio.job` and is recorded with its parent. Reply-to-refine is `cogs.replies`.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Final

import discord
from discord.ext import commands

from bot import lineage
from bot.errors import PicassoError
from bot.imaging.prompts import MAX_PROMPT_CHARS
from bot.lineage import may_delete, may_remix
from bot.policy import Who
from bot.storage.tables import Picture
from cogs.components import (
    Action,
    PictureButton,
    modal_custom_id,
    modal_values,
    parse_modal_custom_id,
)
from cogs.context import who_from_interaction
from cogs.errors import defer_public, reply, user_message
from cogs.flows import GONE, MAX_INSTRUCTION_CHARS, Flows, prompt_text
from cogs.posting import InteractionSurface

if TYPE_CHECKING:
    from bot.app import Picasso

log = logging.getLogger(__name__)

# discord.py keeps an open form in memory until this passes; submissions never depend on it.
FORM_TTL: Final = 15 * 60.0


def _same_text(a: str, b: str) -> bool:
    return a.split() == b.split()


class RefineModal(discord.ui.Modal):
    """The Refine form: a change to make, or the full prompt to edit by hand.

    Submissions are handled by `Remix.on_interaction` (by custom_id), so a form opened
    before a restart still works after it.
    """

    def __init__(self, picture: Picture) -> None:
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
        self.flows = Flows(bot)

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(PictureButton)

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(PictureButton)

    # --- entry points ------------------------------------------------------------------------

    async def on_picture_button(
        self, interaction: discord.Interaction, action: Action, picture_id: int
    ) -> None:
        """A button under picture `picture_id` was pressed; always ends in an answer."""
        if action == Action.REFINE:  # a modal must be the first response: no deferring
            await self._open_refine(interaction, picture_id)
            return
        if action in (Action.PROMPT, Action.DELETE):
            await interaction.response.defer(thinking=True, ephemeral=True)
        else:
            await defer_public(interaction)
        try:
            picture = await self._picture(interaction, picture_id)
            who = who_from_interaction(interaction)
            if action == Action.PROMPT:
                await reply(interaction, prompt_text(picture))
            elif action == Action.DELETE:
                await self._delete(interaction, who, picture)
            else:
                settings = await self.bot.studio.store.guild_settings(who.guild_id)
                if not may_remix(settings, who, picture):
                    await reply(interaction, lineage.REMIX_REFUSAL)
                elif action == Action.REROLL:
                    surface = InteractionSurface(interaction)
                    await self.flows.reroll(who, picture, surface, interaction.user, settings)
                else:
                    await self.flows.vary(interaction, who, picture, settings)
        except Exception as error:
            await reply(interaction, user_message(error))

    async def _open_refine(self, interaction: discord.Interaction, picture_id: int) -> None:
        try:
            picture = await self._picture(interaction, picture_id)
            who = who_from_interaction(interaction)
            settings = await self.bot.studio.store.guild_settings(who.guild_id)
            if not may_remix(settings, who, picture):
                await reply(interaction, lineage.REMIX_REFUSAL)
                return
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
        picture = await self._picture(interaction, picture_id)
        who = who_from_interaction(interaction)
        settings = await self.bot.studio.store.guild_settings(who.guild_id)
        if not may_remix(settings, who, picture):
            await reply(interaction, lineage.REMIX_REFUSAL)
            return
        instruction = values.get("instruction", "").strip()
        prompt = values.get("prompt", "").strip()
        edited = bool(prompt) and not _same_text(prompt, picture.prompt)
        surface = InteractionSurface(interaction)
        if instruction:
            await self.flows.refine(
                who,
                picture,
                surface,
                interaction.user,
                settings,
                instruction=instruction,
                prompt=prompt if edited else None,
                live=interaction.message,
            )
        elif edited:
            await self.flows.paint_prompt(who, picture, surface, interaction.user, settings, prompt)
        else:
            raise PicassoError("Say what should change, or edit the prompt — nothing was changed.")

    async def _picture(self, interaction: discord.Interaction, picture_id: int) -> Picture:
        """The picture a component belongs to (it must still be the message clicked on)."""
        picture = await self.bot.studio.store.picture(picture_id)
        message = interaction.message
        if picture is None or (message is not None and picture.message_id != message.id):
            raise PicassoError(GONE)
        return picture

    async def _delete(self, interaction: discord.Interaction, who: Who, picture: Picture) -> None:
        if not may_delete(who, picture):
            await reply(interaction, lineage.DELETE_REFUSAL)
            return
        if interaction.message is not None:
            try:
                await interaction.message.delete()
            except discord.NotFound:
                log.info("picture %d's message was already gone", picture.id)
        if picture.message_id is not None:
            await self.bot.studio.store.forget_message(picture.message_id)
        log.info("user %d deleted picture %d", who.user_id, picture.id)
        await reply(interaction, "🗑️ Deleted the picture.")


async def setup(bot: Picasso) -> None:
    await bot.add_cog(Remix(bot))
