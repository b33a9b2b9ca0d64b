"""bot/formatting.py: money, waits and lists as people read them."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.formatting import duration, usd


@pytest.mark.parametrize(
    ("micros", "text"),
    [
        (5_000_000, "$5.00"),
        (81_600, "$0.0816"),
        (250_000, "$0.25"),
        (1, "$0.00"),
        (136_000, "$0.136"),
        (1_234_567_800, "$1,234.5678"),
    ],
)
def test_money(micros: int, text: str) -> None:
    assert usd(micros) == text


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(1, "1 min"), (60, "1 min"), (61, "2 min"), (3600, "1 h"), (11_520, "3 h 12 min")],
)
def test_durations_round_up_to_the_minute(seconds: int, text: str) -> None:
    assert duration(timedelta(seconds=seconds)) == text
