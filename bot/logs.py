"""Logging setup: discord.py's formatter, plus a filter that masks every secret we hold."""

from __future__ import annotations

import logging
from collections.abc import Iterable

import discord

from bot.config import Secret, Settings

MASK = "********"


class RedactSecrets(logging.Filter):
    """Replaces secret values in a record's message and traceback with a mask.

    A last line of defence: code never logs secrets on purpose, but a library error
    message might quote a header or URL that contains one.
    """

    def __init__(self, secrets: Iterable[Secret | None]) -> None:
        super().__init__()
        self._values = [s.get() for s in secrets if s is not None and len(s.get()) >= 8]

    def _mask(self, text: str) -> str:
        for value in self._values:
            text = text.replace(value, MASK)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = self._mask(message)
        if masked != message:
            record.msg, record.args = masked, None
        if record.exc_info and record.exc_info[1] is not None:
            formatted = logging.Formatter().formatException(record.exc_info)
            if self._mask(formatted) != formatted:
                record.exc_text = self._mask(formatted)
                record.exc_info = None
        return True


def setup_logging(settings: Settings) -> None:
    """Log to stderr at LOG_LEVEL with secrets masked; quiet the chattiest libraries."""
    discord.utils.setup_logging(level=logging.getLevelName(settings.log_level), root=True)
    redact = RedactSecrets([settings.discord_token, settings.openai_api_key])
    for handler in logging.getLogger().handlers:
        handler.addFilter(redact)
    for noisy in ("httpx", "httpx2", "discord.gateway", "discord.http"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLogger().level))
