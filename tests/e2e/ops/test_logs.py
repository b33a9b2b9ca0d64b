"""The log keeps a secret when the database fails mid-submit: the whole log of a bot whose
job cannot be recorded holds neither the interaction's token nor the person's words."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy.dialects.sqlite.aiosqlite import AsyncAdapt_aiosqlite_cursor

from bot.config import load_settings
from bot.errors import APOLOGY, StorageUnavailable
from bot.logs import NOISY, make_handler
from tests.e2e.conftest import DISCORD_TOKEN, OPENAI_KEY, StartBot
from tests.e2e.picture_kit import imagine, is_sentence
from tests.fakes.discord_api import FakeDiscord
from tests.fakes.openai_api import FakeOpenAI

WORDS = "a lighthouse keeper named Ottoline Quibble-7731"


@pytest.fixture
def operators_log(caplog: pytest.LogCaptureFixture) -> Iterator[Callable[[], str]]:
    """The log as `LOG_LEVEL=DEBUG` writes it: every record through the bot's own filters
    (secrets and tokens masked), the chatty libraries at WARNING as `setup_logging` sets
    them. Yields what reads the whole of it: each record formatted with its traceback."""
    settings = load_settings({"DISCORD_TOKEN": DISCORD_TOKEN, "OPENAI_API_KEY": OPENAI_KEY})
    for bot_filter in make_handler(settings).filters:
        caplog.handler.addFilter(bot_filter)
    caplog.set_level(logging.DEBUG)
    levels = {noisy: logging.getLogger(noisy).level for noisy in NOISY}
    for noisy in NOISY:
        logging.getLogger(noisy).setLevel(logging.WARNING)

    def read() -> str:
        formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
        return caplog.text + "\n".join(formatter.format(record) for record in caplog.records)

    yield read
    for noisy, level in levels.items():
        logging.getLogger(noisy).setLevel(level)


def insert_of_jobs_fails(
    monkeypatch: pytest.MonkeyPatch, error: Exception
) -> list[tuple[str, Any]]:
    """The driver fails every INSERT INTO jobs with `error` (SQLAlchemy wraps it with the
    statement and its values, as a real failure would); the statements it refused."""
    refused: list[tuple[str, Any]] = []
    real = AsyncAdapt_aiosqlite_cursor._execute_async

    async def execute(self: Any, operation: Any, parameters: Any) -> Any:
        if str(operation).lstrip().upper().startswith("INSERT INTO JOBS"):
            refused.append((operation, parameters))
            raise error
        return await real(self, operation, parameters)

    monkeypatch.setattr(AsyncAdapt_aiosqlite_cursor, "_execute_async", execute)
    return refused


@pytest.mark.parametrize(
    ("error", "sentence", "logged"),
    [
        # An unexpected failure is logged with its traceback, the statement in it.
        (sqlite3.OperationalError("disk I/O error"), APOLOGY, "INSERT INTO jobs"),
        (sqlite3.OperationalError("database is locked"), StorageUnavailable.user_message, ""),
    ],
    ids=["unexpected", "transient"],
)
async def test_a_database_failing_mid_submit_logs_no_token_and_no_words(
    start_bot: StartBot,
    discord_fake: FakeDiscord,
    openai_fake: FakeOpenAI,
    operators_log: Callable[[], str],
    monkeypatch: pytest.MonkeyPatch,
    error: Exception,
    sentence: str,
    logged: str,
) -> None:
    await start_bot()
    refused = insert_of_jobs_fails(monkeypatch, error)
    interaction = await imagine(discord_fake, WORDS)
    assert is_sentence(interaction.shown) and interaction.shown is not None
    assert interaction.shown["content"] == sentence
    assert openai_fake.count("images") == 0
    # The values were there to leak: the refused statement carried the token and the words.
    assert any(interaction.token in repr(values) for _, values in refused)
    assert any(WORDS in repr(values) for _, values in refused)
    log = operators_log()
    assert logged in log
    assert "Dispatching event interaction" in log  # DEBUG lines are there too
    assert interaction.token not in log
    assert WORDS not in log and "Quibble-7731" not in log
