"""Logging setup: lines in discord.py's layout on stderr, with every secret we hold masked."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

from bot.config import Secret, Settings

MASK = "********"
# The layout discord.py's own `setup_logging` uses (without its terminal colours).
LINE = "[{asctime}] [{levelname:<8}] {name}: {message}"
DATE = "%Y-%m-%d %H:%M:%S"
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
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter(LINE, DATE, style="{"))
    handler.addFilter(RedactSecrets([settings.discord_token, settings.openai_api_key]))
    root = logging.getLogger()
    root.setLevel(logging.getLevelName(settings.log_level))
    root.addHandler(handler)
    # aiosqlite logs every statement with its parameters at DEBUG (interaction tokens too).
    for noisy in ("httpx", "httpx2", "discord.gateway", "discord.http", "aiosqlite"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLogger().level))
