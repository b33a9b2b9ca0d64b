"""Discord's limits on what a bot sends, as pure functions: messages (content, embeds,
components, allowed mentions), modals and application commands.

Each check returns :class:`tests.fakes.discord_rules.FormErrors`, rendered as Discord's
50035 "Invalid Form Body" when not empty.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from tests.fakes.discord_locales import check_localizations, check_unique_names
from tests.fakes.discord_rules import FLAG_COMPONENTS_V2, FormErrors

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
        if style != 6 and not comp.get("label") and not comp.get("emoji"):
            errors.add((*path, "label"), "BASE_TYPE_REQUIRED", "A button needs a label or an emoji")
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
        low, high = comp.get("min_values"), comp.get("max_values")
        if low is not None and high is not None and int(low) > int(high):
            errors.add(
                (*path, "min_values"),
                "SELECT_COMPONENT_MIN_VALUES_EXCEEDS_MAX",
                "min_values must be less than or equal to max_values",
            )
        if ctype == 3:
            options = comp.get("options") or []
            errors.between((*path, "options"), options, 1, 25)
            for k, opt in enumerate(options):
                for key in ("label", "value", "description"):
                    errors.max_len((*path, "options", k, key), opt.get(key), 100)
            if options and int(high if high is not None else 1) > len(options):
                errors.add(
                    (*path, "max_values"),
                    "SELECT_COMPONENT_MAX_VALUES_EXCEEDS_OPTIONS",
                    "max_values must be less than or equal to the number of options",
                )
    elif ctype == 4:  # text input
        low, high = comp.get("min_length"), comp.get("max_length")
        if low is not None and high is not None and int(low) > int(high):
            errors.add(
                (*path, "min_length"),
                "TEXT_INPUT_MIN_LENGTH_EXCEEDS_MAX",
                "min_length must be less than or equal to max_length",
            )
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
        for j, item in enumerate(items):
            if item.get("type") == 4:
                errors.add(
                    ("components", i, "components", j, "type"),
                    "UNION_TYPE_CHOICES",
                    "Text inputs can only be used in modals",
                )
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
    """Modal limits: title 1-45, custom_id 1-100, 1-5 top-level components (an action row
    holds exactly one input, never a button), label and text input limits."""
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
        if top.get("type") == 1 and (
            len(inner) != 1 or not isinstance(inner[0], Mapping) or inner[0].get("type") == 2
        ):
            errors.add(
                (*path, "components"),
                "COMPONENT_LAYOUT_WIDTH_EXCEEDED",
                "An action row in a modal holds exactly one input (no buttons)",
            )
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
    check_localizations(errors, path, option, name_ok=_valid_name)
    choices = option.get("choices")
    errors.max_len((*path, "choices"), choices, 25)
    for k, choice in enumerate(choices or []):
        errors.between((*path, "choices", k, "name"), choice.get("name"), 1, 100)
        errors.max_len((*path, "choices", k, "value"), choice.get("value"), 100)
        check_localizations(errors, (*path, "choices", k), choice, name_ok=None, name_limit=100)
    _check_options(errors, path, option.get("options"))


def _valid_name(name: str) -> bool:
    return bool(_NAME_RE.match(name)) and name == name.lower()


def _check_name(errors: FormErrors, path: tuple[str | int, ...], name: Any) -> None:
    if not isinstance(name, str) or not _valid_name(name):
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
    check_unique_names(errors, path, options)
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
    check_unique_names(errors, (), commands)
    for i, command in enumerate(commands):
        ctype = command.get("type", 1)
        if keys.count((command.get("name"), ctype)) > 1:
            errors.add(
                (i, "name"),
                "APPLICATION_COMMANDS_DUPLICATE_NAME",
                "Application command names must be unique",
            )
        check_localizations(errors, (i,), command, name_ok=_valid_name if ctype == 1 else None)
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
