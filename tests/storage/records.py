"""What storage tests write: limits to reserve against, and the record of a posted picture."""

from __future__ import annotations

from bot.policy import Limits
from bot.storage.repository import NewPicture

GUILD = 4242


def limits(**given: int | None) -> Limits:
    """No limits except those given."""
    values: dict[str, int | None] = {
        "user_daily_pictures": None,
        "guild_daily_pictures": None,
        "cooldown_seconds": 0,
        "user_daily_micros": None,
        "guild_daily_micros": None,
        "guild_monthly_micros": None,
        "user_running": None,
        "user_queued": None,
    }
    values.update(given)
    return Limits(**values)  # type: ignore[arg-type]


def new_picture(
    message_id: int,
    *,
    user: int,
    guild: int | None = GUILD,
    cost: int = 900,
    parent: int | None = None,
) -> NewPicture:
    """A posted picture (a refinement when it has a `parent`)."""
    return NewPicture(
        guild_id=guild,
        channel_id=1,
        message_id=message_id,
        requester_id=user,
        parent_id=parent,
        kind="imagine" if parent is None else "refine",
        description=f"picture {message_id}",
        prompt="a prompt",
        instruction=None,
        size="square",
        quality="low",
        style="none",
        model="gpt-image-2",
        cost_micros=cost,
        image_url=None,
    )
