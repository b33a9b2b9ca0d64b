"""/imagine-admin: a server's limits, budgets, channels, roles and defaults, and its spend.

Discord hides the group from members without Manage Server, but a server can override that
per command, so every call is checked again here from the permissions Discord resolved for
this very interaction. In a DM with the bot, the bot's owner uses the same commands for the
bot-wide direct-message settings. Each change is applied atomically and answered, privately,
with one sentence saying what is now in force.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Literal, cast

import discord
from discord import app_commands
from discord.ext import commands

from bot import controls
from bot.controls import BadSetting, BudgetToRemove, LimitToRemove
from bot.formatting import zone_name
from bot.models import MAX_COUNT, ChannelMode, GuildSettings, MaxSize, RefineMode, RemixWho
from bot.policy import STYLE_GUIDE_MAX
from cogs.admin import render as text
from cogs.admin.spend import show_spend
from cogs.common.answering import NO_MENTIONS, NotAllowed, defer_private, reply
from cogs.common.choices import (
    CHANNEL_MODES,
    MAX_SIZES,
    QUALITIES,
    QUALITY_CEILINGS,
    REFINE_MODES,
    REMIX_WHO,
    SIZES,
    chosen,
    chosen_quality,
    chosen_size,
)
from cogs.common.context import Listable, is_server_admin

if TYPE_CHECKING:
    from cogs.common.services import Services

log = logging.getLogger(__name__)

Change = Callable[[GuildSettings], GuildSettings]
Say = Callable[[GuildSettings], str]


@app_commands.default_permissions(manage_guild=True)
class Admin(
    commands.GroupCog,
    group_name="imagine-admin",
    group_description="Picasso's limits, budgets, channels, roles, defaults, usage (server admins)",
):
    """The /imagine-admin commands."""

    def __init__(self, bot: Services) -> None:
        self.bot = bot

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        """Server admins in a server; the bot's owner in DMs. Everyone else is refused."""
        if interaction.guild_id is not None:
            if is_server_admin(interaction.permissions):
                return True
            raise NotAllowed(text.NOT_ADMIN)
        await defer_private(interaction)  # the owner lookup may ask Discord: answer first
        try:
            owner = await self.bot.is_owner(interaction.user)
        except discord.HTTPException:  # the owner could not be looked up: stay closed
            log.warning("could not look up the bot's owner", exc_info=True)
            owner = False
        if owner:
            return True
        raise NotAllowed(text.NOT_OWNER)

    # --- helpers -----------------------------------------------------------------------------

    async def _apply(self, interaction: discord.Interaction, change: Change, say: Say) -> None:
        """Apply `change` to this place's settings and say what is now in force."""
        await defer_private(interaction)
        settings = await self.bot.studio.change_settings(interaction.guild_id, change)
        await reply(interaction, say(settings))

    @staticmethod
    def _server_only(interaction: discord.Interaction) -> None:
        if interaction.guild_id is None:
            raise BadSetting(text.SERVER_ONLY)

    # --- commands ----------------------------------------------------------------------------

    @app_commands.command(
        name="show", description="Every setting and today's and this month's usage, at a glance"
    )
    async def show(self, interaction: discord.Interaction) -> None:
        await defer_private(interaction)
        studio = self.bot.studio
        settings = await studio.settings_for(interaction.guild_id)
        today, month = await studio.server_usage(interaction.guild_id)
        embed = text.settings_embed(
            settings,
            today,
            month,
            dm_scope=interaction.guild_id is None,
            bot_model=studio.default_model,
            zone=zone_name(studio.now()),
        )
        await interaction.edit_original_response(embed=embed, allowed_mentions=NO_MENTIONS)

    @app_commands.command(
        name="usage", description="A chart of the last 30 days: spend, pictures, top people, caps"
    )
    async def usage(self, interaction: discord.Interaction) -> None:
        await show_spend(interaction, self.bot.studio)

    @app_commands.command(
        name="limits", description="Daily picture limits, cooldown and jobs per person"
    )
    @app_commands.describe(
        user_daily_pictures="Pictures one person may make a day (0 = none; lift it with remove)",
        server_daily_pictures="Pictures the server may make a day (0 = none; lift it with remove)",
        cooldown_seconds="Seconds a person waits between pictures (0 = no cooldown)",
        running_jobs="Pictures one person may have painting at once (default 2)",
        queued_jobs="More pictures one person may have waiting in line (default 3; 0 = none)",
        remove="Lift a daily picture limit (all: both limits and the cooldown)",
    )
    async def limits(
        self,
        interaction: discord.Interaction,
        user_daily_pictures: app_commands.Range[int, 0, 10_000] | None = None,
        server_daily_pictures: app_commands.Range[int, 0, 100_000] | None = None,
        cooldown_seconds: app_commands.Range[int, 0, 86_400] | None = None,
        running_jobs: app_commands.Range[int, 1, 10] | None = None,
        queued_jobs: app_commands.Range[int, 0, 20] | None = None,
        remove: LimitToRemove | None = None,
    ) -> None:
        def change(settings: GuildSettings) -> GuildSettings:
            return controls.change_limits(
                settings,
                user_daily_pictures=user_daily_pictures,
                server_daily_pictures=server_daily_pictures,
                cooldown_seconds=cooldown_seconds,
                running_jobs=running_jobs,
                queued_jobs=queued_jobs,
                remove=remove,
            )

        await self._apply(interaction, change, text.limits_sentence)

    @app_commands.command(name="budget", description="Money caps in US dollars, per day and month")
    @app_commands.describe(
        server_daily_usd="USD the whole server may spend a day (0 = nothing; lift it with remove)",
        server_monthly_usd="USD the whole server may spend a month (0 = nothing; lift with remove)",
        user_daily_usd="USD one person may spend a day (0 = nothing; lift it with remove)",
        remove="Lift a cap (all: every cap)",
    )
    async def budget(
        self,
        interaction: discord.Interaction,
        server_daily_usd: app_commands.Range[float, 0, 100_000] | None = None,
        server_monthly_usd: app_commands.Range[float, 0, 1_000_000] | None = None,
        user_daily_usd: app_commands.Range[float, 0, 10_000] | None = None,
        remove: BudgetToRemove | None = None,
    ) -> None:
        def change(settings: GuildSettings) -> GuildSettings:
            return controls.change_budget(
                settings,
                server_daily_usd=server_daily_usd,
                server_monthly_usd=server_monthly_usd,
                user_daily_usd=user_daily_usd,
                remove=remove,
            )

        await self._apply(interaction, change, text.budget_sentence)

    @app_commands.command(name="channels", description="Where pictures may be made")
    @app_commands.choices(mode=CHANNEL_MODES)
    @app_commands.describe(
        mode="all: every channel · allow: only listed ones · deny: all but listed ones",
        add="List this channel (its threads follow it)",
        remove="Take this channel off the list",
        dms="In a DM with the bot, for its owner: may pictures be made in direct messages?",
    )
    async def channels(
        self,
        interaction: discord.Interaction,
        mode: app_commands.Choice[str] | None = None,
        add: Listable | None = None,
        remove: Listable | None = None,
        dms: bool | None = None,
    ) -> None:
        if interaction.guild_id is None:
            if mode is not None or add is not None or remove is not None:
                raise BadSetting(text.SERVER_ONLY)

            def dm_change(settings: GuildSettings) -> GuildSettings:
                return settings if dms is None else settings.replace(allow_dms=dms)

            await self._apply(interaction, dm_change, text.dms_sentence)
            return
        if dms is not None:
            raise BadSetting(text.DMS_ARE_BOT_WIDE)

        def change(settings: GuildSettings) -> GuildSettings:
            return controls.change_channels(
                settings,
                mode=cast("ChannelMode | None", chosen(mode)),
                add=add.id if add else None,
                remove=remove.id if remove else None,
            )

        await self._apply(interaction, change, text.channels_sentence)

    @app_commands.command(name="roles", description="Who may draw, and who skips per-person limits")
    @app_commands.describe(
        allow_add="Let this role draw (once a role is listed, only listed roles may draw)",
        allow_remove="Take this role off the drawing list",
        allow_clear="Empty the drawing list, so everyone may draw",
        exempt_add="This role skips the per-person limits (server-wide ones still apply)",
        exempt_remove="This role no longer skips the per-person limits",
    )
    async def roles(
        self,
        interaction: discord.Interaction,
        allow_add: discord.Role | None = None,
        allow_remove: discord.Role | None = None,
        allow_clear: bool = False,
        exempt_add: discord.Role | None = None,
        exempt_remove: discord.Role | None = None,
    ) -> None:
        self._server_only(interaction)

        def change(settings: GuildSettings) -> GuildSettings:
            return controls.change_roles(
                settings,
                allow_add=_id(allow_add),
                allow_remove=_id(allow_remove),
                allow_clear=allow_clear,
                exempt_add=_id(exempt_add),
                exempt_remove=_id(exempt_remove),
            )

        await self._apply(interaction, change, text.roles_sentence)

    @app_commands.command(
        name="defaults", description="Default and maximum size, quality, style, model"
    )
    @app_commands.describe(
        size="Shape used when a person picks none",
        quality="Quality used when a person picks none",
        max_size="Largest shape allowed (square: other shapes are painted square)",
        max_quality="Highest quality allowed (auto is lowered to it)",
        styles="Allowed styles, comma-separated (e.g. anime, pixel art), or all",
        model="Image model for this server, or default for the bot's own",
        expand="Let the chat model write a detailed prompt unless the person says otherwise",
        refine_mode="Refinements: reimagine (paint anew), edit (change the picture), auto",
        remix="Who may press Reroll, Refine and Variations on someone's picture",
        moderation="Check requests with the moderation model before painting",
        preview="Show the prompt and its cost privately before painting, unless asked otherwise",
        max_count="The most pictures one /imagine may ask for (1–4)",
    )
    @app_commands.choices(
        size=SIZES,
        quality=QUALITIES,
        max_size=MAX_SIZES,
        max_quality=QUALITY_CEILINGS,
        refine_mode=REFINE_MODES,
        remix=REMIX_WHO,
    )
    async def defaults(
        self,
        interaction: discord.Interaction,
        size: app_commands.Choice[str] | None = None,
        quality: app_commands.Choice[str] | None = None,
        max_size: app_commands.Choice[str] | None = None,
        max_quality: app_commands.Choice[str] | None = None,
        styles: app_commands.Range[str, 1, 200] | None = None,
        model: app_commands.Range[str, 1, 64] | None = None,
        expand: bool | None = None,
        refine_mode: app_commands.Choice[str] | None = None,
        remix: app_commands.Choice[str] | None = None,
        moderation: bool | None = None,
        preview: bool | None = None,
        max_count: app_commands.Range[int, 1, MAX_COUNT] | None = None,
    ) -> None:
        known = self.bot.studio.known_models()

        def change(settings: GuildSettings) -> GuildSettings:
            return controls.change_defaults(
                settings,
                known_models=known,
                size=chosen_size(size),
                quality=chosen_quality(quality),
                max_size=cast("MaxSize | None", chosen(max_size)),
                max_quality=chosen_quality(max_quality),
                styles=styles,
                model=model,
                expand=expand,
                refine_mode=cast("RefineMode | None", chosen(refine_mode)),
                remix=cast("RemixWho | None", chosen(remix)),
                moderation=moderation,
                preview=preview,
                max_count=max_count,
            )

        bot_model = self.bot.studio.default_model
        await self._apply(interaction, change, lambda s: text.defaults_sentence(s, bot_model))

    @defaults.autocomplete("model")
    async def _model_names(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        names = ["default", *sorted(self.bot.studio.known_models())]
        return [
            app_commands.Choice(name=name, value=name)
            for name in names
            if current.lower() in name.lower()
        ][:25]

    @app_commands.command(name="style-guide", description="A short flavour added to every prompt")
    @app_commands.rename(guide="text")
    @app_commands.describe(
        guide=f"E.g. muted colours, no text (at most {STYLE_GUIDE_MAX} characters)",
        clear="Remove the style guide",
    )
    async def style_guide(
        self,
        interaction: discord.Interaction,
        guide: app_commands.Range[str, 1, STYLE_GUIDE_MAX] | None = None,
        clear: bool = False,
    ) -> None:
        def change(settings: GuildSettings) -> GuildSettings:
            return controls.change_style_guide(settings, guide, clear=clear)

        await self._apply(interaction, change, text.style_guide_sentence)

    @app_commands.command(name="blocked-words", description="Words or phrases no request may use")
    @app_commands.describe(
        action="add or remove the words given, or list every blocked word",
        words="Words or phrases, comma-separated (matched as whole words, any case)",
    )
    async def blocked_words(
        self,
        interaction: discord.Interaction,
        action: Literal["add", "remove", "list"],
        words: app_commands.Range[str, 1, 1000] | None = None,
    ) -> None:
        given = controls.split_words(words or "")
        if action == "list":
            await defer_private(interaction)
            settings = await self.bot.studio.settings_for(interaction.guild_id)
            await reply(interaction, text.blocked_words_list(settings))
            return
        if not given:
            raise BadSetting(text.NO_WORDS[action])

        def change(settings: GuildSettings) -> GuildSettings:
            if action == "add":
                return controls.change_blocked_words(settings, add=given)
            return controls.change_blocked_words(settings, remove=given)

        await self._apply(interaction, change, text.blocked_words_sentence)

    @app_commands.command(name="audit-channel", description="Where one line per picture is logged")
    @app_commands.describe(
        channel="The channel that gets one line per picture (who, where, prompt, cost)",
        clear="Stop logging pictures",
    )
    async def audit_channel(
        self,
        interaction: discord.Interaction,
        channel: discord.TextChannel | None = None,
        clear: bool = False,
    ) -> None:
        self._server_only(interaction)
        channel_id = channel.id if channel else None

        def change(settings: GuildSettings) -> GuildSettings:
            return controls.change_audit_channel(settings, channel_id, clear=clear)

        await self._apply(interaction, change, text.audit_sentence)

    @app_commands.command(name="reset-user", description="Clear a person's usage for today")
    @app_commands.describe(user="Whose pictures, spending and cooldown for today to clear")
    async def reset_user(self, interaction: discord.Interaction, user: discord.User) -> None:
        await defer_private(interaction)
        await self.bot.studio.reset_user(interaction.guild_id, user.id)
        await reply(interaction, text.reset_sentence(user.id))


def _id(role: discord.Role | None) -> int | None:
    return role.id if role is not None else None
