"""What a person reads about their own standing: the /quota embed."""

from __future__ import annotations

import discord

from bot.formatting import duration, usd, zone_name
from bot.policy import next_midnight, until
from bot.studio import Standing
from cogs.common.render import EMBED_COLOUR


def _left(limit: int | None, used: int, money: bool = False) -> str:
    if limit is None:
        return "no limit"
    left = max(0, limit - used)
    if money:
        return f"{usd(left)} of {usd(limit)} left"
    return f"{left} of {limit} left"


def quota_embed(standing: Standing) -> discord.Embed:
    """Where one person stands (for /quota)."""
    limits, now = standing.limits, standing.now
    user, server, month = standing.user_today, standing.guild_today, standing.guild_month
    lines = [
        f"Your pictures today: {_left(limits.user_daily_pictures, user.pictures)}",
        f"Server pictures today: {_left(limits.guild_daily_pictures, server.pictures)}",
    ]
    for label, cap, usage in (
        ("Your money today", limits.user_daily_micros, user),
        ("Server money today", limits.guild_daily_micros, server),
        ("Server money this month", limits.guild_monthly_micros, month),
    ):
        if cap is not None:
            used = usage.spent_micros + usage.reserved_micros
            lines.append(f"{label}: {_left(cap, used, money=True)}")
    wait = standing.cooldown_left
    lines.append(f"Cooldown: wait {wait:.0f} s" if wait >= 0.5 else "Cooldown: ready")
    most = (
        None
        if limits.user_running is None or limits.user_queued is None
        else limits.user_running + limits.user_queued
    )
    lines.append(
        f"Your pictures on the way: {standing.in_flight}"
        + (f" (at most {most})" if most is not None else "")
    )
    if standing.exempt:
        lines.append("Your role (or admin standing) lifts the per-person limits.")
    lines.append(
        f"Daily counts reset in {duration(until(next_midnight(now), now))} "
        f"(midnight {zone_name(now)})."
    )
    return discord.Embed(title="Your quota here", description="\n".join(lines), colour=EMBED_COLOUR)
