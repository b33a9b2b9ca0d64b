"""What every embed shares: the colour and Discord's length limits."""

from __future__ import annotations

from typing import Final

import discord

EMBED_COLOUR: Final = discord.Colour(0xE8A33D)
TITLE_LIMIT: Final = 256
DESCRIPTION_LIMIT: Final = 4096
FIELD_LIMIT: Final = 1024
FOOTER_LIMIT: Final = 2048
MESSAGE_LIMIT: Final = 2000
