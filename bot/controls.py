"""What server admins change: pure functions from settings and plain values to new settings.

Each `change_*` takes the current `GuildSettings` and what the admin typed (ids, numbers,
words) and returns the new settings, or raises `BadSetting` with the sentence to show.
Numbers mean what they say (0 pictures a day = none; $0 = nothing may be spent); lifting a
limit is always an explicit `remove`. No Discord here, and no storage: the caller applies a
change atomically with `Store.update_guild_settings`.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import Final, Literal

from bot.errors import PicassoError
from bot.i18n import N_
from bot.models import (
    ChannelMode,
    GuildSettings,
    MaxSize,
    Quality,
    RefineMode,
    RemixWho,
    Size,
    Style,
)
from bot.policy import BLOCKED_WORDS_MAX, STYLE_GUIDE_MAX
from bot.words import blocked_word_in

MAX_LISTED_CHANNELS: Final = 100
MAX_LISTED_ROLES: Final = 50
BLOCKED_WORD_MAX_CHARS: Final = 50
STYLE_LABELS: Final = tuple(style.label for style in Style if style is not Style.NONE)
# The style guide goes into every prompt: it may not hold a word the server blocks.
STYLE_GUIDE_BLOCKED: Final = N_(
    "The style guide uses a word this server has blocked — write it without."
)
GUIDE_USES_WORD: Final = N_(
    "The style guide uses “{word}” — change the style guide first, then block it."
)

LimitToRemove = Literal["user daily pictures", "server daily pictures", "all"]
BudgetToRemove = Literal["server daily", "server monthly", "user daily", "all"]


class BadSetting(PicassoError):
    """An admin's change can't be applied; the sentence says why."""


def _not_both(value: object, removing: bool, refusal: str) -> None:
    """Refuse setting and removing the same limit in one change (`refusal`: a msgid)."""
    if value is not None and removing:
        raise BadSetting(refusal)


def change_limits(
    settings: GuildSettings,
    *,
    user_daily_pictures: int | None = None,
    server_daily_pictures: int | None = None,
    cooldown_seconds: int | None = None,
    running_jobs: int | None = None,
    queued_jobs: int | None = None,
    remove: LimitToRemove | None = None,
) -> GuildSettings:
    """Picture limits, cooldown and per-person jobs; `remove` lifts a daily picture limit."""
    drop_user = remove in ("user daily pictures", "all")
    drop_server = remove in ("server daily pictures", "all")
    _not_both(
        user_daily_pictures,
        drop_user,
        N_("You set and removed the per-person daily picture limit at once — choose one."),
    )
    _not_both(
        server_daily_pictures,
        drop_server,
        N_("You set and removed the server's daily picture limit at once — choose one."),
    )
    changes: dict[str, object] = {}
    if drop_user or user_daily_pictures is not None:
        changes["user_daily_pictures"] = user_daily_pictures
    if drop_server or server_daily_pictures is not None:
        changes["guild_daily_pictures"] = server_daily_pictures
    if remove == "all":
        changes["cooldown_seconds"] = 0
    for name, value in (
        ("cooldown_seconds", cooldown_seconds),
        ("user_running", running_jobs),
        ("user_queued", queued_jobs),
    ):
        if value is not None:
            changes[name] = value
    return settings.replace(**changes)


def _tidy_usd(usd: float | None) -> float | None:
    # Cents are what people type; keep the stored figure free of float noise.
    return None if usd is None else round(usd, 6)


def change_budget(
    settings: GuildSettings,
    *,
    server_daily_usd: float | None = None,
    server_monthly_usd: float | None = None,
    user_daily_usd: float | None = None,
    remove: BudgetToRemove | None = None,
) -> GuildSettings:
    """Money caps in USD; `remove` lifts one (or all)."""
    changes: dict[str, object] = {}
    for field, value, name, refusal in (
        (
            "guild_daily_usd",
            server_daily_usd,
            "server daily",
            N_("You set and removed the server's daily budget at once — choose one."),
        ),
        (
            "guild_monthly_usd",
            server_monthly_usd,
            "server monthly",
            N_("You set and removed the server's monthly budget at once — choose one."),
        ),
        (
            "user_daily_usd",
            user_daily_usd,
            "user daily",
            N_("You set and removed the per-person daily budget at once — choose one."),
        ),
    ):
        dropping = remove in (name, "all")
        _not_both(value, dropping, refusal)
        if dropping or value is not None:
            changes[field] = _tidy_usd(value)
    return settings.replace(**changes)


_SAME: Final = {
    "channel": N_("You added and removed the same channel at once — choose one."),
    "role": N_("You added and removed the same role at once — choose one."),
}
_FULL: Final = {
    "channel": N_("That list is full ({cap} channels) — remove one first."),
    "role": N_("That list is full ({cap} roles) — remove one first."),
}


def _edit_ids(
    ids: tuple[int, ...],
    add: int | None,
    remove: int | None,
    *,
    cap: int,
    what: Literal["channel", "role"],
) -> tuple[int, ...]:
    if add is not None and add == remove:
        raise BadSetting(_SAME[what])
    result = tuple(i for i in ids if i != remove)
    if add is not None and add not in result:
        if len(result) >= cap:
            raise BadSetting(_FULL[what], cap=cap)
        result += (add,)
    return result


def change_channels(
    settings: GuildSettings,
    *,
    mode: ChannelMode | None = None,
    add: int | None = None,
    remove: int | None = None,
) -> GuildSettings:
    """Where pictures may be made: every channel, only the listed ones, or all but them."""
    channel_ids = _edit_ids(
        settings.channel_ids, add, remove, cap=MAX_LISTED_CHANNELS, what="channel"
    )
    return settings.replace(channel_mode=mode or settings.channel_mode, channel_ids=channel_ids)


def change_roles(
    settings: GuildSettings,
    *,
    allow_add: int | None = None,
    allow_remove: int | None = None,
    allow_clear: bool = False,
    exempt_add: int | None = None,
    exempt_remove: int | None = None,
) -> GuildSettings:
    """Who may draw (no roles listed = everyone) and whose per-person limits are lifted."""
    allowed = () if allow_clear else settings.allowed_role_ids
    allowed = _edit_ids(allowed, allow_add, allow_remove, cap=MAX_LISTED_ROLES, what="role")
    exempt = _edit_ids(
        settings.exempt_role_ids, exempt_add, exempt_remove, cap=MAX_LISTED_ROLES, what="role"
    )
    return settings.replace(allowed_role_ids=allowed, exempt_role_ids=exempt)


def parse_styles(text: str) -> tuple[str, ...]:
    """A comma-separated list of style names; "all" (or "any") means no restriction."""
    if text.strip().lower() in ("all", "any", "*"):
        return ()
    names: list[str] = []
    by_lower = {label.lower(): label for label in STYLE_LABELS}
    for part in text.split(","):
        name = part.strip().lower()
        if not name:
            continue
        if name not in by_lower:
            raise BadSetting(
                N_("There is no style called “{name}” — use “all” or some of: {styles}."),
                name=part.strip()[:40],
                styles=", ".join(STYLE_LABELS),
            )
        if by_lower[name] not in names:
            names.append(by_lower[name])
    if not names:
        raise BadSetting(
            N_("Name at least one style, or “all”: {styles}."), styles=", ".join(STYLE_LABELS)
        )
    return tuple(names)


def change_defaults(
    settings: GuildSettings,
    *,
    known_models: Collection[str],
    size: Size | None = None,
    quality: Quality | None = None,
    max_size: MaxSize | None = None,
    max_quality: Quality | None = None,
    styles: str | None = None,
    model: str | None = None,
    expand: bool | None = None,
    refine_mode: RefineMode | None = None,
    remix: RemixWho | None = None,
    moderation: bool | None = None,
    preview: bool | None = None,
    max_count: int | None = None,
) -> GuildSettings:
    """Defaults and ceilings for requests; `model` "default" goes back to the bot's model."""
    changes: dict[str, object] = {}
    if model is not None:
        chosen = model.strip()
        if chosen.lower() == "default":
            changes["model"] = None
        elif chosen in known_models:
            changes["model"] = chosen
        else:
            raise BadSetting(
                N_(
                    "This bot has no price for a model called “{name}” — "
                    "choose one of: {models}, or “default”."
                ),
                name=chosen[:64],
                models=", ".join(sorted(known_models)),
            )
    if styles is not None:
        changes["allowed_styles"] = parse_styles(styles)
    for name, value in (
        ("default_size", size),
        ("default_quality", quality),
        ("max_size", max_size),
        ("max_quality", max_quality),
        ("expand_default", expand),
        ("refine_mode", refine_mode),
        ("remix", remix),
        ("moderation", moderation),
        ("preview", preview),
        ("max_count", max_count),
    ):
        if value is not None:
            changes[name] = value
    return settings.replace(**changes)


def change_style_guide(
    settings: GuildSettings, text: str | None, *, clear: bool = False
) -> GuildSettings:
    """Set (or clear) the short flavour given to the prompt writer as data."""
    if clear and text:
        raise BadSetting(N_("You set and cleared the style guide at once — choose one."))
    if clear:
        return settings.replace(style_guide="")
    guide = " ".join((text or "").split())
    if not guide:
        raise BadSetting(N_("Write the style guide, or choose clear to remove it."))
    if len(guide) > STYLE_GUIDE_MAX:
        raise BadSetting(
            N_("Keep the style guide under {limit} characters."), limit=STYLE_GUIDE_MAX
        )
    if blocked_word_in(guide, settings.blocked_words):  # it goes into every prompt
        raise BadSetting(STYLE_GUIDE_BLOCKED)
    return settings.replace(style_guide=guide)


def split_words(text: str) -> list[str]:
    """Comma-separated words or phrases, tidied (case kept, blanks dropped)."""
    words = [" ".join(part.split()) for part in text.split(",")]
    return [word for word in words if word]


def change_blocked_words(
    settings: GuildSettings, *, add: Iterable[str] = (), remove: Iterable[str] = ()
) -> GuildSettings:
    """Add or remove blocked words or phrases (matched whole, in any case and spelling:
    `bot.words`); a word the style guide uses is refused until the guide is changed."""
    words = list(settings.blocked_words)
    lowered = {word.lower() for word in remove}
    words = [word for word in words if word.lower() not in lowered]
    for word in add:
        if len(word) > BLOCKED_WORD_MAX_CHARS:
            raise BadSetting(
                N_("Keep each blocked word or phrase under {limit} characters."),
                limit=BLOCKED_WORD_MAX_CHARS,
            )
        if word.lower() not in {w.lower() for w in words}:
            words.append(word)
        if blocked_word_in(settings.style_guide, (word,)):  # the guide goes into every prompt
            raise BadSetting(GUIDE_USES_WORD, word=word)
    if len(words) > BLOCKED_WORDS_MAX:
        raise BadSetting(
            N_("A server can block at most {limit} words or phrases — remove some first."),
            limit=BLOCKED_WORDS_MAX,
        )
    return settings.replace(blocked_words=tuple(words))


def change_audit_channel(
    settings: GuildSettings, channel_id: int | None, *, clear: bool = False
) -> GuildSettings:
    """The channel that gets one line per picture (or none)."""
    if clear and channel_id is not None:
        raise BadSetting(N_("You set and cleared the audit channel at once — choose one."))
    if clear:
        return settings.replace(audit_channel_id=None)
    if channel_id is None:
        return settings
    return settings.replace(audit_channel_id=channel_id)
