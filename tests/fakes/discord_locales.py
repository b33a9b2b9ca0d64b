"""Discord's languages in the fake: which locales exist, the rules localized command strings
follow (checked on every command write), and what GET /commands leaves out unless asked
``with_localizations``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final

from tests.fakes.discord_rules import FormErrors

# Discord's locales (the spec's AvailableLocalesEnum).
LOCALES: Final = frozenset(
    "ar bg cs da de el en-GB en-US es-419 es-ES fi fr he hi hr hu id it ja ko lt nl no pl "
    "pt-BR ro ru sv-SE th tr uk vi zh-CN zh-TW".split()
)
LOCALIZED: Final = ("name_localizations", "description_localizations")


def check_localizations(
    errors: FormErrors,
    path: tuple[str | int, ...],
    node: Mapping[str, Any],
    *,
    name_ok: Callable[[str], bool] | None,
    name_limit: int = 32,
) -> None:
    """Keys are Discord locales; a localized name follows `name_ok` (the command name rule,
    or None: only 1–`name_limit` characters); a localized description is 1–100 characters."""
    for key in LOCALIZED:
        values = node.get(key)
        if not values:
            continue
        for locale, text in values.items():
            where = (*path, key, locale)
            if locale not in LOCALES:
                errors.add(
                    where, "ENUM_TYPE_COERCE", f'Value "{locale}" is not a valid enum value.'
                )
            elif key == "description_localizations":
                errors.between(where, text, 1, 100)
            elif name_ok is None:
                errors.between(where, text, 1, name_limit)
            elif not isinstance(text, str) or not name_ok(text):
                errors.add(where, "APPLICATION_COMMAND_INVALID_NAME", "Command name is invalid")


def check_unique_names(
    errors: FormErrors, path: tuple[str | int, ...], siblings: Sequence[Mapping[str, Any]]
) -> None:
    """In each locale, siblings (of one type) show different names: their localized one, else
    the default."""
    locales = {loc for node in siblings for loc in node.get("name_localizations") or {}}
    for locale in sorted(locales):
        shown = [
            (
                (node.get("name_localizations") or {}).get(locale) or node.get("name"),
                node.get("type"),
            )
            for node in siblings
        ]
        if len(set(shown)) != len(shown):
            errors.add(
                (*path, "name_localizations", locale),
                "APPLICATION_COMMANDS_DUPLICATE_NAME",
                f"Localized names must be unique ({locale})",
            )


def without_localizations(node: Any) -> Any:
    """A command as GET shows it without ``with_localizations``: no localization maps."""
    if isinstance(node, list):
        return [without_localizations(item) for item in node]
    if not isinstance(node, Mapping):
        return node
    return {
        key: without_localizations(value) for key, value in node.items() if key not in LOCALIZED
    }
