"""Logging setup: lines in discord.py's layout (or JSON objects) on stderr, with every secret
we hold masked, and the id of the job a line is about."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import IO, Any

from bot.config import Secret, Settings

MASK = "********"
# The layout discord.py's own `setup_logging` uses (without its terminal colours).
LINE = "[{asctime}] [{levelname:<8}] {name}: {message}"
DATE = "%Y-%m-%d %H:%M:%S"
# Interaction tokens live in webhook and callback URLs (`/webhooks/<app id>/<token>/…`,
# `/interactions/<id>/<token>/callback`), plain or percent-encoded.
INTERACTION_TOKEN = re.compile(
    r"((?:/|%2F)(?:webhooks|interactions)(?:/|%2F)\d+(?:/|%2F))[\w.-]{20,}", re.IGNORECASE
)
# Token-shaped strings wherever they stand: an interaction token (base64 of
# "interaction:…"), a bot token (three dot-separated base64 parts), and any long run of
# token characters mixing upper case, lower case and digits (webhook tokens, keys).
TOKEN_SHAPED = re.compile(
    r"aW50ZXJhY3Rpb246[A-Za-z0-9_-]+"
    r"|(?<![\w.-])[A-Za-z0-9_-]{18,}\.[A-Za-z0-9_-]{6}\.[A-Za-z0-9_-]{27,}(?![\w-])"
    r"|(?<![\w-])(?=[A-Za-z0-9_-]*[A-Z])(?=[A-Za-z0-9_-]*[a-z])(?=[A-Za-z0-9_-]*\d)"
    r"[A-Za-z0-9_-]{60,}(?![\w-])"
)
# Libraries that log every request or statement with its values at DEBUG (interaction
# tokens, people's words): never below WARNING.
NOISY = ("httpx", "httpx2", "discord.gateway", "discord.http", "aiosqlite")
# The job the running task works on (set by the runner for each job's task; tasks it starts
# inherit it), so every line logged on its way names it.
JOB_ID: ContextVar[int | None] = ContextVar("job_id", default=None)


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
        text = INTERACTION_TOKEN.sub(rf"\1{MASK}", text)
        return TOKEN_SHAPED.sub(MASK, text)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = self._mask(message)
        if masked != message:
            record.msg, record.args = masked, None
        if record.exc_info and record.exc_info[1] is not None and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            masked = self._mask(record.exc_text)
            if masked != record.exc_text:
                record.exc_text, record.exc_info = masked, None
        if record.stack_info:
            record.stack_info = self._mask(record.stack_info)
        return True


def about_job(job_id: int) -> None:
    """Name `job_id` on every line logged from now on in this task (and tasks it starts)."""
    JOB_ID.set(job_id)


class JobContext(logging.Filter):
    """Gives each record the `job_id` of the job its task works on (None: no job)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.job_id = JOB_ID.get()
        return True


class JsonLines(logging.Formatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, message, and when
    present the job's id and the traceback (already masked by `RedactSecrets`)."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        job_id = getattr(record, "job_id", None)
        if job_id is not None:
            line["job_id"] = job_id
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line["exc_info"] = record.exc_text
        if record.stack_info:
            line["stack_info"] = self.formatStack(record.stack_info)
        return json.dumps(line, ensure_ascii=False, default=str)


def make_handler(settings: Settings, stream: IO[str] | None = None) -> logging.Handler:
    """A handler writing to `stream` (stderr) in LOG_FORMAT, secrets masked, jobs named."""
    handler = logging.StreamHandler(stream)
    if settings.log_format == "json":
        handler.setFormatter(JsonLines())
    else:
        handler.setFormatter(logging.Formatter(LINE, DATE, style="{"))
    secrets = [settings.discord_token, settings.openai_api_key, settings.safety_id_key]
    handler.addFilter(RedactSecrets(secrets))
    handler.addFilter(JobContext())
    return handler


def setup_logging(settings: Settings) -> None:
    """Log to stderr at LOG_LEVEL in LOG_FORMAT with secrets masked; quiet the chattiest
    libraries."""
    handler = make_handler(settings)
    root = logging.getLogger()
    root.setLevel(logging.getLevelName(settings.log_level))
    root.addHandler(handler)
    for noisy in NOISY:
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLogger().level))
