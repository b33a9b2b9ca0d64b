"""cogs/common/translator.py: every command string reaches Discord translated for the
locales we have a language for, within Discord's rules (the fake Discord's own checks)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, cast

import discord
import pytest
from discord import app_commands
from discord.app_commands import TranslationContext
from discord.app_commands import TranslationContextLocation as Where
from discord.ext import commands

from bot.i18n import LANGUAGES, NAME_CONTEXT, translate
from cogs import EXTENSIONS
from cogs.common import translator as module
from cogs.common.translator import PicassoTranslator, command_strings, is_command_name
from tests.fakes.discord_limits import check_commands

SPANISH = (discord.Locale.spain_spanish, discord.Locale.latin_american_spanish)


def where(location: Where) -> Any:
    """A translation context at `location` (of no command in particular)."""
    return TranslationContext(location, data=cast("Any", None))  # type: ignore[call-overload]


@pytest.fixture
async def payloads() -> AsyncIterator[list[dict[str, Any]]]:
    """Every command as the bot syncs it, translations included."""
    bot = commands.Bot(
        command_prefix=commands.when_mentioned, intents=discord.Intents.none(), help_command=None
    )
    await bot.tree.set_translator(PicassoTranslator())
    for extension in EXTENSIONS:
        await bot.load_extension(extension)
    translator = bot.tree.translator
    assert translator is not None
    yield [await c.get_translated_payload(bot.tree, translator) for c in bot.tree.get_commands()]
    await bot.close()


def nodes(payload: dict[str, Any]) -> list[dict[str, Any]]:
    """A command and all its options, depth first."""
    found = [payload]
    for option in payload.get("options") or []:
        found += nodes(option)
    return found


async def test_the_synced_commands_keep_discords_rules_in_every_language(
    payloads: list[dict[str, Any]],
) -> None:
    errors = check_commands(payloads)
    assert not errors, errors.flat


LOCALES = {"de": "de", "fr": "fr", "es-ES": "es", "es-419": "es", "ja": "ja"}


def expected(text: str, context: str | None) -> dict[str, str]:
    """The localizations of `text`: each language whose catalog says something else."""
    translated = {
        locale: translate(text, language, context) for locale, language in LOCALES.items()
    }
    return {locale: said for locale, said in translated.items() if said != text}


async def test_every_name_description_and_choice_carries_the_catalogs_words(
    payloads: list[dict[str, Any]],
) -> None:
    for payload in payloads:
        menu = payload.get("type") in (2, 3)
        for node in nodes(payload):
            names = node.get("name_localizations") or {}
            assert names == expected(node["name"], None if menu else NAME_CONTEXT), node["name"]
            if node.get("description"):
                descriptions = node.get("description_localizations") or {}
                assert descriptions == expected(node["description"], None)
                assert set(descriptions) == set(LOCALES), node["description"]
            for choice in node.get("choices") or []:
                assert choice.get("name_localizations", {}) == expected(choice["name"], None)
    help_ = next(p for p in payloads if p["name"] == "help")
    assert set(help_["name_localizations"]) == set(LOCALES)


async def test_the_strings_catalogued_are_the_strings_discord_gets() -> None:
    strings = await command_strings()
    assert {s.text for s in strings if s.name} >= {"imagine", "help", "user_daily_pictures"}
    assert {s.text for s in strings if not s.name} >= {"What Picasso does, and your limits here"}
    for string in strings:
        for language in LANGUAGES:
            text = translate(string.text, language, NAME_CONTEXT if string.name else None)
            if string.name:
                assert is_command_name(text), (language, text)
            else:
                assert 1 <= len(text) <= 100, (language, text)


def test_command_names_follow_discords_rule() -> None:
    assert all(map(is_command_name, ["aide", "vergiss-mich", "usd_persona_día", "ヘルプ", "a1"]))
    assert not any(map(is_command_name, ["Aide", "two words", "", "x" * 33, "what?"]))


async def test_a_translation_breaking_the_rules_is_left_out(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(module, "translate", lambda text, language, context=None: "Two Words")
    translator = PicassoTranslator()
    name, about = where(Where.command_name), where(Where.command_description)
    french = discord.Locale.french
    assert await translator.translate(app_commands.locale_str("help"), french, name) is None
    assert await translator.translate(app_commands.locale_str("Help"), french, about) == (
        "Two Words"
    )


async def test_english_needs_no_translation_and_both_spanish_locales_read_spanish() -> None:
    translator = PicassoTranslator()
    name = where(Where.command_name)
    help_ = app_commands.locale_str("help")
    assert await translator.translate(help_, discord.Locale.american_english, name) is None
    assert await translator.translate(help_, discord.Locale.korean, name) is None
    assert [await translator.translate(help_, locale, name) for locale in SPANISH] == [
        "ayuda",
        "ayuda",
    ]
