"""The languages Picasso speaks: which one the current reader reads, and the translations.

Catalogs are gettext files managed with Babel: `bot/locales/<lang>/LC_MESSAGES/picasso.po`,
compiled to `.mo` next to them (README, "Translations"). English is the language of the
source and the fallback for anything not translated.

The reader's language lives in a context variable: each interaction and each job runs in its
own asyncio task, so each reads its own. Set it where work for a person starts (`set_locale`,
`use_locale`), then translate when a sentence is made:

    _("Wait {seconds} s").format(seconds=n)   # translate the msgid, then fill it in

`N_` only marks a string for extraction (module-level constants, translated where shown).
This module needs only the standard library and Babel: the domain may use it.
"""

from __future__ import annotations

import gettext as _gettext
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date
from functools import cache
from pathlib import Path
from typing import Final, Literal

DOMAIN: Final = "picasso"
LOCALES_DIR: Final = Path(__file__).resolve().parent / "locales"
ENGLISH: Final = "en"
LANGUAGES: Final = (ENGLISH, "de", "fr", "es", "ja")
# Discord's locale codes for the languages we have; every other locale reads English.
DISCORD_LOCALES: Final = {
    "en-US": ENGLISH,
    "en-GB": ENGLISH,
    "de": "de",
    "fr": "fr",
    "es-ES": "es",
    "es-419": "es",
    "ja": "ja",
}
# The context of command, group and option names in the catalogs: Discord's naming rules.
NAME_CONTEXT: Final = "command name"

_language: ContextVar[str] = ContextVar("picasso_language", default=ENGLISH)


def language_of(locale: str | None) -> str:
    """Our catalog for a Discord locale (`fr`, `es-419`, …) or a catalog code; else English."""
    if not locale:
        return ENGLISH
    return locale if locale in LANGUAGES else DISCORD_LOCALES.get(locale, ENGLISH)


def current_language() -> str:
    """The language sentences are made in right now (`en`, `de`, `fr`, `es`, `ja`)."""
    return _language.get()


def set_locale(locale: str | None) -> None:
    """Make sentences in `locale`'s language from here on in this task (and the tasks it
    starts); every task begins in English."""
    _language.set(language_of(locale))


@contextmanager
def use_locale(locale: str | None) -> Iterator[str]:
    """Make sentences in `locale`'s language inside the block; yields the language."""
    language = language_of(locale)
    token = _language.set(language)
    try:
        yield language
    finally:
        _language.reset(token)


@cache
def catalog(language: str) -> _gettext.NullTranslations:
    """The compiled catalog of `language` (no translation at all if it is missing)."""
    return _gettext.translation(DOMAIN, LOCALES_DIR, languages=[language], fallback=True)


def catalog_file(language: str) -> Path | None:
    """Where `language`'s compiled catalog is, or None when it is missing."""
    found = _gettext.find(DOMAIN, LOCALES_DIR, languages=[language])
    return Path(found) if found else None


def translate(msgid: str, language: str, context: str | None = None) -> str:
    """`msgid` in `language` (itself where the catalog has no translation)."""
    if context is None:
        return catalog(language).gettext(msgid)
    return catalog(language).pgettext(context, msgid)


def _(msgid: str) -> str:
    """`msgid` in the reader's language."""
    return catalog(current_language()).gettext(msgid)


gettext = _


def ngettext(singular: str, plural: str, n: int) -> str:
    """The form of `singular`/`plural` for `n`, in the reader's language (fill in `n` after)."""
    return catalog(current_language()).ngettext(singular, plural, n)


def pgettext(context: str, msgid: str) -> str:
    """`msgid` in the reader's language, where the same English says different things."""
    return catalog(current_language()).pgettext(context, msgid)


def N_(msgid: str) -> str:
    """Mark `msgid` for the catalogs without translating it (translate it where it is shown)."""
    return msgid


def month_day(day: date) -> str:
    """`July 1`, `1. Juli`, `1 juillet`, `1 de julio`, `7月1日`: a day as the reader writes it."""
    from babel.dates import format_skeleton  # its locale data loads on first use

    return format_skeleton("MMMMd", day, locale=current_language())


def list_of(items: Sequence[str], word: Literal["and", "or"] = "and") -> str:
    """`a, b and c` (`word`: and · or) the way the reader's language lists things."""
    if current_language() == ENGLISH or len(items) <= 1:
        if len(items) <= 1:
            return "".join(items)
        return f"{', '.join(items[:-1])} {word} {items[-1]}"
    from babel.lists import format_list

    style: Literal["or", "standard"] = "or" if word == "or" else "standard"
    return format_list(list(items), style=style, locale=current_language())
