"""`check`'s lines about what the package ships: a missing or empty catalog is a ✗."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot import checks, i18n
from bot.config import read_settings


@pytest.fixture
def locales(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A copy of the package's catalogs the check reads instead of the real ones."""
    copy = tmp_path / "locales"
    shutil.copytree(i18n.LOCALES_DIR, copy)
    monkeypatch.setattr(i18n, "LOCALES_DIR", copy)
    i18n.catalog.cache_clear()
    yield copy
    i18n.catalog.cache_clear()


def test_every_language_reads_its_own_sentence(locales: Path) -> None:
    lines = checks.catalog_lines()
    assert [line.ok for line in lines] == [True] * len(i18n.LANGUAGES)
    assert len({line.text.split(": ", 1)[1] for line in lines}) == len(i18n.LANGUAGES)


def test_a_catalog_left_out_of_the_package_is_a_cross(locales: Path) -> None:
    (locales / "fr" / "LC_MESSAGES" / "picasso.mo").unlink()
    lines = {line.text.split(":")[0]: line for line in checks.catalog_lines()}
    assert not lines["catalog fr"].ok
    assert "no compiled catalog" in lines["catalog fr"].text
    assert lines["catalog de"].ok


def test_a_catalog_that_translates_nothing_is_a_cross(locales: Path) -> None:
    mo = locales / "de" / "LC_MESSAGES" / "picasso.mo"
    mo.write_bytes((locales / "en" / "LC_MESSAGES" / "picasso.mo").read_bytes())
    lines = {line.text.split(":")[0]: line for line in checks.catalog_lines()}
    assert str(lines["catalog de"]) == "✗ catalog de: does not translate"


def test_the_chart_font_is_there() -> None:
    line = checks.font_line()
    assert line.ok and "ipaexg.ttf" in line.text


@pytest.mark.parametrize(
    ("env", "line"),
    [
        ({}, "✓ bot-wide caps: $10.00 a day, no monthly cap"),
        ({"BOT_DAILY_BUDGET_USD": "none"}, "✓ bot-wide caps: no caps (BOT_DAILY_BUDGET_USD=none)"),
        (
            {"BOT_DAILY_BUDGET_USD": "2.5", "BOT_MONTHLY_BUDGET_USD": "300"},
            "✓ bot-wide caps: $2.50 a day, $300.00 a month",
        ),
        (
            {"BOT_DAILY_BUDGET_USD": "NONE", "BOT_MONTHLY_BUDGET_USD": "40"},
            "✓ bot-wide caps: no daily cap, $40.00 a month",
        ),
        (
            {"BOT_DAILY_BUDGET_USD": "lots"},
            "✗ bot-wide caps: not checked until BOT_DAILY_BUDGET_USD is fixed",
        ),
    ],
)
def test_the_caps_line_says_what_the_whole_bot_may_spend(env: dict[str, str], line: str) -> None:
    settings, problems = read_settings(env, need_discord=False, need_openai=False)
    assert str(checks.caps_line(settings, {p.variable for p in problems})) == line
