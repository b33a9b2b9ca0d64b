"""/forget-me: erase a person's words (descriptions, prompts, changes) in one server, after
they confirm with a button. Amounts spent stay in the ledger, without words.

custom_id format: picasso:forget:<user id>:<yes|no>  (on the private confirmation)
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Final

import discord
from discord import app_commands
from discord.ext import commands

from bot.i18n import N_, _
from cogs.account.render import FORGET_ASK, KEPT, forgotten_sentence
from cogs.common.answering import NO_MENTIONS, answering, read_in_locale_of, reply
from cogs.common.context import picasso
from cogs.common.custom_ids import ID, PREFIX, StatefulButton

if TYPE_CHECKING:
    from bot.app import Picasso

FORGET_TEMPLATE: Final = re.compile(rf"^{PREFIX}:forget:(?P<user>{ID}):(?P<answer>yes|no)$")
NOT_YOURS: Final = N_("This question was for someone else — ask /forget-me yourself.")


class ForgetButton(StatefulButton, template=FORGET_TEMPLATE):
    """🗑️ Forget me / Keep my data, under the private question (its asker's only)."""

    def __init__(self, user_id: int, forget: bool) -> None:
        super().__init__(
            discord.ui.Button(
                label=_("Forget me") if forget else _("Keep my data"),
                emoji="🗑️" if forget else None,
                style=discord.ButtonStyle.danger if forget else discord.ButtonStyle.secondary,
                custom_id=f"{PREFIX}:forget:{user_id}:{'yes' if forget else 'no'}",
            )
        )
        self.user_id = user_id
        self.forget = forget

    @classmethod
    def from_match(cls, match: re.Match[str]) -> ForgetButton:
        return cls(int(match["user"]), match["answer"] == "yes")

    async def callback(self, interaction: discord.Interaction) -> None:
        read_in_locale_of(interaction)
        if interaction.user.id != self.user_id:
            await reply(interaction, _(NOT_YOURS))
            return
        await interaction.response.defer()  # the answer replaces the question
        async with answering(interaction):
            text = _(KEPT)
            if self.forget:
                erased = await picasso(interaction).studio.forget_person(
                    interaction.guild_id, self.user_id
                )
                text = forgotten_sentence(erased)
            await interaction.edit_original_response(
                content=text, view=None, allowed_mentions=NO_MENTIONS
            )


def question_view(user_id: int) -> discord.ui.View:
    """The two answers to /forget-me's question."""
    view = discord.ui.View(timeout=None)
    view.add_item(ForgetButton(user_id, forget=True))
    view.add_item(ForgetButton(user_id, forget=False))
    return view


class Forget(commands.Cog):
    """The /forget-me command."""

    def __init__(self, bot: Picasso) -> None:
        self.bot = bot

    @app_commands.command(
        name="forget-me", description="Erase the words of every picture you asked for here"
    )
    async def forget_me(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message(
            _(FORGET_ASK),
            view=question_view(interaction.user.id),
            ephemeral=True,
            allowed_mentions=NO_MENTIONS,
        )
