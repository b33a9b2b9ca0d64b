"""Discord's own rules, as pure functions, for the fake Discord server.

Everything here is independent of HTTP and websockets: snowflakes, the error JSON shapes,
message/modal/command limits, who a message pings, and what a bot without the
MESSAGE_CONTENT intent gets to see. :mod:`tests.fakes.discord_api` wires it together.
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


# --- messages ------------------------------------------------------------------------------

_EMBED_LIMITS = {"title": 256, "description": 4096}


def _embed_chars(embed: Mapping[str, Any]) -> int:
    total = len(embed.get("title") or "") + len(embed.get("description") or "")
    total += len((embed.get("footer") or {}).get("text") or "")
    total += len((embed.get("author") or {}).get("name") or "")
    for field in embed.get("fields") or []:
        total += len(field.get("name") or "") + len(field.get("value") or "")
    return total


def check_embeds(errors: FormErrors, embeds: Any) -> None:
    """Embed limits: 10 embeds, 6000 characters across them, per-field maxima."""
    if not isinstance(embeds, list):
        return
    errors.max_len(("embeds",), embeds, 10)
    total = 0
    for i, embed in enumerate(embeds):
        if not isinstance(embed, Mapping):
            continue
        total += _embed_chars(embed)
        for key, limit in _EMBED_LIMITS.items():
            errors.max_len(("embeds", i, key), embed.get(key), limit)
        errors.max_len(
            ("embeds", i, "footer", "text"), (embed.get("footer") or {}).get("text"), 2048
        )
        errors.max_len(
            ("embeds", i, "author", "name"), (embed.get("author") or {}).get("name"), 256
        )
        fields = embed.get("fields") or []
        errors.max_len(("embeds", i, "fields"), fields, 25)
        for j, field in enumerate(fields):
            for key, limit in (("name", 256), ("value", 1024)):
                if not field.get(key):
                    errors.add(
                        ("embeds", i, "fields", j, key),
                        "BASE_TYPE_REQUIRED",
                        "This field is required",
                    )
                errors.max_len(("embeds", i, "fields", j, key), field.get(key), limit)
    if total > 6000:
        errors.add(
            ("embeds",), "MAX_EMBED_SIZE_EXCEEDED", "Embed size exceeds maximum size of 6000"
        )


_SELECT_TYPES = {3, 5, 6, 7, 8}


def _check_component(
    errors: FormErrors, path: tuple[str | int, ...], comp: Mapping[str, Any], seen: set[str]
) -> int:
    """Check one component (recursively); return how many components it counts as."""
    ctype = comp.get("type")
    count = 1
    custom_id = comp.get("custom_id")
    if custom_id is not None:
        errors.max_len((*path, "custom_id"), custom_id, 100)
        if custom_id in seen:
            errors.add(
                (*path, "custom_id"),
                "COMPONENT_CUSTOM_ID_DUPLICATED",
                "Component custom id cannot be duplicated",
            )
        seen.add(custom_id)
    if ctype == 2:  # button
        errors.max_len((*path, "label"), comp.get("label"), 80)
        style = comp.get("style")
        if style == 5:
            if not comp.get("url"):
                errors.add((*path, "url"), "BASE_TYPE_REQUIRED", "This field is required")
            if custom_id is not None:
                errors.add(
                    (*path, "custom_id"),
                    "BUTTON_COMPONENT_CUSTOM_ID_NOT_ALLOWED",
                    "A link button cannot have a custom id",
                )
        elif style != 6 and not custom_id:
            errors.add((*path, "custom_id"), "BASE_TYPE_REQUIRED", "This field is required")
    elif ctype in _SELECT_TYPES:
        if not custom_id:
            errors.add((*path, "custom_id"), "BASE_TYPE_REQUIRED", "This field is required")
        errors.max_len((*path, "placeholder"), comp.get("placeholder"), 150)
        if ctype == 3:
            options = comp.get("options") or []
            errors.between((*path, "options"), options, 1, 25)
            for k, opt in enumerate(options):
                for key in ("label", "value", "description"):
                    errors.max_len((*path, "options", k, key), opt.get(key), 100)
    children: list[tuple[tuple[str | int, ...], Mapping[str, Any]]] = []
    for key in ("components",):
        for k, child in enumerate(comp.get(key) or []):
            children.append(((*path, key, k), child))
    for key in ("accessory", "component"):
        if isinstance(comp.get(key), Mapping):
            children.append(((*path, key), comp[key]))
    for child_path, child in children:
        count += _check_component(errors, child_path, child, seen)
    return count


def check_components(errors: FormErrors, components: Any, flags: int) -> None:
    """Component limits: 5 action rows of 5 buttons (or 1 select); v2 layouts: 40 in total."""
    if not isinstance(components, list):
        return
    seen: set[str] = set()
    if flags & FLAG_COMPONENTS_V2:
        total = sum(
            _check_component(errors, ("components", i), c, seen) for i, c in enumerate(components)
        )
        if total > 40:
            errors.add(("components",), "BASE_TYPE_MAX_LENGTH", "Must be 40 or fewer in length.")
        return
    errors.max_len(("components",), components, 5)
    for i, row in enumerate(components):
        if row.get("type") != 1:
            errors.add(
                ("components", i, "type"),
                "UNION_TYPE_CHOICES",
                "Top-level components must be action rows",
            )
            continue
        items = row.get("components") or []
        errors.between(("components", i, "components"), items, 1, 5)
        if any(c.get("type") in _SELECT_TYPES for c in items) and len(items) > 1:
            errors.add(
                ("components", i, "components"),
                "COMPONENT_LAYOUT_WIDTH_EXCEEDED",
                "The specified component exceeds the maximum width",
            )
        _check_component(errors, ("components", i), row, seen)


def check_allowed_mentions(errors: FormErrors, allowed: Any) -> None:
    """``parse`` and explicit lists are mutually exclusive; at most 100 ids each."""
    if not isinstance(allowed, Mapping):
        return
    parse = allowed.get("parse") or []
    for kind in ("users", "roles"):
        ids = allowed.get(kind)
        if ids and kind in parse:
            errors.add(
                ("allowed_mentions", "parse"),
                "MESSAGE_ALLOWED_MENTIONS_PARSE_EXCLUSIVE",
                f'parse:["{kind}"] and {kind}: [ids...] are mutually exclusive.',
            )
        errors.max_len(("allowed_mentions", kind), ids, 100)


def check_message(payload: Mapping[str, Any]) -> FormErrors:
    """All the limits a message create/edit body must respect."""
    errors = FormErrors()
    errors.max_len(("content",), payload.get("content"), 2000)
    check_embeds(errors, payload.get("embeds"))
    flags = int(payload.get("flags") or 0)
    check_components(errors, payload.get("components"), flags)
    check_allowed_mentions(errors, payload.get("allowed_mentions"))
    if flags & FLAG_COMPONENTS_V2:
        for key in ("content", "embeds"):
            if payload.get(key):
                errors.add(
                    (key,),
                    "MESSAGE_CANNOT_USE_LEGACY_FIELDS_WITH_COMPONENTS_V2",
                    "The 'content' and 'embeds' fields cannot be used with IS_COMPONENTS_V2",
                )
    return errors


def is_empty_message(payload: Mapping[str, Any], n_files: int) -> bool:
    """True if a new message would have nothing in it (Discord answers 50006)."""
    keys = ("content", "embeds", "components", "sticker_ids", "poll", "attachments")
    return n_files == 0 and not any(payload.get(k) for k in keys)


def check_modal(data: Mapping[str, Any]) -> FormErrors:
    """Modal limits: title 1-45, custom_id 1-100, 1-5 top-level components, text input limits."""
    errors = FormErrors()
    errors.between(("data", "title"), data.get("title"), 1, 45)
    errors.between(("data", "custom_id"), data.get("custom_id"), 1, 100)
    components = data.get("components")
    errors.between(("data", "components"), components, 1, 5)
    seen: set[str] = set()
    for i, top in enumerate(components or []):
        path: tuple[str | int, ...] = ("data", "components", i)
        _check_component(errors, path, top, seen)
        if top.get("type") == 18:
            errors.between((*path, "label"), top.get("label"), 1, 45)
            errors.max_len((*path, "description"), top.get("description"), 100)
        inner = [top.get("component")] if top.get("type") == 18 else top.get("components") or []
        for j, comp in enumerate(inner):
            if not isinstance(comp, Mapping) or comp.get("type") != 4:
                continue
            cpath = (*path, "component") if top.get("type") == 18 else (*path, "components", j)
            if top.get("type") == 1:
                errors.between((*cpath, "label"), comp.get("label"), 1, 45)
            errors.max_len((*cpath, "placeholder"), comp.get("placeholder"), 100)
            errors.max_len((*cpath, "value"), comp.get("value"), 4000)
            for key in ("min_length", "max_length"):
                if comp.get(key) is not None and not 0 <= int(comp[key]) <= 4000:
                    errors.add(
                        (*cpath, key),
                        "NUMBER_TYPE_MAX",
                        "int value should be less than or equal to 4000.",
                    )
    return errors


# --- application commands ------------------------------------------------------------------

_NAME_RE = re.compile(r"^[-_'\w\u0900-\u097F\u0E00-\u0E7F]{1,32}$")


def _check_option(
    errors: FormErrors, path: tuple[str | int, ...], option: Mapping[str, Any]
) -> None:
    _check_name(errors, path, option.get("name"))
    errors.between((*path, "description"), option.get("description"), 1, 100)
    choices = option.get("choices")
    errors.max_len((*path, "choices"), choices, 25)
    for k, choice in enumerate(choices or []):
        errors.between((*path, "choices", k, "name"), choice.get("name"), 1, 100)
        errors.max_len((*path, "choices", k, "value"), choice.get("value"), 100)
    _check_options(errors, path, option.get("options"))


def _check_name(errors: FormErrors, path: tuple[str | int, ...], name: Any) -> None:
    if not isinstance(name, str) or not _NAME_RE.match(name) or name != name.lower():
        errors.add((*path, "name"), "APPLICATION_COMMAND_INVALID_NAME", "Command name is invalid")


def _check_options(errors: FormErrors, path: tuple[str | int, ...], options: Any) -> None:
    if not options:
        return
    errors.max_len((*path, "options"), options, 25)
    names = [o.get("name") for o in options]
    if len(set(names)) != len(names):
        errors.add(
            (*path, "options"),
            "APPLICATION_COMMAND_OPTION_NAME_ALREADY_EXISTS",
            "Option names must be unique",
        )
    optional_seen = False
    for k, option in enumerate(options):
        if option.get("type") not in (1, 2):
            if option.get("required"):
                if optional_seen:
                    errors.add(
                        (*path, "options", k, "required"),
                        "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID",
                        "Required options must be placed before non-required options",
                    )
            else:
                optional_seen = True
        _check_option(errors, (*path, "options", k), option)


def check_commands(commands: Any) -> FormErrors:
    """Bulk-overwrite rules: ≤100 chat commands, names lowercase ≤32, descriptions 1-100, ...."""
    errors = FormErrors()
    if not isinstance(commands, list):
        errors.add((), "LIST_TYPE_CONVERT", "Only iterables may be used in a ListType.")
        return errors
    chat = [c for c in commands if c.get("type", 1) == 1]
    if len(chat) > 100:
        errors.add((), "BASE_TYPE_MAX_LENGTH", "Must be 100 or fewer in length.")
    keys = [(c.get("name"), c.get("type", 1)) for c in commands]
    for i, command in enumerate(commands):
        ctype = command.get("type", 1)
        if keys.count((command.get("name"), ctype)) > 1:
            errors.add(
                (i, "name"),
                "APPLICATION_COMMANDS_DUPLICATE_NAME",
                "Application command names must be unique",
            )
        if ctype == 1:
            _check_name(errors, (i,), command.get("name"))
            errors.between((i, "description"), command.get("description"), 1, 100)
            _check_options(errors, (i,), command.get("options"))
        else:
            errors.between((i, "name"), command.get("name"), 1, 32)
            if command.get("description"):
                errors.add(
                    (i, "description"),
                    "APPLICATION_COMMAND_INVALID_DESCRIPTION",
                    "Context menu commands cannot have a description",
                )
    return errors


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
