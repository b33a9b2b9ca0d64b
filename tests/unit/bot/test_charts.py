"""bot/charts.py: the spend chart is a PNG of the promised size, whatever the report holds."""

from __future__ import annotations

import io
import warnings
from datetime import UTC, datetime

import pytest
from PIL import Image

from bot.charts import HEIGHT_PX, WIDTH_PX, spend_chart, spend_png
from bot.i18n import use_locale
from bot.storage.reports import DaySpend, last_days
from bot.storage.repository import Usage
from bot.studio import SpendReport

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def report(
    *, busy: bool = True, daily: int | None = 500_000, monthly: int | None = 9_000_000
) -> SpendReport:
    days = tuple(
        DaySpend(day, n % 7, (n % 7) * 27_200 if busy else 0)
        for n, day in enumerate(last_days(NOW))
    )
    top = tuple((7000 + n, Usage(9 - n, 0, 200_000 - 30_000 * n)) for n in range(5) if busy)
    return SpendReport(4242, days, top, daily, monthly, NOW)


def decoded(png: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(png))
    image.load()
    return image


@pytest.mark.parametrize(
    "shown",
    [
        report(),
        report(busy=False, daily=None, monthly=None),  # nothing spent, no caps: an empty chart
        report(daily=100_000_000, monthly=0),  # a cap far above every bar, and a zero cap
    ],
    ids=["busy", "empty", "far-and-zero-caps"],
)
def test_the_chart_is_a_png_of_the_promised_size(shown: SpendReport) -> None:
    labels = {7000: "a display name far longer than the panel has room for 🎨", 7001: "bob"}

    image = decoded(spend_chart(shown, place="Harbour Club", labels=labels))

    assert image.format == "PNG"
    assert image.size == (WIDTH_PX, HEIGHT_PX) == (1200, 600)


async def test_drawn_in_a_thread_it_is_the_same_chart() -> None:
    image = decoded(await spend_png(report(), place="all servers and direct messages"))
    assert image.size == (1200, 600)


@pytest.mark.parametrize("language", ["ja", "en"])
def test_japanese_words_and_names_are_drawn_with_their_glyphs(language: str) -> None:
    # matplotlib warns for each glyph its fonts lack (DejaVu Sans has no Japanese).
    with warnings.catch_warnings(record=True) as caught, use_locale(language):
        warnings.simplefilter("always")
        png = spend_chart(report(), place="港クラブ", labels={7000: "山田太郎"})
    assert decoded(png).size == (WIDTH_PX, HEIGHT_PX)
    missing = [str(w.message) for w in caught if "missing from font" in str(w.message)]
    assert not missing
