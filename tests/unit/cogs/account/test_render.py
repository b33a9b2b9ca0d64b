"""cogs/account/render.py: the /quota embed, line by line."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from bot.models import GuildSettings
from bot.policy import Limits
from bot.storage.counting import Usage
from bot.studio import Standing
from cogs.account.render import quota_embed
from tests.storage.records import limits
from tests.unit.jobs_rig import NOW

NOTHING = Usage()


def lines(
    caps: Limits | None = None,
    *,
    user: Usage = NOTHING,
    server: Usage = NOTHING,
    month: Usage = NOTHING,
    cooldown_left: float = 0.0,
    in_flight: int = 0,
    exempt: bool = False,
    now: datetime = NOW,
) -> list[str]:
    """The lines of the /quota embed for this standing."""
    standing = Standing(
        settings=GuildSettings(),
        limits=caps or limits(),
        exempt=exempt,
        user_today=user,
        guild_today=server,
        guild_month=month,
        cooldown_left=cooldown_left,
        in_flight=in_flight,
        now=now,
    )
    embed = quota_embed(standing)
    assert embed.title == "Your quota here"
    assert embed.description is not None
    return embed.description.splitlines()


def test_without_limits() -> None:
    assert lines(user=Usage(pictures=4)) == [
        "Your pictures today: no limit",
        "Server pictures today: no limit",
        "Cooldown: ready",
        "Your pictures on the way: 0",
        "Daily counts reset in 12 h (midnight UTC).",
    ]


def test_picture_limits_count_down_and_stop_at_zero() -> None:
    shown = lines(
        limits(user_daily_pictures=5, guild_daily_pictures=100),
        user=Usage(pictures=2),
        server=Usage(pictures=120),
    )
    assert shown[:2] == [
        "Your pictures today: 3 of 5 left",
        "Server pictures today: 0 of 100 left",
    ]


def test_money_counts_what_is_spent_and_what_is_held() -> None:
    caps = limits(user_daily_micros=1_000_000, guild_daily_micros=5_000_000)
    shown = lines(
        caps,
        user=Usage(spent_micros=250_000, reserved_micros=80_000),
        server=Usage(spent_micros=6_000_000),
    )
    assert "Your money today: $0.67 of $1.00 left" in shown
    assert "Server money today: $0.00 of $5.00 left" in shown
    assert not any(line.startswith("Server money this month") for line in shown)


def test_only_the_money_caps_set_are_shown() -> None:
    shown = lines(limits(guild_monthly_micros=100_000_000), month=Usage(spent_micros=81_600))
    money = [line for line in shown if "money" in line]
    assert money == ["Server money this month: $99.9184 of $100.00 left"]


@pytest.mark.parametrize(
    ("left", "line"),
    [(0.0, "Cooldown: ready"), (0.4, "Cooldown: wait 1 s"), (12.4, "Cooldown: wait 13 s")],
)
def test_cooldown(left: float, line: str) -> None:
    assert line in lines(limits(cooldown_seconds=30), cooldown_left=left)


def test_exempt_people_are_told_why_limits_do_not_apply() -> None:
    shown = lines(exempt=True)
    assert "Your role (or admin standing) lifts the per-person limits." in shown
    assert not any("lifts" in line for line in lines())


def test_pictures_on_the_way_name_the_most_allowed() -> None:
    shown = lines(limits(user_running=2, user_queued=3), in_flight=1)
    assert "Your pictures on the way: 1 (at most 5)" in shown
    assert "Your pictures on the way: 1" in lines(limits(user_running=2), in_flight=1)


def test_the_reset_names_the_servers_zone() -> None:
    evening = datetime(2026, 11, 26, 21, 30, tzinfo=ZoneInfo("Europe/Paris"))
    shown = lines(now=evening)
    assert shown[-1] == "Daily counts reset in 2 h 30 min (midnight Europe/Paris)."
