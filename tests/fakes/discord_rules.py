"""Discord's own rules, as pure functions, for the fake Discord server.

Everything here is independent of HTTP and websockets: snowflakes, the error JSON shapes,
who a message pings, and what a bot without the MESSAGE_CONTENT intent gets to see. The
limits on messages, components, modals and commands are in :mod:`tests.fakes.discord_limits`;
:mod:`tests.fakes.discord_api` wires it all together.
"""

from __future__ import annotations

import copy
import re
import time
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

# --- constants ---------------------------------------------------------------------------

DISCORD_EPOCH_MS = 1_420_070_400_000

INTENT_GUILD_MESSAGES = 1 << 9
INTENT_DIRECT_MESSAGES = 1 << 12
INTENT_MESSAGE_CONTENT = 1 << 15

FLAG_EPHEMERAL = 1 << 6
FLAG_LOADING = 1 << 7
FLAG_COMPONENTS_V2 = 1 << 15

MAX_UPLOAD_BYTES = 10 * 1024 * 1024
"""Per-file upload limit of an unboosted guild / a DM (10 MiB)."""


def _bits(*positions: int) -> int:
    value = 0
    for pos in positions:
        value |= 1 << pos
    return value


SEND_MESSAGES = 1 << 11
SEND_MESSAGES_IN_THREADS = 1 << 38

DEFAULT_MEMBER_PERMISSIONS = _bits(
    0,  # CREATE_INSTANT_INVITE
    6,  # ADD_REACTIONS
    9,  # STREAM
    10,  # VIEW_CHANNEL
    11,  # SEND_MESSAGES
    14,  # EMBED_LINKS
    15,  # ATTACH_FILES
    16,  # READ_MESSAGE_HISTORY
    17,  # MENTION_EVERYONE (on for @everyone in a new server)
    18,  # USE_EXTERNAL_EMOJIS
    20,  # CONNECT
    21,  # SPEAK
    25,  # USE_VAD
    26,  # CHANGE_NICKNAME
    31,  # USE_APPLICATION_COMMANDS
    35,  # CREATE_PUBLIC_THREADS
    36,  # CREATE_PRIVATE_THREADS
    37,  # USE_EXTERNAL_STICKERS
    38,  # SEND_MESSAGES_IN_THREADS
    39,  # USE_EMBEDDED_ACTIVITIES
    46,  # SEND_VOICE_MESSAGES
    49,  # SEND_POLLS
    50,  # USE_EXTERNAL_APPS
)
"""What a plain member of a fresh server may do (no moderation, no administrator)."""

# --- snowflakes and timestamps -------------------------------------------------------------


class SnowflakeGenerator:
    """Increasing, time-based ids, so ``discord.utils.snowflake_time`` gives "now"."""

    def __init__(self) -> None:
        self._last = 0

    def __call__(self) -> int:
        """Return the next id (strictly greater than every id handed out before)."""
        ms = int(time.time() * 1000) - DISCORD_EPOCH_MS
        value = (ms << 22) | (1 << 17) | (1 << 12)
        if value <= self._last:
            value = self._last + 1
        self._last = value
        return value


def iso_now() -> str:
    """The current time as Discord writes timestamps (ISO 8601, UTC offset)."""
    return datetime.now(UTC).isoformat()


# --- error shapes --------------------------------------------------------------------------


def error_body(code: int, message: str, errors: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Discord's JSON error body."""
    body: dict[str, Any] = {"code": code, "message": message}
    if errors:
        body["errors"] = dict(errors)
    return body


class FormErrors:
    """Collects field errors and renders them in Discord's 50035 "Invalid Form Body" shape."""

    def __init__(self) -> None:
        self.tree: dict[str, Any] = {}
        self.flat: list[str] = []

    def add(self, path: Sequence[str | int], code: str, message: str) -> None:
        """Record an error for the field at ``path`` (e.g. ``("embeds", 0, "title")``)."""
        node = self.tree
        for part in path:
            node = node.setdefault(str(part), {})
        node.setdefault("_errors", []).append({"code": code, "message": message})
        self.flat.append(f"{'.'.join(str(p) for p in path) or '<root>'}: {code} ({message})")

    def max_len(self, path: Sequence[str | int], value: Any, limit: int) -> None:
        """Error if ``value`` is a string/list longer than ``limit``."""
        if isinstance(value, str | list) and len(value) > limit:
            self.add(path, "BASE_TYPE_MAX_LENGTH", f"Must be {limit} or fewer in length.")

    def between(self, path: Sequence[str | int], value: Any, low: int, high: int) -> None:
        """Error unless ``value`` is a string/list with ``low <= len <= high``."""
        if not isinstance(value, str | list) or not low <= len(value) <= high:
            self.add(path, "BASE_TYPE_BAD_LENGTH", f"Must be between {low} and {high} in length.")

    def __bool__(self) -> bool:
        return bool(self.flat)

    def body(self) -> dict[str, Any]:
        """The full 50035 error body."""
        return error_body(50035, "Invalid Form Body", self.tree)


# --- mentions ------------------------------------------------------------------------------

_USER_MENTION = re.compile(r"<@!?(\d{1,20})>")
_ROLE_MENTION = re.compile(r"<@&(\d{1,20})>")


def mentioned_in(content: str) -> tuple[set[int], set[int], bool, bool]:
    """(user ids, role ids, @everyone, @here) written in ``content``."""
    users = {int(x) for x in _USER_MENTION.findall(content)}
    roles = {int(x) for x in _ROLE_MENTION.findall(content)}
    return users, roles, "@everyone" in content, "@here" in content


def compute_pings(
    content: str | None,
    allowed_mentions: Mapping[str, Any] | None,
    *,
    in_guild: bool,
    replied_user_id: int | None = None,
) -> set[str]:
    """Who a message would notify: ``{"everyone", "here", "user:<id>", "role:<id>"}``.

    Discord's rules: with no ``allowed_mentions`` every mention written in the content pings
    (and a reply pings the replied-to author); otherwise only what ``parse`` / ``users`` /
    ``roles`` / ``replied_user`` allow. @everyone/@here and roles do nothing in DMs.
    Mentions inside code blocks are counted too (the conservative choice for a test rig).
    """
    users, roles, everyone, here = mentioned_in(content or "")
    pinged: set[str] = set()
    if allowed_mentions is None:
        allowed_users: Iterable[int] | None = None
        allowed_roles: Iterable[int] | None = None
        parse = {"everyone", "users", "roles"}
        replied = True
    else:
        parse = set(allowed_mentions.get("parse") or [])
        allowed_users = {int(u) for u in allowed_mentions.get("users") or []}
        allowed_roles = {int(r) for r in allowed_mentions.get("roles") or []}
        replied = bool(allowed_mentions.get("replied_user", False))
    for uid in users:
        if "users" in parse or (allowed_users is not None and uid in allowed_users):
            pinged.add(f"user:{uid}")
    if in_guild:
        for rid in roles:
            if "roles" in parse or (allowed_roles is not None and rid in allowed_roles):
                pinged.add(f"role:{rid}")
        if "everyone" in parse:
            if everyone:
                pinged.add("everyone")
            if here:
                pinged.add("here")
    if replied_user_id is not None and replied:
        pinged.add(f"user:{replied_user_id}")
    return pinged


def visible_to_bot(message: Mapping[str, Any], *, intents: int, bot_id: int) -> dict[str, Any]:
    """The message as a bot with ``intents`` receives it on the gateway.

    Without MESSAGE_CONTENT, other users' guild messages lose content, embeds, attachments,
    components and polls unless they mention the bot (a reply that pings it counts).
    """
    out = copy.deepcopy(dict(message))
    out.pop("_files", None)
    out.pop("_pinged", None)
    if isinstance(out.get("referenced_message"), Mapping):
        out["referenced_message"] = visible_to_bot(
            out["referenced_message"], intents=intents, bot_id=bot_id
        )
    if intents & INTENT_MESSAGE_CONTENT:
        return out
    author = int((out.get("author") or {}).get("id", 0))
    mentioned = any(int(u.get("id", 0)) == bot_id for u in out.get("mentions") or [])
    if author == bot_id or mentioned or out.get("guild_id") is None:
        return out
    out.update(content="", embeds=[], attachments=[], components=[])
    out.pop("poll", None)
    return out
