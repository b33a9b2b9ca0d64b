"""Numbers, money, time and lists as people read them, in plain text (no Discord markup),
in the reader's language (`bot.i18n`)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Literal

from bot.i18n import _, list_of


def clip(text: str, limit: int) -> str:
    """`text` cut to `limit` characters, with an ellipsis when cut."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def join(items: Sequence[str], word: Literal["and", "or"] = "and") -> str:
    """`a`, `a and b`, `a, b and c` (`word`: and · or), as the reader's language lists."""
    return list_of(items, word)


def plural(count: int, noun: str) -> str:
    """`1 picture`, `2 pictures` — English only: a sentence to translate uses `ngettext`."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def usd(micros: int) -> str:
    """Money for people: `$5.00`, `$0.0816` (cents when they are exact, else up to 4 places)."""
    dollars = micros / 1_000_000
    if micros % 10_000 == 0:
        return f"${dollars:,.2f}"
    whole, cents = f"{dollars:,.4f}".split(".")
    return f"${whole}.{cents.rstrip('0').ljust(2, '0')}"


def duration(delta: timedelta) -> str:
    """A wait rounded up to the minute: `3 h 12 min`, `5 h`, `1 min`."""
    minutes = max(1, math.ceil(delta.total_seconds() / 60))
    hours, minutes = divmod(minutes, 60)
    if not hours:
        return _("{minutes} min").format(minutes=minutes)
    if not minutes:
        return _("{hours} h").format(hours=hours)
    return _("{hours} h {minutes} min").format(hours=hours, minutes=minutes)


def eta_text(seconds: float) -> str:
    """A wait as people read it: `about 40 s`, `about 3 min` (coarse, so it changes rarely)."""
    if seconds < 60:
        return _("about {seconds} s").format(seconds=max(10, math.ceil(seconds / 10) * 10))
    return _("about {minutes} min").format(minutes=math.ceil(seconds / 60))


def zone_name(moment: datetime) -> str:
    """The name of an aware moment's zone (`UTC`, `Europe/Paris`)."""
    return str(getattr(moment.tzinfo, "key", None) or moment.tzname() or "UTC")
