"""What every `custom_id` of ours starts with, and how an id inside one is spelled.

Each feature defines its own templates next to its buttons; all stay ≤ 100 characters.
"""

from __future__ import annotations

from typing import Final

PREFIX: Final = "picasso"
ID: Final = r"(?:0|[1-9][0-9]{0,18})"  # a snowflake or a row id: one spelling, ≤ 19 digits
