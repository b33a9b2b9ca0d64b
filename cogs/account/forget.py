"""/forget-me: erase a person's words (descriptions, prompts, changes) in one server — or,
with `everywhere` or in a DM with the bot, in every server and the DMs — after they confirm
with a button: their own, the copies others made of them (rerolls, refinements, variations
of their pictures), and the audit channel's lines about them. Amounts stay, without words.

custom_id format: picasso:forget:<user id>:<yes|no>[:everywhere]  (on the private question)
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Final

import discord
from discord import app_commands
from discord.ext import commands

from bot.i18n import N_, _
from cogs.account.render import KEPT, forget_question, forgotten_sentence
from cogs.common.answering import NO_MENTIONS, answering, read_in_locale_of, reply
from cogs.common.context import picasso
from cogs.common.custom_ids import ID, PREFIX, StatefulButton
from cogs.pictures.audit import forget_lines

if TYPE_CHECKING:
    from cogs.common.services import Services

FORGET_TEMPLATE: Final = re.compile(
    rf"^{PREFIX}:forget:(?P<user>{ID}):(?P<answer>yes|no)(?P<everywhere>:everywhere)?$"
)
NOT_YOURS: Final = N_("This question was for someone else — ask /forget-me yourself.")


class ForgetButton(StatefulButton, template=FORGET_TEMPLATE):
    """🗑️ Forget me / Keep my data, under the private question (its asker's only)."""

    def __init__(self, user_id: int, forget: bool, everywhere: bool = False) -> None:
        scope = ":everywhere" if everywhere else ""
        super().__init__(
            discord.ui.Button(
                label=_("Forget me") if forget else _("Keep my data"),
                emoji="🗑️" if forget else None,
                style=discord.ButtonStyle.danger if forget else discord.ButtonStyle.secondary,
                custom_id=f"{PREFIX}:forget:{user_id}:{'yes' if forget else 'no'}{scope}",
            )
        )
        self.user_id = user_id
        self.forget = forget
        self.everywhere = everywhere

    @classmethod
    def from_match(cls, match: re.Match[str]) -> ForgetButton:
        return cls(int(match["user"]), match["answer"] == "yes", bool(match["everywhere"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        read_in_locale_of(interaction)
        if interaction.user.id != self.user_id:
            await reply(interaction, _(NOT_YOURS))
            return
        await interaction.response.defer()  # the answer replaces the question
        bot = picasso(interaction)
        # Everywhere: asked so, or asked in a DM (no server to keep it to).
        guild_id = None if self.everywhere else interaction.guild_id
        async with answering(interaction):
            if not self.forget:
                await interaction.edit_original_response(
                    content=_(KEPT), view=None, allowed_mentions=NO_MENTIONS
                )
                return
            forgotten = await bot.studio.forget_person(guild_id, self.user_id)
            try:
                await interaction.edit_original_response(
                    content=forgotten_sentence(forgotten, everywhere=guild_id is None),
                    view=None,
                    allowed_mentions=NO_MENTIONS,
                )
            finally:  # committed: now the audit lines (problems only logged)
                await forget_lines(bot, forgotten.audit_lines)


def question_view(user_id: int, everywhere: bool = False) -> discord.ui.View:
    """The two answers to /forget-me's question (`everywhere`: in every server)."""
    view = discord.ui.View(timeout=None)
    view.add_item(ForgetButton(user_id, forget=True, everywhere=everywhere))
    view.add_item(ForgetButton(user_id, forget=False, everywhere=everywhere))
    return view


class Forget(commands.Cog):
    """The /forget-me command."""

    def __init__(self, bot: Services) -> None:
        self.bot = bot

    @app_commands.command(
        name="forget-me", description="Erase your words from my records, here or everywhere"
    )
    @app_commands.describe(
        everywhere="Erase them in every server and in our DMs, not only here (always in DMs)"
    )
    async def forget_me(self, interaction: discord.Interaction, everywhere: bool = False) -> None:
        everywhere = everywhere or interaction.guild_id is None
        await interaction.response.send_message(
            forget_question(everywhere),
            view=question_view(interaction.user.id, everywhere),
            ephemeral=True,
            allowed_mentions=NO_MENTIONS,
        )
