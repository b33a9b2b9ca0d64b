"""bot/controls.py: what admins change, and what they can't."""

from __future__ import annotations

import pytest

from bot import controls
from bot.controls import BadSetting
from bot.models import GuildSettings, Size
from bot.policy import BLOCKED_WORDS_MAX, STYLE_GUIDE_MAX

BASE = GuildSettings()


def test_limits_set_and_removed_explicitly() -> None:
    changed = controls.change_limits(
        BASE, user_daily_pictures=0, server_daily_pictures=9, cooldown_seconds=5, queued_jobs=0
    )
    assert (changed.user_daily_pictures, changed.guild_daily_pictures) == (0, 9)
    assert (changed.cooldown_seconds, changed.user_running, changed.user_queued) == (5, 2, 0)
    only_user = controls.change_limits(changed, remove="user daily pictures")
    assert (only_user.user_daily_pictures, only_user.guild_daily_pictures) == (None, 9)
    everything = controls.change_limits(changed, remove="all")
    assert (everything.guild_daily_pictures, everything.cooldown_seconds) == (None, 0)
    assert everything.user_queued == 0  # jobs per person are not a "limit to lift"


def test_setting_and_removing_the_same_limit_is_refused() -> None:
    with pytest.raises(BadSetting, match="set and removed"):
        controls.change_limits(BASE, server_daily_pictures=3, remove="server daily pictures")
    with pytest.raises(BadSetting, match="set and removed"):
        controls.change_budget(BASE, user_daily_usd=1, remove="all")


def test_budget_in_dollars_and_removal() -> None:
    changed = controls.change_budget(
        BASE, server_daily_usd=0.1 + 0.2, server_monthly_usd=0, user_daily_usd=1.5
    )
    assert (changed.guild_daily_usd, changed.guild_monthly_usd, changed.user_daily_usd) == (
        0.3,
        0,
        1.5,
    )
    lifted = controls.change_budget(changed, remove="server monthly")
    assert (lifted.guild_daily_usd, lifted.guild_monthly_usd) == (0.3, None)


def test_channel_lists() -> None:
    listed = controls.change_channels(BASE, mode="allow", add=10)
    listed = controls.change_channels(listed, add=11)
    listed = controls.change_channels(listed, add=10)  # no duplicates
    assert (listed.channel_mode, listed.channel_ids) == ("allow", (10, 11))
    assert controls.change_channels(listed, remove=10).channel_ids == (11,)
    with pytest.raises(BadSetting, match="same channel"):
        controls.change_channels(listed, add=12, remove=12)
    full = BASE.replace(channel_ids=tuple(range(controls.MAX_LISTED_CHANNELS)))
    with pytest.raises(BadSetting, match="full"):
        controls.change_channels(full, add=10_000)


def test_roles() -> None:
    changed = controls.change_roles(BASE, allow_add=1, exempt_add=2)
    assert (changed.allowed_role_ids, changed.exempt_role_ids) == ((1,), (2,))
    cleared = controls.change_roles(changed, allow_clear=True, exempt_remove=2)
    assert (cleared.allowed_role_ids, cleared.exempt_role_ids) == ((), ())
    swapped = controls.change_roles(changed, allow_clear=True, allow_add=3)
    assert swapped.allowed_role_ids == (3,)


@pytest.mark.parametrize(
    ("text", "styles"),
    [
        ("all", ()),
        ("Anime, pixel ART ,anime", ("anime", "pixel art")),
        ("3D render", ("3D render",)),
    ],
)
def test_styles(text: str, styles: tuple[str, ...]) -> None:
    assert controls.parse_styles(text) == styles


@pytest.mark.parametrize("text", ["watercolour", " , ", "none"])
def test_unknown_styles_are_refused(text: str) -> None:
    with pytest.raises(BadSetting):
        controls.parse_styles(text)


def test_defaults_and_model_validation() -> None:
    known = {"gpt-image-2", "gpt-image-1.5"}
    changed = controls.change_defaults(
        BASE, known_models=known, model="gpt-image-1.5", size=Size.PORTRAIT, remix="requester"
    )
    assert (changed.model, changed.default_size, changed.remix) == (
        "gpt-image-1.5",
        Size.PORTRAIT,
        "requester",
    )
    assert controls.change_defaults(changed, known_models=known, model="Default").model is None
    with pytest.raises(BadSetting, match="no price for a model"):
        controls.change_defaults(BASE, known_models=known, model="dall-e-3")


def test_style_guide() -> None:
    assert controls.change_style_guide(BASE, "  muted\n colours ").style_guide == "muted colours"
    assert (
        controls.change_style_guide(BASE.replace(style_guide="x"), None, clear=True).style_guide
        == ""
    )
    with pytest.raises(BadSetting):
        controls.change_style_guide(BASE, "x" * (STYLE_GUIDE_MAX + 1))
    with pytest.raises(BadSetting):
        controls.change_style_guide(BASE, "x", clear=True)


def test_the_style_guide_holds_no_blocked_word() -> None:
    """It goes into every prompt: a blocked word in it (in any spelling) is refused, and a
    word it uses can't be blocked until it is changed."""
    blocked = BASE.replace(blocked_words=("gore",))
    for guide in ("muted colours, gore", "GORE everywhere", "ｇｏｒｅ", "g\u200bor\u0435"):
        with pytest.raises(BadSetting) as refused:
            controls.change_style_guide(blocked, guide)
        assert refused.value.msgid == controls.STYLE_GUIDE_BLOCKED
    assert controls.change_style_guide(blocked, "gory, gored").style_guide == "gory, gored"
    guided = BASE.replace(style_guide="muted colours, no 𝐝𝐫𝐚𝐠𝐨𝐧𝐬")
    with pytest.raises(BadSetting) as refused:
        controls.change_blocked_words(guided, add=["gore", "Dragons"])
    assert refused.value.user_message == (
        "The style guide uses “Dragons” — change the style guide first, then block it."
    )
    assert controls.change_blocked_words(guided, add=["dragon"]).blocked_words == ("dragon",)


def test_blocked_words() -> None:
    words = controls.split_words(" Kraken ,, sea   monster, kraken ")
    assert words == ["Kraken", "sea monster", "kraken"]
    changed = controls.change_blocked_words(BASE, add=words)
    assert changed.blocked_words == ("Kraken", "sea monster")  # case-insensitive duplicates
    assert controls.change_blocked_words(changed, remove=["KRAKEN"]).blocked_words == (
        "sea monster",
    )
    with pytest.raises(BadSetting, match="under"):
        controls.change_blocked_words(BASE, add=["x" * (controls.BLOCKED_WORD_MAX_CHARS + 1)])
    full = BASE.replace(blocked_words=tuple(f"w{n}" for n in range(BLOCKED_WORDS_MAX)))
    with pytest.raises(BadSetting, match="at most"):
        controls.change_blocked_words(full, add=["one more"])


def test_audit_channel() -> None:
    changed = controls.change_audit_channel(BASE, 42)
    assert changed.audit_channel_id == 42
    assert controls.change_audit_channel(changed, None) == changed
    assert controls.change_audit_channel(changed, None, clear=True).audit_channel_id is None
    with pytest.raises(BadSetting):
        controls.change_audit_channel(changed, 43, clear=True)


def test_prompt_previews_are_off_until_an_admin_turns_them_on() -> None:
    assert not BASE.preview
    turned_on = controls.change_defaults(BASE, known_models=set(), preview=True)
    assert turned_on.preview
    assert controls.change_defaults(turned_on, known_models=set(), size=Size.SQUARE).preview
    assert not controls.change_defaults(turned_on, known_models=set(), preview=False).preview
