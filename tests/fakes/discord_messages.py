"""Messages in the fake Discord: creating, editing, deleting, attachments, pings, gateway events."""

from __future__ import annotations

import copy
import logging
import mimetypes
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from tests.fakes.discord_limits import check_message, is_empty_message
from tests.fakes.discord_payloads import (
    FakeChannel,
    FakeGuild,
    FakeUser,
    attachment_payload,
    member_payload,
)
from tests.fakes.discord_rest import DiscordError, Upload, form_error, not_found
from tests.fakes.discord_rules import (
    FLAG_COMPONENTS_V2,
    FLAG_EPHEMERAL,
    FLAG_LOADING,
    INTENT_DIRECT_MESSAGES,
    INTENT_GUILD_MESSAGES,
    compute_pings,
    error_body,
    iso_now,
    visible_to_bot,
)

if TYPE_CHECKING:
    from tests.fakes.discord_gateway import GatewayServer
    from tests.fakes.discord_interactions import FakeInteraction

log = logging.getLogger(__name__)

_EDITABLE_FLAGS = 4 | FLAG_COMPONENTS_V2  # SUPPRESS_EMBEDS, IS_COMPONENTS_V2
# enforce_nonce: a message with the same nonce from the same author within this many seconds
# is returned instead of a new one ("a few minutes"); a nonce is at most 25 characters.
NONCE_WINDOW = 5 * 60.0
NONCE_CHARS = 25


def _with_component_ids(components: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Discord numbers every component (``id``) when the sender did not."""
    out = copy.deepcopy([dict(c) for c in components])
    counter = [0]

    def number(comps: list[dict[str, Any]]) -> None:
        for comp in comps:
            counter[0] += 1
            comp.setdefault("id", counter[0])
            number(comp.get("components") or [])
            for key in ("accessory", "component"):
                if isinstance(comp.get(key), dict):
                    number([comp[key]])

    number(out)
    return out


def _embeds(embeds: Any) -> list[dict[str, Any]]:
    return [{"type": "rich", **copy.deepcopy(e)} for e in embeds or []]


def _link_attachments(msg: dict[str, Any]) -> None:
    """``attachment://name`` in embeds becomes the uploaded file's URL, as Discord does."""
    by_name = {a["filename"]: a for a in msg["attachments"]}
    for embed in msg["embeds"]:
        for key, field in (
            ("image", "url"),
            ("thumbnail", "url"),
            ("author", "icon_url"),
            ("footer", "icon_url"),
        ):
            part = embed.get(key)
            url = part.get(field) if isinstance(part, dict) else None
            if isinstance(url, str) and url.startswith("attachment://"):
                att = by_name.get(url.removeprefix("attachment://"))
                if att is not None:
                    part[field] = att["url"]
                    if field == "url":
                        part["proxy_url"] = att["url"]
                        part.update({k: att[k] for k in ("width", "height") if k in att})


class MessageStore:
    """Mixin of :class:`tests.fakes.discord_api.FakeDiscord` holding every message."""

    application_id: int
    bot_user_id: int
    http_base: str
    users: dict[int, FakeUser]
    guilds: dict[int, FakeGuild]
    channels: dict[int, FakeChannel]
    messages: dict[int, dict[str, Any]]
    nonces: dict[tuple[int, int, str], tuple[int, float]]
    deleted_messages: dict[int, dict[str, Any]]
    attachment_data: dict[int, tuple[str, str, bytes]]
    identify: dict[str, Any] | None
    gateway: GatewayServer
    snowflake: Callable[[], int]

    def user(self, user_id: int) -> FakeUser:
        """The user with this id (created as ``user<id>`` if the fake has not seen it)."""
        if user_id not in self.users:
            self.users[user_id] = FakeUser(user_id, f"user{user_id}")
        return self.users[user_id]

    def channel(self, channel_id: int) -> FakeChannel:
        """The channel, or a 404 10003 Unknown Channel."""
        channel = self.channels.get(channel_id)
        if channel is None:
            raise not_found(10003, "Channel", f"unknown channel {channel_id}")
        return channel

    def public(self, msg: Mapping[str, Any]) -> dict[str, Any]:
        """The message as JSON Discord would return (without the fake's ``_`` keys)."""
        return {k: copy.deepcopy(v) for k, v in msg.items() if not k.startswith("_")}

    def channel_messages(self, channel_id: int) -> list[dict[str, Any]]:
        """Every (not deleted) message in a channel, oldest first."""
        found = [m for m in self.messages.values() if int(m["channel_id"]) == channel_id]
        return sorted(found, key=lambda m: int(m["id"]))

    def check_message_body(
        self,
        payload: Mapping[str, Any],
        uploads: Sequence[Upload],
        *,
        creating: bool,
        prefix: tuple[str, ...] = (),
    ) -> None:
        """Raise Discord's 50035 / 50006 answer if the body breaks a message rule."""
        errors = check_message(payload)
        if len(uploads) > 10:
            errors.add(("files",), "BASE_TYPE_MAX_LENGTH", "Must be 10 or fewer in length.")
        if errors:
            raise form_error(errors, prefix)
        if creating and is_empty_message(payload, len(uploads)):
            raise DiscordError(
                400, error_body(50006, "Cannot send an empty message"), "empty message"
            )

    def make_attachment(
        self, filename: str, data: bytes, content_type: str | None = None, *, channel_id: int = 0
    ) -> dict[str, Any]:
        """Host ``data`` on the fake and return its attachment object (for attachment options)."""
        aid = self.snowflake()
        ctype = content_type or mimetypes.guess_type(filename)[0] or "application/octet-stream"
        self.attachment_data[aid] = (filename, ctype, data)
        url = f"{self.http_base}/attachments/{channel_id}/{aid}/{quote(filename)}"
        return attachment_payload(aid, filename, ctype, data, url, None)

    def _attach(
        self,
        channel_id: int,
        meta: Any,
        uploads: Sequence[Upload],
        existing: list[dict[str, Any]],
        *,
        editing: bool,
    ) -> list[dict[str, Any]]:
        kept = list(existing) if editing else []
        if editing and isinstance(meta, list):
            keep_ids = {str(m.get("id")) for m in meta}
            kept = [a for a in existing if a["id"] in keep_ids]
        by_index = {str(m.get("id")): m for m in meta or [] if isinstance(m, Mapping)}
        for up in uploads:
            info = by_index.get(str(up.index), {})
            filename = info.get("filename") or up.filename
            guessed = mimetypes.guess_type(filename)[0]
            ctype = guessed or up.content_type
            att = self.make_attachment(filename, up.data, ctype, channel_id=channel_id)
            if info.get("description") is not None:
                att["description"] = info["description"]
            kept.append(att)
        return kept

    def _files_of(self, attachments: Sequence[Mapping[str, Any]]) -> list[tuple[str, str, bytes]]:
        out = []
        for att in attachments:
            filename, ctype, data = self.attachment_data[int(att["id"])]
            out.append((att.get("filename", filename), att.get("content_type", ctype), data))
        return out

    def _set_mentions(self, msg: dict[str, Any], pinged: set[str]) -> None:
        msg["mentions"] = [
            self.user(int(p[5:])).payload() for p in sorted(pinged) if p.startswith("user:")
        ]
        msg["mention_roles"] = [p[5:] for p in sorted(pinged) if p.startswith("role:")]
        msg["mention_everyone"] = "everyone" in pinged or "here" in pinged

    def message_with_nonce(
        self, channel_id: int, author_id: int, payload: Mapping[str, Any]
    ) -> dict[str, Any] | None:
        """With `enforce_nonce`, the message `author_id` made in the channel with the same
        nonce within the last few minutes (Discord returns it instead of making another)."""
        nonce = payload.get("nonce")
        if nonce is None or not payload.get("enforce_nonce"):
            return None
        if len(str(nonce)) > NONCE_CHARS:
            raise DiscordError(400, error_body(50035, "Invalid Form Body"), "nonce too long")
        made = self.nonces.get((channel_id, author_id, str(nonce)))
        if made is None or time.monotonic() - made[1] > NONCE_WINDOW:
            return None
        return self.messages.get(made[0])

    def create_message(
        self,
        channel: FakeChannel,
        *,
        author_id: int,
        payload: Mapping[str, Any],
        uploads: Sequence[Upload] = (),
        reply_to: Mapping[str, Any] | None = None,
        reply_ping: bool = True,
        interaction: FakeInteraction | None = None,
        flags: int | None = None,
        followup: bool = False,
    ) -> dict[str, Any]:
        """Store a new message (and compute who it pings); the caller announces it."""
        mid = self.snowflake()
        flags = int(payload.get("flags") or 0) if flags is None else flags
        content = payload.get("content") or ""
        allowed = payload.get("allowed_mentions") if "allowed_mentions" in payload else None
        replied = int(reply_to["author"]["id"]) if reply_to is not None and reply_ping else None
        pinged = compute_pings(
            content, allowed, in_guild=channel.guild_id is not None, replied_user_id=replied
        )
        attachments = self._attach(
            channel.id, payload.get("attachments"), uploads, [], editing=False
        )
        msg: dict[str, Any] = {
            "id": str(mid),
            "channel_id": str(channel.id),
            "author": self.user(author_id).payload(),
            "content": content,
            "timestamp": iso_now(),
            "edited_timestamp": None,
            "tts": bool(payload.get("tts")),
            "attachments": attachments,
            "embeds": _embeds(payload.get("embeds")),
            "components": _with_component_ids(payload.get("components") or []),
            "pinned": False,
            "type": 19 if reply_to is not None else 0,
            "flags": flags,
        }
        self._set_mentions(msg, pinged)
        _link_attachments(msg)
        if payload.get("nonce") is not None:
            msg["nonce"] = payload["nonce"]
            self.nonces[(channel.id, author_id, str(payload["nonce"]))] = (mid, time.monotonic())
        if payload.get("poll"):
            msg["poll"] = copy.deepcopy(payload["poll"])
        if channel.guild_id is not None:
            msg["guild_id"] = str(channel.guild_id)
            guild = self.guilds[channel.guild_id]
            if interaction is None and author_id != self.bot_user_id:
                msg["member"] = member_payload(
                    self.user(author_id), guild.joined_at, with_user=False
                )
        if interaction is not None:
            msg["webhook_id"] = msg["application_id"] = str(self.application_id)
            if interaction.type == 2 and not followup:
                msg["type"] = 20
            user = self.user(interaction.user_id).payload()
            owners = interaction.payload.get("authorizing_integration_owners", {})
            msg["interaction_metadata"] = {
                "id": str(interaction.id),
                "type": interaction.type,
                "user": user,
                "authorizing_integration_owners": owners,
            }
            if interaction.type == 2:
                msg["interaction_metadata"]["name"] = interaction.data.get("name")
                msg["interaction"] = {
                    "id": str(interaction.id),
                    "type": 2,
                    "name": interaction.data.get("name"),
                    "user": user,
                }
        if reply_to is not None:
            msg["message_reference"] = {
                "type": 0,
                "message_id": reply_to["id"],
                "channel_id": str(channel.id),
            }
            if channel.guild_id is not None:
                msg["message_reference"]["guild_id"] = str(channel.guild_id)
            msg["referenced_message"] = self.public(reply_to)
        msg["_files"] = self._files_of(attachments)
        msg["_pinged"] = set() if flags & (FLAG_EPHEMERAL | FLAG_LOADING) else pinged
        self.messages[mid] = msg
        log.debug("message %s in %s by %s: %.80r", mid, channel.id, author_id, content)
        return msg

    def edit_message(
        self,
        msg: dict[str, Any],
        payload: Mapping[str, Any],
        uploads: Sequence[Upload] = (),
        *,
        replacing_loading: bool = False,
    ) -> dict[str, Any]:
        """Apply an edit; replacing a "thinking" message keeps its visibility, adds its pings."""
        if "content" in payload:
            msg["content"] = payload["content"] or ""
        if "embeds" in payload:
            msg["embeds"] = _embeds(payload["embeds"])
        if "components" in payload:
            msg["components"] = _with_component_ids(payload["components"] or [])
        if "attachments" in payload or uploads:
            msg["attachments"] = self._attach(
                int(msg["channel_id"]),
                payload.get("attachments"),
                uploads,
                msg["attachments"],
                editing=True,
            )
            msg["_files"] = self._files_of(msg["attachments"])
        _link_attachments(msg)
        flags = int(msg.get("flags") or 0)
        if payload.get("flags") is not None:
            flags = (flags & ~_EDITABLE_FLAGS) | (int(payload["flags"]) & _EDITABLE_FLAGS)
        in_guild = msg.get("guild_id") is not None
        allowed = payload.get("allowed_mentions") if "allowed_mentions" in payload else None
        pinged = compute_pings(msg["content"], allowed, in_guild=in_guild)
        self._set_mentions(msg, pinged)
        if replacing_loading:
            flags &= ~FLAG_LOADING
            if not flags & FLAG_EPHEMERAL:
                msg["_pinged"] = set(msg["_pinged"]) | pinged
        else:
            msg["edited_timestamp"] = iso_now()
        msg["flags"] = flags
        return msg

    async def delete_message(self, msg: Mapping[str, Any]) -> None:
        """Delete (kept in ``deleted_messages``) and announce MESSAGE_DELETE."""
        mid = int(msg["id"])
        self.deleted_messages[mid] = self.messages.pop(mid)
        if int(msg.get("flags") or 0) & FLAG_EPHEMERAL or not self._wants(msg):
            return
        event = {"id": msg["id"], "channel_id": msg["channel_id"]}
        if msg.get("guild_id"):
            event["guild_id"] = msg["guild_id"]
        await self.gateway.dispatch("MESSAGE_DELETE", event)

    def _wants(self, msg: Mapping[str, Any]) -> bool:
        if self.identify is None or self.gateway.session_id is None:
            return False
        needed = INTENT_GUILD_MESSAGES if msg.get("guild_id") else INTENT_DIRECT_MESSAGES
        return bool(int(self.identify.get("intents") or 0) & needed)

    async def announce(self, event: str, msg: Mapping[str, Any]) -> None:
        """MESSAGE_CREATE / MESSAGE_UPDATE on the gateway, as this bot's intents allow."""
        if int(msg.get("flags") or 0) & FLAG_EPHEMERAL or not self._wants(msg):
            return
        intents = int((self.identify or {}).get("intents") or 0)
        await self.gateway.dispatch(
            event, visible_to_bot(msg, intents=intents, bot_id=self.bot_user_id)
        )
