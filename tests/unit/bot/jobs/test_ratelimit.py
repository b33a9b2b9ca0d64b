"""bot/jobs/ratelimit.py: the provider's limit as a moving window, in the
`limits` library's notation."""

from __future__ import annotations

import pytest
import time_machine

from bot.jobs.ratelimit import RATE_MARGIN, RateLimit


async def test_rate_limit_counts_a_moving_window() -> None:
    with time_machine.travel(1_000_000.0, tick=False) as traveller:
        rate = RateLimit("2 per 10 seconds")
        assert rate.acquire() == 0.0
        traveller.shift(4)
        assert rate.acquire() == 0.0
        # The first hit leaves in 6 s; a call waits out the margin on top.
        assert rate.acquire() == pytest.approx(6.0 + RATE_MARGIN)
        traveller.shift(6.5)
        assert rate.acquire() == 0.0
        assert rate.acquire() == pytest.approx(3.5 + RATE_MARGIN)  # now t=4's is the oldest


async def test_a_call_of_several_pictures_takes_a_hit_for_each() -> None:
    with time_machine.travel(1_000_000.0, tick=False) as traveller:
        rate = RateLimit("5 per 10 seconds")
        assert rate.acquire(3) == 0.0
        traveller.shift(2)
        assert rate.acquire(2) == 0.0
        traveller.shift(1)
        # Full: three more pictures need the first call's three to leave (at t=10).
        assert rate.acquire(3) == pytest.approx(7.0 + RATE_MARGIN)
        traveller.shift(7.0 + RATE_MARGIN)
        assert rate.acquire(3) == 0.0
        # More than the whole limit counts as the whole limit (it could never fit).
        traveller.shift(20)
        assert rate.acquire(9) == 0.0
        assert rate.acquire() > 0


def test_rate_limit_notation() -> None:
    rate = RateLimit("50 per minute")
    assert str(rate) == "50 per minute"
    assert rate.per_second == pytest.approx(50 / 60)
    assert RateLimit("6 per 10 seconds").per_second == pytest.approx(0.6)
    for bad in ("lots", "0 per minute", "6 per 10 seconds; 1 per second", ""):
        with pytest.raises(ValueError, match="rate limit"):
            RateLimit(bad)
