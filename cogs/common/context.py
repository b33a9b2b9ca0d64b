"""Translating Discord objects into the plain ids the domain takes, and back."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

import discord
from discord import app_commands

from bot.models import Who

if TYPE_CHECKING:
    from cogs.common.services import Services


def picasso(interaction: discord.Interaction) -> Services:
    """The bot an interaction reached: buttons and forms find the services through it."""
    return cast("Services", interaction.client)


def _roles(user: discord.abc.User) -> frozenset[int]:
    return (
        frozenset(role.id for role in user.roles)
        if isinstance(user, discord.Member)
        else frozenset()
    )


def is_server_admin(permissions: discord.Permissions) -> bool:
    """Manage Server (or Administrator) is what makes a server admin for Picasso."""
    return permissions.manage_guild or permissions.administrator


def _parent_id(channel: object) -> int | None:
    return getattr(channel, "parent_id", None) if isinstance(channel, discord.Thread) else None


def who_from_interaction(interaction: discord.Interaction) -> Who:
    """The person behind an interaction, where they are, their roles and admin standing.

    Admin standing comes from the permissions Discord resolved for this very interaction.
    """
    in_guild = interaction.guild_id is not None
    return Who(
        user_id=interaction.user.id,
        guild_id=interaction.guild_id,
        channel_id=interaction.channel_id or 0,
        parent_channel_id=_parent_id(interaction.channel),
        role_ids=_roles(interaction.user),
        is_admin=in_guild and is_server_admin(interaction.permissions),
    )


def who_from_message(message: discord.Message) -> Who:
    """The author of a message, where they wrote it, their roles and admin standing."""
    author = message.author
    admin = isinstance(author, discord.Member) and is_server_admin(author.guild_permissions)
    return Who(
        user_id=author.id,
        guild_id=message.guild.id if message.guild else None,
        channel_id=message.channel.id,
        parent_channel_id=_parent_id(message.channel),
        role_ids=_roles(author),
        is_admin=admin,
    )


def may_post_pictures(interaction: discord.Interaction) -> bool:
    """Whether the bot itself may post pictures as channel messages where `interaction` is.

    Discord sends the bot's own permissions in the channel with every interaction
    (`app_permissions`), so this asks nothing; interaction responses need none of them.
    """
    allowed = interaction.app_permissions
    may_send = (
        allowed.send_messages_in_threads
        if isinstance(interaction.channel, discord.Thread)
        else allowed.send_messages
    )
    return may_send and allowed.embed_links and allowed.attach_files


class ListableChannel(app_commands.Transformer):
    """A channel whose threads can follow it: text, announcement, voice, stage or forum."""

    @property
    def type(self) -> discord.AppCommandOptionType:
        return discord.AppCommandOptionType.channel

    @property
    def channel_types(self) -> list[discord.ChannelType]:
        kinds = discord.ChannelType
        return [kinds.text, kinds.news, kinds.voice, kinds.stage_voice, kinds.forum]

    async def transform(
        self, interaction: discord.Interaction, value: app_commands.AppCommandChannel
    ) -> app_commands.AppCommandChannel:
        return value


Listable = app_commands.Transform[app_commands.AppCommandChannel, ListableChannel]
