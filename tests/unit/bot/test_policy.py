"""bot/policy.py: who may draw where, how requests are shaped, what refusals say."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.models import GuildSettings, ImageRequest, Quality, Size, Style, Who
from bot.policy import (
    LimitKind,
    LimitReached,
    Refused,
    blocked_word_in,
    check_access,
    default_request,
    limit_sentence,
    limits_for,
    next_midnight,
    next_month,
    shape_request,
    until,
)

GUILD, CHANNEL, OTHER, THREAD = 1, 10, 11, 12


MEMBER = Who(user_id=5, guild_id=GUILD, channel_id=CHANNEL)


def who(**changes: object) -> Who:
    values = {"user_id": 5, "guild_id": GUILD, "channel_id": CHANNEL, **changes}
    return Who(**values)  # type: ignore[arg-type]


def refusal(settings: GuildSettings, person: Who, text: str = "a cat") -> str | None:
    try:
        check_access(settings, person, text)
    except Refused as error:
        return error.user_message
    return None


def test_everyone_may_draw_everywhere_by_default() -> None:
    assert refusal(GuildSettings(), MEMBER) is None
    assert refusal(GuildSettings(), who(guild_id=None)) is None


def test_dms_can_be_turned_off() -> None:
    assert refusal(GuildSettings(allow_dms=False), who(guild_id=None)) == (
        "Pictures can't be made in direct messages — use a server channel."
    )
    assert refusal(GuildSettings(allow_dms=False), MEMBER) is None


@pytest.mark.parametrize(
    ("mode", "channel", "parent", "allowed"),
    [
        ("allow", CHANNEL, None, True),
        ("allow", OTHER, None, False),
        ("allow", THREAD, CHANNEL, True),  # a thread follows its channel
        ("allow", THREAD, OTHER, False),
        ("deny", CHANNEL, None, False),
        ("deny", THREAD, CHANNEL, False),
        ("deny", OTHER, None, True),
        ("all", OTHER, None, True),
    ],
)
def test_channel_lists_and_threads(
    mode: str, channel: int, parent: int | None, allowed: bool
) -> None:
    settings = GuildSettings(channel_mode=mode, channel_ids=(CHANNEL,))  # type: ignore[arg-type]
    result = refusal(settings, who(channel_id=channel, parent_channel_id=parent))
    assert (result is None) is allowed, result


def test_allow_mode_with_nothing_listed_allows_only_admins() -> None:
    settings = GuildSettings(channel_mode="allow")
    assert refusal(settings, MEMBER) is not None
    assert refusal(settings, who(is_admin=True)) is None


def test_drawing_roles() -> None:
    settings = GuildSettings(allowed_role_ids=(100, 101))
    assert (
        refusal(settings, MEMBER) == "You need one of this server's drawing roles to make pictures."
    )
    assert refusal(settings, who(role_ids=frozenset({101}))) is None
    assert refusal(settings, who(is_admin=True)) is None


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("a Kraken rises", "kraken"),
        ("kraken!", "kraken"),
        ("krakens everywhere", None),
        ("an un-kraken-like sea", "kraken"),
        ("the sea \t monster", "sea monster"),
        ("the seamonster", None),
    ],
)
def test_blocked_words_match_whole_words_in_any_case(text: str, found: str | None) -> None:
    assert blocked_word_in(text, ("kraken", "sea monster")) == found


def test_blocked_words_apply_to_admins_too() -> None:
    settings = GuildSettings(blocked_words=("kraken",))
    assert refusal(settings, who(is_admin=True), "a kraken") is not None


def test_exempt_people_skip_per_person_limits_only() -> None:
    settings = GuildSettings(
        user_daily_pictures=1,
        guild_daily_pictures=9,
        cooldown_seconds=30,
        user_daily_usd=0.5,
        guild_daily_usd=2.0,
        guild_monthly_usd=20.0,
        exempt_role_ids=(7,),
    )
    plain = limits_for(settings, MEMBER)
    assert (plain.user_daily_pictures, plain.cooldown_seconds, plain.user_daily_micros) == (
        1,
        30,
        500_000,
    )
    assert (plain.user_running, plain.user_queued) == (2, 3)
    for exempt in (who(role_ids=frozenset({7})), who(is_admin=True)):
        lifted = limits_for(settings, exempt)
        assert lifted.user_daily_pictures is None and lifted.user_daily_micros is None
        assert lifted.cooldown_seconds == 0
        assert (lifted.user_running, lifted.user_queued) == (None, None)
        assert (lifted.guild_daily_pictures, lifted.guild_daily_micros) == (9, 2_000_000)
        assert lifted.guild_monthly_micros == 20_000_000


def test_ceilings_lower_a_request_and_say_so() -> None:
    settings = GuildSettings(max_size="square", max_quality=Quality.MEDIUM)
    shaped, note = shape_request(
        settings, ImageRequest("a cat", size=Size.PORTRAIT, quality=Quality.HIGH)
    )
    assert (shaped.size, shaped.quality) == (Size.SQUARE, Quality.MEDIUM)
    assert (
        note == "This server's settings applied: size limited to square, quality limited to medium."
    )


def test_auto_quality_is_lowered_to_the_ceiling_and_lower_ones_pass() -> None:
    settings = GuildSettings(max_quality=Quality.LOW)
    assert shape_request(settings, ImageRequest("a"))[0].quality is Quality.LOW
    same, note = shape_request(
        GuildSettings(max_quality=Quality.MEDIUM), ImageRequest("a", quality=Quality.LOW)
    )
    assert same.quality is Quality.LOW and note is None


def test_allowed_styles_but_no_style_is_always_fine() -> None:
    settings = GuildSettings(allowed_styles=("anime",))
    assert shape_request(settings, ImageRequest("a", style=Style.ANIME))[1] is None
    assert shape_request(settings, ImageRequest("a"))[1] is None
    with pytest.raises(Refused, match="choose one of: anime"):
        shape_request(settings, ImageRequest("a", style=Style.WATERCOLOR))


def test_server_defaults_fill_what_the_person_left_out() -> None:
    settings = GuildSettings(
        default_size=Size.LANDSCAPE, default_quality=Quality.LOW, expand_default=False
    )
    request = default_request(settings, "a cat")
    assert (request.size, request.quality, request.expand) == (Size.LANDSCAPE, Quality.LOW, False)
    chosen = default_request(settings, "a cat", size=Size.PORTRAIT, expand=True)
    assert (chosen.size, chosen.quality, chosen.expand) == (Size.PORTRAIT, Quality.LOW, True)


def test_midnight_and_month_end_in_the_zone() -> None:
    tokyo = datetime(2026, 12, 31, 23, 30, tzinfo=ZoneInfo("Asia/Tokyo"))
    assert next_midnight(tokyo) == datetime(2027, 1, 1, tzinfo=ZoneInfo("Asia/Tokyo"))
    assert next_month(tokyo) == datetime(2027, 1, 1, tzinfo=ZoneInfo("Asia/Tokyo"))
    assert until(next_midnight(tokyo), tokyo) == timedelta(minutes=30)


@pytest.mark.parametrize(
    ("day", "first"),
    [((2026, 1, 31), (2026, 2, 1)), ((2028, 2, 29), (2028, 3, 1)), ((2026, 4, 1), (2026, 5, 1))],
)
def test_next_month_from_any_day(day: tuple[int, int, int], first: tuple[int, int, int]) -> None:
    paris = ZoneInfo("Europe/Paris")
    assert next_month(datetime(*day, 15, 0, tzinfo=paris)) == datetime(*first, tzinfo=paris)


def test_a_daylight_saving_day_is_counted_in_real_time() -> None:
    paris = ZoneInfo("Europe/Paris")
    before_spring = datetime(2026, 3, 29, 0, 0, tzinfo=paris)  # clocks go forward at 02:00
    assert until(next_midnight(before_spring), before_spring) == timedelta(hours=23)


def test_limit_sentences_say_when_they_reset() -> None:
    now = datetime(2026, 11, 26, 21, 48, tzinfo=UTC)
    assert limit_sentence(LimitKind.USER_PICTURES, 5, now=now) == (
        "You've reached your daily limit of 5 pictures — it resets in 2 h 12 min, at midnight UTC."
    )
    assert limit_sentence(LimitKind.GUILD_MONTHLY_BUDGET, 40_000_000, now=now) == (
        "This server's monthly image budget of $40.00 has too little left for this picture "
        "— it resets on December 1 (UTC)."
    )
    assert limit_sentence(LimitKind.COOLDOWN, 30, wait_seconds=12.2) == (
        "Slow down — you can make another picture in 13 s."
    )
    assert limit_sentence(LimitKind.IN_FLIGHT, 1).startswith(
        "You already have 1 picture on the way"
    )


def test_a_refusal_from_storage_is_explained_with_the_clock() -> None:
    raw = LimitReached(LimitKind.GUILD_DAILY_BUDGET, 2_500_000)
    assert raw.user_message.endswith("— it resets at midnight.")
    tokyo = datetime(2026, 11, 26, 23, 0, tzinfo=ZoneInfo("Asia/Tokyo"))
    explained = raw.explained(tokyo)
    assert explained.kind is LimitKind.GUILD_DAILY_BUDGET and explained.limit == 2_500_000
    assert explained.user_message == (
        "This server's daily image budget of $2.50 has too little left for this picture "
        "— it resets in 1 h, at midnight Asia/Tokyo."
    )
