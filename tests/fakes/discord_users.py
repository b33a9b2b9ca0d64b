"""What people do in the fake Discord: run commands, click, submit forms, post messages.

A mixin of :class:`tests.fakes.discord_api.FakeDiscord`; each action builds the payload the
real client would send (refusing what a real client would not let a person send) and
dispatches it on the gateway.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, cast

from tests.fakes.discord_interactions import (
    FakeInteraction,
    build_command_options,
    check_visible,
    find_command,
    make_resolver,
    modal_submit_components,
    walk_components,
)
from tests.fakes.discord_messages import MessageStore
from tests.fakes.discord_payloads import FakeChannel, member_payload
from tests.fakes.discord_rest import Upload
from tests.fakes.discord_rules import DEFAULT_MEMBER_PERMISSIONS, MAX_UPLOAD_BYTES

if TYPE_CHECKING:
    from tests.fakes.discord_api import FakeDiscord


class UserActions(MessageStore):
    """Mixin of :class:`tests.fakes.discord_api.FakeDiscord`: the people's side."""

    interactions: dict[int, FakeInteraction]
    commands_global: list[dict[str, Any]]
    commands_guild: dict[int, list[dict[str, Any]]]
    in_flight: int

    if TYPE_CHECKING:  # the world's, kept by FakeDiscord

        def dm_channel(self, user_id: int, channel_id: int | None = None) -> FakeChannel: ...

        def bot_permissions(self, channel_id: int) -> int: ...

    async def _settle(self) -> None:
        """Let the bot finish reading responses (a view registers only after that)."""
        deadline = time.monotonic() + 5
        while self.in_flight and time.monotonic() < deadline:
            await asyncio.sleep(0.005)
        await asyncio.sleep(0.05)

    def _place(self, user_id: int, guild_id: int | None, channel_id: int) -> FakeChannel:
        self.user(user_id)
        if guild_id is None:
            channel = self.channels.get(channel_id)
            if channel is None:
                channel = self.dm_channel(user_id, channel_id)
            if channel.guild_id is not None or channel.recipient_id != user_id:
                raise ValueError(f"channel {channel_id} is not the DM of user {user_id}")
            return channel
        if guild_id not in self.guilds:
            raise ValueError(f"guild {guild_id} was never added (add_guild)")
        channel = self.channels.get(channel_id)
        if channel is None or channel.guild_id != guild_id:
            raise ValueError(f"channel {channel_id} is not a channel of guild {guild_id}")
        return channel

    async def _interact(
        self,
        itype: int,
        data: dict[str, Any],
        *,
        user_id: int,
        guild_id: int | None,
        channel_id: int,
        permissions: int,
        attachment_size_limit: int = MAX_UPLOAD_BYTES,
        message_id: int | None = None,
    ) -> FakeInteraction:
        channel = self._place(user_id, guild_id, channel_id)
        user = self.user(user_id)
        iid, token = self.snowflake(), "aW50ZXJhY3Rpb246" + secrets.token_urlsafe(96)
        payload: dict[str, Any] = {
            "id": str(iid),
            "application_id": str(self.application_id),
            "type": itype,
            "data": data,
            "token": token,
            "version": 1,
            "channel_id": str(channel_id),
            "channel": channel.payload(self.users),
            "locale": user.locale,
            "app_permissions": str(self.bot_permissions(channel_id)),
            "entitlements": [],
            "attachment_size_limit": attachment_size_limit,
            "context": 0 if guild_id else 1,
            "authorizing_integration_owners": {"0": str(guild_id or 0)},
        }
        if guild_id is not None:
            guild = self.guilds[guild_id]
            payload["channel"]["permissions"] = str(permissions)
            payload.update(
                guild_id=str(guild_id),
                guild={"id": str(guild_id), "locale": guild.preferred_locale, "features": []},
                guild_locale=guild.preferred_locale,
                member=member_payload(
                    user,
                    guild.joined_at,
                    permissions=permissions,
                    roles=guild.member_roles.get(user_id, ()),
                ),
            )
        else:
            payload["user"] = user.payload()
        if message_id is not None:
            payload["message"] = self.public(self.messages[message_id])
        inter = FakeInteraction(
            iid,
            token,
            itype,
            data,
            payload,
            cast("FakeDiscord", self),
            user_id=user_id,
            guild_id=guild_id,
            channel_id=channel_id,
            attachment_size_limit=attachment_size_limit,
            message_id=message_id,
        )
        self.interactions[iid] = inter
        inter.created_at = time.monotonic()
        await self.gateway.dispatch("INTERACTION_CREATE", payload)
        return inter

    async def invoke(
        self,
        name: str,
        options: Mapping[str, Any] | None = None,
        *,
        user_id: int,
        guild_id: int | None,
        channel_id: int,
        subcommand: str | None = None,
        permissions: int = DEFAULT_MEMBER_PERMISSIONS,
        attachment_size_limit: int = MAX_UPLOAD_BYTES,
        resolved: dict[str, Any] | None = None,
        permission_override: bool = False,
    ) -> FakeInteraction:
        """A user runs slash command ``/name [subcommand] options`` (APPLICATION_COMMAND).

        The synced definition (guild commands first, then global) gives the command id and the
        option types; unsynced commands get a made-up id and types from Python values.
        A user lacking the command's ``default_member_permissions`` can't run it, unless
        ``permission_override``: the server allowed it to them in its Integrations settings
        (the interaction still carries their real ``permissions``).
        """
        definition = (
            find_command(self.commands_guild.get(guild_id or 0, []), name) if guild_id else None
        )
        command_guild = guild_id if definition else None
        definition = definition or find_command(self.commands_global, name)
        if definition is not None:
            check_visible(definition, guild_id, permissions, overridden=permission_override)
        opts, auto_resolved = build_command_options(
            definition, options or {}, subcommand, make_resolver(self, guild_id)
        )
        data: dict[str, Any] = {
            "id": definition["id"] if definition else str(self.snowflake()),
            "name": name,
            "type": 1,
        }
        if opts:
            data["options"] = opts
        merged = {**auto_resolved, **(resolved or {})}
        if merged:
            data["resolved"] = merged
        if command_guild is not None:
            data["guild_id"] = str(command_guild)
        return await self._interact(
            2,
            data,
            user_id=user_id,
            guild_id=guild_id,
            channel_id=channel_id,
            permissions=permissions,
            attachment_size_limit=attachment_size_limit,
        )

    async def use_message_command(
        self,
        name: str,
        message_id: int,
        *,
        user_id: int,
        guild_id: int | None,
        channel_id: int,
        permissions: int = DEFAULT_MEMBER_PERMISSIONS,
    ) -> FakeInteraction:
        """A user picks the synced message command ``name`` (Apps menu) on a stored message."""
        definition = find_command(self.commands_guild.get(guild_id or 0, []), name, 3)
        definition = definition or find_command(self.commands_global, name, 3)
        if definition is None:
            raise ValueError(f"no message command {name!r} was synced")
        check_visible(definition, guild_id, permissions)
        msg = self.messages.get(message_id)
        if msg is None or int(msg["channel_id"]) != channel_id:
            raise ValueError(f"no message {message_id} in channel {channel_id}")
        data = {
            "id": definition["id"],
            "name": name,
            "type": 3,
            "target_id": str(message_id),
            "resolved": {"messages": {str(message_id): self.public(msg)}},
        }
        return await self._interact(
            2,
            data,
            user_id=user_id,
            guild_id=guild_id,
            channel_id=channel_id,
            permissions=permissions,
        )

    async def click(
        self,
        message_id: int,
        custom_id: str,
        *,
        user_id: int,
        guild_id: int | None,
        channel_id: int,
        permissions: int = DEFAULT_MEMBER_PERMISSIONS,
        values: Sequence[str] | None = None,
    ) -> FakeInteraction:
        """A user clicks a button (or picks ``values`` in a select) on a stored message."""
        await self._settle()
        msg = self.messages.get(message_id)
        if msg is None or int(msg["channel_id"]) != channel_id:
            raise AssertionError(f"no message {message_id} in channel {channel_id} to click on")
        comps = list(walk_components(msg.get("components") or []))
        comp = next((c for c in comps if c.get("custom_id") == custom_id), None)
        if comp is None:
            raise AssertionError(
                f"message {message_id} has no component {custom_id!r}: "
                f"{[c.get('custom_id') for c in comps]}"
            )
        if comp.get("disabled"):
            raise AssertionError(f"component {custom_id!r} is disabled; nobody can click it")
        data: dict[str, Any] = {"custom_id": custom_id, "component_type": comp["type"]}
        if comp.get("id") is not None:
            data["id"] = comp["id"]
        if comp["type"] != 2:
            data["values"] = list(values or [])
        return await self._interact(
            3,
            data,
            user_id=user_id,
            guild_id=guild_id,
            channel_id=channel_id,
            permissions=permissions,
            message_id=message_id,
        )

    async def submit_modal(
        self,
        custom_id: str,
        values: Mapping[str, Any],
        *,
        user_id: int,
        guild_id: int | None,
        channel_id: int,
        message_id: int | None = None,
        permissions: int = DEFAULT_MEMBER_PERMISSIONS,
    ) -> FakeInteraction:
        """A user submits the modal the bot opened (callback type 9); ``values`` by custom_id."""
        await self._settle()
        opener = next(
            (
                i
                for i in reversed(list(self.interactions.values()))
                for cb in i.callbacks[:1]
                if cb["type"] == 9 and cb["data"].get("custom_id") == custom_id
            ),
            None,
        )
        if opener is None:
            raise AssertionError(f"the bot never opened a modal {custom_id!r}")
        components = modal_submit_components(
            opener.callbacks[0]["data"].get("components") or [], values
        )
        return await self._interact(
            5,
            {"custom_id": custom_id, "components": components},
            user_id=user_id,
            guild_id=guild_id,
            channel_id=channel_id,
            permissions=permissions,
            message_id=message_id or opener.message_id,
        )

    async def post_message(
        self,
        channel_id: int,
        content: str,
        *,
        author_id: int,
        guild_id: int | None,
        reply_to: int | None = None,
        mention_bot: bool = False,
        attachments: Sequence[tuple[Any, ...]] = (),
        reply_ping: bool = True,
    ) -> dict[str, Any]:
        """A user posts a message (stored, and sent as MESSAGE_CREATE as the bot's intents allow).

        ``mention_bot`` puts ``<@bot>`` in front of the content (as the client does);
        ``attachments`` are ``(filename, bytes)`` or ``(filename, bytes, content_type)``.
        """
        channel = self._place(author_id, guild_id, channel_id)
        bot = self.bot_user_id
        if mention_bot and f"<@{bot}>" not in content and f"<@!{bot}>" not in content:
            content = f"<@{bot}> {content}"
        uploads = [
            Upload(i, a[0], a[2] if len(a) > 2 else "application/octet-stream", a[1])
            for i, a in enumerate(attachments)
        ]
        ref = None
        if reply_to is not None:
            ref = self.messages.get(reply_to)
            if ref is None or int(ref["channel_id"]) != channel_id:
                raise ValueError(f"no message {reply_to} in channel {channel_id} to reply to")
        msg = self.create_message(
            channel,
            author_id=author_id,
            payload={"content": content},
            uploads=uploads,
            reply_to=ref,
            reply_ping=reply_ping,
        )
        await self.announce("MESSAGE_CREATE", msg)
        return msg
