"""The fake Discord's world (users, guilds, channels) and the JSON Discord sends for them."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from tests.fakes.discord_rules import (
    DEFAULT_MEMBER_PERMISSIONS,
    SEND_MESSAGES,
    SEND_MESSAGES_IN_THREADS,
    iso_now,
)


@dataclass
class FakeUser:
    """A Discord user known to the fake."""

    id: int
    name: str
    bot: bool = False
    locale: str = "en-US"
    """The language of their Discord client: their interactions carry it."""

    def payload(self) -> dict[str, Any]:
        """The user object."""
        data: dict[str, Any] = {
            "id": str(self.id),
            "username": self.name,
            "discriminator": "0",
            "global_name": None if self.bot else self.name,
            "avatar": None,
            "banner": None,
            "accent_color": None,
            "avatar_decoration_data": None,
            "public_flags": 0,
            "flags": 0,
        }
        if self.bot:
            data["bot"] = True
        return data


@dataclass
class FakeChannel:
    """A guild text channel (type 0), a DM (type 1) or a public thread (type 11)."""

    id: int
    guild_id: int | None
    name: str = "general"
    type: int = 0
    position: int = 0
    recipient_id: int | None = None
    parent_id: int | None = None  # a thread's channel
    owner_id: int | None = None  # who started the thread

    def payload(self, users: Mapping[int, FakeUser]) -> dict[str, Any]:
        """The channel object (as in GUILD_CREATE / GET /channels/{id})."""
        if self.guild_id is None:
            rid = self.recipient_id
            recipients = [users[rid].payload()] if rid is not None and rid in users else []
            return {
                "id": str(self.id),
                "type": self.type,
                "last_message_id": None,
                "recipients": recipients,
                "flags": 0,
            }
        return {
            "id": str(self.id),
            "type": self.type,
            "guild_id": str(self.guild_id),
            "name": self.name,
            "position": self.position,
            "permission_overwrites": [],
            "nsfw": False,
            "topic": None,
            "last_message_id": None,
            "rate_limit_per_user": 0,
            "parent_id": str(self.parent_id) if self.parent_id else None,
            "flags": 0,
        } | (self._thread_fields() if self.type in (10, 11, 12) else {})

    def _thread_fields(self) -> dict[str, Any]:
        return {
            "owner_id": str(self.owner_id or 0),
            "message_count": 0,
            "member_count": 1,
            "total_message_sent": 0,
            "thread_metadata": {
                "archived": False,
                "auto_archive_duration": 1440,
                "archive_timestamp": iso_now(),
                "locked": False,
            },
        }


@dataclass
class FakeGuild:
    """A guild the bot is in."""

    id: int
    name: str
    owner_id: int
    channel_ids: list[int]
    member_ids: list[int]
    joined_at: str = field(default_factory=iso_now)
    roles: dict[int, str] = field(default_factory=dict)
    """Roles besides @everyone: id → name."""
    member_roles: dict[int, list[int]] = field(default_factory=dict)
    """Which roles each member has: user id → role ids."""
    system_channel_id: int | None = None
    """Where Discord posts join messages (and a bot may greet the server)."""
    preferred_locale: str = "en-US"
    """The server's language (Server Settings → Community): interactions carry it too."""


def member_payload(
    user: FakeUser,
    joined_at: str,
    *,
    permissions: int | None = None,
    with_user: bool = True,
    roles: Sequence[int] = (),
) -> dict[str, Any]:
    """A guild member object (``permissions`` is only sent inside interactions)."""
    data: dict[str, Any] = {
        "roles": [str(role) for role in roles],
        "nick": None,
        "avatar": None,
        "banner": None,
        "joined_at": joined_at,
        "premium_since": None,
        "deaf": False,
        "mute": False,
        "pending": False,
        "flags": 0,
        "communication_disabled_until": None,
    }
    if with_user:
        data["user"] = user.payload()
    if permissions is not None:
        data["permissions"] = str(permissions)
    return data


def everyone_role(guild_id: int) -> dict[str, Any]:
    """The @everyone role (its id is the guild id)."""
    return role_payload(guild_id, "@everyone")


def role_payload(role_id: int, name: str, position: int = 0) -> dict[str, Any]:
    """A role object with the default members' permissions."""
    return {
        "id": str(role_id),
        "name": name,
        "permissions": str(DEFAULT_MEMBER_PERMISSIONS),
        "position": position,
        "color": 0,
        "colors": {"primary_color": 0, "secondary_color": None, "tertiary_color": None},
        "hoist": False,
        "managed": False,
        "mentionable": False,
        "icon": None,
        "unicode_emoji": None,
        "flags": 0,
    }


def guild_create_payload(
    guild: FakeGuild,
    channels: Mapping[int, FakeChannel],
    users: Mapping[int, FakeUser],
    *,
    bot_id: int = 0,
    bot_muted: Collection[int] = (),
) -> dict[str, Any]:
    """The GUILD_CREATE ``d``: everything, with ``member_count`` == members sent (no chunking).

    Channels in ``bot_muted`` carry an overwrite denying the bot (``bot_id``) Send Messages,
    so its permission checks agree with the 403s it gets there.
    """
    members = [
        member_payload(users[m], guild.joined_at, roles=guild.member_roles.get(m, ()))
        for m in guild.member_ids
    ]
    return {
        "id": str(guild.id),
        "name": guild.name,
        "icon": None,
        "splash": None,
        "discovery_splash": None,
        "banner": None,
        "description": None,
        "owner_id": str(guild.owner_id),
        "afk_channel_id": None,
        "afk_timeout": 300,
        "verification_level": 0,
        "default_message_notifications": 0,
        "explicit_content_filter": 0,
        "mfa_level": 0,
        "nsfw_level": 0,
        "premium_tier": 0,
        "premium_subscription_count": 0,
        "premium_progress_bar_enabled": False,
        "preferred_locale": guild.preferred_locale,
        "system_channel_id": str(guild.system_channel_id) if guild.system_channel_id else None,
        "system_channel_flags": 0,
        "rules_channel_id": None,
        "public_updates_channel_id": None,
        "safety_alerts_channel_id": None,
        "vanity_url_code": None,
        "application_id": None,
        "max_members": 500000,
        "features": [],
        "roles": [everyone_role(guild.id)]
        + [role_payload(rid, name, n + 1) for n, (rid, name) in enumerate(guild.roles.items())],
        "emojis": [],
        "stickers": [],
        "joined_at": guild.joined_at,
        "large": False,
        "unavailable": False,
        "member_count": len(members),
        "members": members,
        "channels": [
            _muted(channels[c].payload(users), bot_id)
            if c in bot_muted
            else channels[c].payload(users)
            for c in guild.channel_ids
        ],
        "threads": [],
        "voice_states": [],
        "presences": [],
        "stage_instances": [],
        "guild_scheduled_events": [],
        "soundboard_sounds": [],
    }


def application_payload(app_id: int, bot: FakeUser, owner: FakeUser) -> dict[str, Any]:
    """GET /applications/@me and /oauth2/applications/@me."""
    return {
        "id": str(app_id),
        "name": bot.name,
        "icon": None,
        "description": "",
        "summary": "",
        "type": None,
        "bot_public": True,
        "bot_require_code_grant": False,
        "verify_key": "0" * 64,
        "flags": 0,
        "owner": owner.payload(),
        "team": None,
        "bot": bot.payload(),
        "guild_id": None,
        "rpc_origins": [],
        "tags": [],
        "interactions_endpoint_url": None,
        "role_connections_verification_url": None,
        "approximate_guild_count": 0,
        "redirect_uris": [],
        "integration_types_config": {"0": {}, "1": {}},
    }


def attachment_payload(
    attachment_id: int,
    filename: str,
    content_type: str,
    data: bytes,
    url: str,
    description: str | None,
) -> dict[str, Any]:
    """An attachment object (with width/height for images, as Discord reports them: read
    from the file's header, however large it says it is)."""
    out: dict[str, Any] = {
        "id": str(attachment_id),
        "filename": filename,
        "size": len(data),
        "url": url,
        "proxy_url": url,
        "content_type": content_type,
        "flags": 0,
    }
    if description is not None:
        out["description"] = description
    if content_type.startswith("image/"):
        try:
            import io
            import warnings

            from PIL import Image

            with warnings.catch_warnings():  # Pillow warns of huge ones: Discord just reports
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)
                with Image.open(io.BytesIO(data)) as img:
                    out["width"], out["height"] = img.size
        except Exception:
            pass
    return out


def _muted(channel: dict[str, Any], bot_id: int) -> dict[str, Any]:
    """`channel` with the bot's Send Messages denied by a member overwrite."""
    deny = SEND_MESSAGES | SEND_MESSAGES_IN_THREADS
    overwrite = {"id": str(bot_id), "type": 1, "allow": "0", "deny": str(deny)}
    return channel | {"permission_overwrites": [overwrite]}
