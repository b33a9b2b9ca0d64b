"""bot/i18n.py and what rides on it: Discord locales read our catalogs (English for the rest),
errors are translated when they are read (by whoever reads them), and a job keeps the
language of the person who asked for it, even when it runs in a task of its own."""

from __future__ import annotations

import asyncio
import dataclasses
import importlib
import json
import pkgutil
from datetime import UTC, date, datetime

import aiohttp
import pytest

import bot
import cogs
from bot.errors import PicassoError, ProviderBusy, SafetyRejected, Sentence
from bot.i18n import (
    _,
    current_language,
    language_of,
    list_of,
    month_day,
    ngettext,
    set_locale,
    translate,
    use_locale,
)
from bot.models import ImageRequest
from bot.policy import LimitKind, LimitReached, Refused
from bot.storage.job_records import JobSpec
from bot.storage.repository import Store
from tests.unit.doubles import ScriptedImages
from tests.unit.jobs_rig import make_rig, order

FRENCH_SAFETY = "Votre demande a été refusée par le système de sécurité — essayez de la reformuler."


@pytest.mark.parametrize(
    ("locale", "language"),
    [
        ("en-US", "en"),
        ("en-GB", "en"),
        ("de", "de"),
        ("fr", "fr"),
        ("es-ES", "es"),
        ("es-419", "es"),
        ("ja", "ja"),
        ("ko", "en"),
        ("pt-BR", "en"),
        (None, "en"),
        ("", "en"),
    ],
)
def test_discord_locales_map_to_our_catalogs(locale: str | None, language: str) -> None:
    assert language_of(locale) == language


def test_a_language_holds_inside_its_block_only() -> None:
    assert current_language() == "en"
    with use_locale("fr") as language:
        assert language == "fr"
        assert _("Nothing was erased.") == "Rien n’a été effacé."
        with use_locale("es-419"):
            assert _("Nothing was erased.") == "No se ha borrado nada."
        assert current_language() == "fr"
    assert _("Nothing was erased.") == "Nothing was erased."
    assert _("a sentence no catalog has") == "a sentence no catalog has"


async def test_each_task_reads_its_own_language() -> None:
    async def reads(locale: str) -> str:
        set_locale(locale)
        await asyncio.sleep(0)  # the other task runs in between
        return _("Nothing was erased.")

    assert await asyncio.gather(reads("de"), reads("ja")) == [
        "Es wurde nichts gelöscht.",
        "何も消去していません。",
    ]
    assert current_language() == "en"  # the tasks' languages stayed theirs


@pytest.mark.parametrize(
    ("locale", "one", "many"),
    [
        ("en", "1 picture a day for the whole server", "3 pictures a day for the whole server"),
        ("fr", "1 image par jour pour tout le serveur", "3 images par jour pour tout le serveur"),
        ("ja", "サーバー全体で1日1枚", "サーバー全体で1日3枚"),
    ],
)
def test_plurals_follow_each_languages_rules(locale: str, one: str, many: str) -> None:
    def said(n: int) -> str:
        return ngettext(
            "{count} picture a day for the whole server",
            "{count} pictures a day for the whole server",
            n,
        ).format(count=n)

    with use_locale(locale):
        assert (said(1), said(3)) == (one, many)


def test_days_and_lists_are_written_the_readers_way() -> None:
    day = date(2026, 7, 1)
    written = {}
    for locale in ("en", "de", "fr", "es", "ja"):
        with use_locale(locale):
            written[locale] = (month_day(day), list_of(["a", "b", "c"]), list_of(["a", "b"], "or"))
    assert written["en"] == ("July 1", "a, b and c", "a or b")
    assert written["de"] == ("1. Juli", "a, b und c", "a oder b")
    assert written["ja"][0] == "7月1日"


def test_an_error_is_translated_when_it_is_read() -> None:
    error = SafetyRejected()  # raised in English surroundings
    assert (
        SafetyRejected.user_message
        == str(error)
        == ("Your request was rejected by the safety system — try rephrasing it.")
    )
    with use_locale("fr"):
        assert error.user_message == FRENCH_SAFETY
    busy = ProviderBusy(12.4)
    with use_locale("de"):
        assert busy.user_message == (
            "Der Bilddienst ist gerade ausgelastet – versuch es in 12 s noch einmal."
        )
    assert busy.user_message == "The image service is busy right now — try again in 12 s."
    unmarked = PicassoError("A sentence of another module, not in any catalog.")
    with use_locale("fr"):
        assert unmarked.user_message == "A sentence of another module, not in any catalog."


def test_a_refusal_names_when_its_limit_resets_in_the_readers_words() -> None:
    now = datetime(2026, 6, 30, 21, 30, tzinfo=UTC)
    monthly = LimitReached(LimitKind.BOT_MONTHLY_BUDGET, 0).explained(now)
    daily = LimitReached(LimitKind.USER_PICTURES, 3).explained(now)
    assert monthly.user_message == (
        "The bot's image budget for this month is used up — it resets on July 1 (UTC)."
    )
    with use_locale("de"):
        assert monthly.user_message == (
            "Das Bildbudget des Bots für diesen Monat ist aufgebraucht – "
            "es wird am 1. Juli zurückgesetzt (UTC)."
        )
        assert daily.user_message == (
            "Du hast dein Tageslimit von 3 Bildern erreicht – es wird in 2 Std. 30 Min. "
            "zurückgesetzt, um Mitternacht (UTC)."
        )


def _error_classes() -> list[type[PicassoError]]:
    for package in (bot, cogs):
        for module in pkgutil.walk_packages(package.__path__, f"{package.__name__}."):
            if "migrations" not in module.name:
                importlib.import_module(module.name)
    found, todo = [], [PicassoError]
    while todo:
        cls = todo.pop()
        found.append(cls)
        todo.extend(cls.__subclasses__())
    return found


def test_every_errors_own_sentence_reads_differently_in_french() -> None:
    own = {
        cls: cls.user_message
        for cls in _error_classes()
        if isinstance(cls.__dict__.get("user_message"), Sentence)
    }
    assert len(own) >= 9
    untranslated = [cls.__name__ for cls, text in own.items() if translate(text, "fr") == text]
    assert not untranslated, f"no French for the sentences of {untranslated}"
    made = [ProviderBusy(3), Refused("Pictures can't be made in this channel — try another one.")]
    made += [LimitReached(kind, 2, wait_seconds=5) for kind in LimitKind]
    for error in made:
        english = error.user_message
        with use_locale("fr"):
            assert error.user_message != english, type(error).__name__


def test_a_stored_spec_keeps_its_language_and_older_ones_read_english() -> None:
    spec = JobSpec(ImageRequest("a cat"), locale="fr")
    assert JobSpec.from_json(spec.to_json()).locale == "fr"
    older = json.loads(spec.to_json())
    del older["locale"]  # stored before specs had a language
    assert JobSpec.from_json(json.dumps(older)) == dataclasses.replace(spec, locale=None)


async def test_a_job_speaks_its_requesters_language_in_its_own_task(
    store: Store, downloads: aiohttp.ClientSession
) -> None:
    rig = make_rig(store, downloads, images=ScriptedImages({0: SafetyRejected()}))
    with use_locale("fr"):  # the interaction that asked
        job = await rig.admit(order())
    told = await rig.admit(order(locale="ja"))  # an order that names its language
    assert (job.spec.locale, told.spec.locale) == ("fr", "ja")
    await asyncio.create_task(rig.runner.run(job))  # started from English surroundings
    assert rig.publisher.said(job.id) == [FRENCH_SAFETY]
