"""Slash commands in Discord's languages: names, descriptions and choices from the catalogs.

discord.py hands every string of a command (names, descriptions, option names, choices) to
`PicassoTranslator.translate` for each of Discord's locales when it builds the payloads it
syncs; what it returns becomes the `*_localizations`. Names (of commands, groups and
options) are looked up in the catalogs' "command name" context, because Discord allows only
lowercase letters, digits, `-` and `_` there; a translation breaking Discord's rules is left
out (the English shows) and logged.

`command_strings` lists every such string from the commands themselves, so the catalogs'
extraction (`extract_commands`, named in babel.cfg) never misses one.
"""

from __future__ import annotations

import asyncio
import logging
import unicodedata
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from typing import IO, Any, Final

import discord
from discord import app_commands
from discord.app_commands import TranslationContextLocation as Where
from discord.ext import commands

from bot.i18n import ENGLISH, NAME_CONTEXT, language_of, translate
from cogs import EXTENSIONS

log = logging.getLogger(__name__)

NAMES: Final = frozenset({Where.command_name, Where.group_name, Where.parameter_name})
NAME_LIMIT: Final = 32
TEXT_LIMIT: Final = 100  # descriptions and choice names
# Discord's rule for names, ^[-_\p{L}\p{N}\p{sc=Deva}\p{sc=Thai}]{1,32}$, lowercase.
DEVANAGARI, THAI = ("\u0900", "\u097f"), ("\u0e00", "\u0e7f")


def _name_character(char: str) -> bool:
    return (
        char in "-_"
        or unicodedata.category(char)[0] in "LN"
        or DEVANAGARI[0] <= char <= DEVANAGARI[1]
        or THAI[0] <= char <= THAI[1]
    )


def is_command_name(text: str) -> bool:
    """Whether Discord takes `text` as the name of a command, group or option."""
    return (
        1 <= len(text) <= NAME_LIMIT
        and text == text.lower()
        and all(_name_character(char) for char in text)
    )


def _is_name(context: app_commands.TranslationContextTypes) -> bool:
    """Names of commands, groups and options (a context menu's name is a label)."""
    return context.location in NAMES and not isinstance(context.data, app_commands.ContextMenu)


def _fits(text: str, context: app_commands.TranslationContextTypes) -> bool:
    if _is_name(context):
        return is_command_name(text)
    limit = NAME_LIMIT if context.location is Where.command_name else TEXT_LIMIT
    return 1 <= len(text) <= limit


class PicassoTranslator(app_commands.Translator):
    """Command strings from the catalogs, for the locales we have a language for."""

    async def translate(
        self,
        string: app_commands.locale_str,
        locale: discord.Locale,
        context: app_commands.TranslationContextTypes,
    ) -> str | None:
        language = language_of(locale.value)
        if language == ENGLISH:
            return None  # the commands' own text
        english = string.message
        text = translate(english, language, NAME_CONTEXT if _is_name(context) else None)
        if text == english:
            return None
        if not _fits(text, context):
            log.warning("%s: %r breaks Discord's rules for %s", language, text, context.location)
            return None
        return text


@dataclass(frozen=True, slots=True)
class CommandString:
    """One string of a command, as the catalogs hold it."""

    text: str
    name: bool  # a name of a command, group or option (the "command name" context)
    where: str  # e.g. "parameter name"


class _Recorder(app_commands.Translator):
    """Records what discord.py asks to translate (once, for one locale)."""

    def __init__(self) -> None:
        self.found: dict[tuple[str, bool], CommandString] = {}

    async def translate(
        self,
        string: app_commands.locale_str,
        locale: discord.Locale,
        context: app_commands.TranslationContextTypes,
    ) -> str | None:
        if locale is discord.Locale.french:
            name = _is_name(context)
            where = context.location.name.replace("_", " ")
            self.found.setdefault(
                (string.message, name), CommandString(string.message, name, where)
            )
        return None


async def command_strings(extensions: Collection[str] = EXTENSIONS) -> list[CommandString]:
    """Every string Discord shows of the bot's commands (with `extensions` loaded: the bot's
    own by default), as discord.py hands them to the translator."""
    bot = commands.Bot(
        command_prefix=commands.when_mentioned, intents=discord.Intents.none(), help_command=None
    )
    recorder = _Recorder()
    try:
        for extension in extensions:
            await bot.load_extension(extension)
        for command in bot.tree.get_commands():
            await command.get_translated_payload(bot.tree, recorder)
    finally:
        await bot.close()
    return list(recorder.found.values())


RULES: Final = {
    True: "Translators: a {where} in Discord: lowercase letters, digits, - and _ only, "
    "no spaces, at most 32 characters",
    False: "Translators: a {where} in Discord: at most 100 characters",
}


def extract_commands(
    fileobj: IO[bytes], keywords: Mapping[str, Any], comment_tags: Collection[str], options: Any
) -> Iterator[tuple[int, str, str | tuple[str, str], list[str]]]:
    """A Babel extraction method (babel.cfg): the strings of the bot's commands, names in
    the "command name" context, each with Discord's rule for it as a translator comment."""
    for string in asyncio.run(command_strings()):
        comment = RULES[string.name].format(where=string.where)
        if string.name:
            yield 1, "pgettext", (NAME_CONTEXT, string.text), [comment]
        else:
            yield 1, "_", string.text, [comment]
