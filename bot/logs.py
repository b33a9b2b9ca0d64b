"""Logging setup: discord.py's formatter, plus a filter that masks every secret we hold."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

import discord

from bot.config import Secret, Settings

MASK = "********"
# Interaction tokens live in webhook and callback URLs (`/webhooks/<app id>/<token>/…`).
INTERACTION_TOKEN = re.compile(r"(/(?:webhooks|interactions)/\d+/)[\w.-]{20,}")


class RedactSecrets(logging.Filter):
    """Replaces secret values in a record's message and traceback with a mask.

    A last line of defence: code never logs secrets on purpose, but a library error
    message might quote a header or URL that contains one (interaction tokens travel in
    webhook URLs, which discord.py logs at DEBUG).
    """

    def __init__(self, secrets: Iterable[Secret | None]) -> None:
        super().__init__()
        self._values = [s.get() for s in secrets if s is not None and len(s.get()) >= 8]

    def _mask(self, text: str) -> str:
        for value in self._values:
            text = text.replace(value, MASK)
        return INTERACTION_TOKEN.sub(rf"\1{MASK}", text)

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
    # aiosqlite logs every statement with its parameters at DEBUG (interaction tokens too).
    for noisy in ("httpx", "httpx2", "discord.gateway", "discord.http", "aiosqlite"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLogger().level))
