"""bot/logs.py: secrets and interaction tokens never reach a log line."""

import asyncio
import io
import json
import logging
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest

from bot.config import Secret, load_settings
from bot.logs import RedactSecrets, about_job, make_handler

SECRETS = {"DISCORD_TOKEN": "discord-token-abcdef", "OPENAI_API_KEY": "sk-secret-123456"}


def test_log_filter_masks_secret_values(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("test.redact")
    caplog.handler.addFilter(RedactSecrets([Secret("sk-secret-123456"), None]))
    try:
        raise RuntimeError("bad key sk-secret-123456")
    except RuntimeError:
        logger.exception("header was %s", "Bearer sk-secret-123456")
    assert "sk-secret-123456" not in caplog.text
    assert "********" in caplog.text


def test_log_filter_masks_interaction_tokens_in_urls(caplog: pytest.LogCaptureFixture) -> None:
    token = "aW50ZXJhY3Rpb246MTIzNDU2Nzg5MDpzZWNyZXQ"
    caplog.handler.addFilter(RedactSecrets([]))
    logging.getLogger("test.redact").warning(
        "PATCH https://discord.com/api/v10/webhooks/123/%s/messages/@original", token
    )
    assert token not in caplog.text
    assert "/webhooks/123/********/messages/@original" in caplog.text


def json_lines(stream: io.StringIO) -> list[dict[str, Any]]:
    """Every line written, each parsed as one JSON object."""
    return [json.loads(line) for line in stream.getvalue().splitlines()]


@pytest.fixture
def json_logger() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    """A logger writing through the bot's own handler with LOG_FORMAT=json."""
    settings = load_settings({**SECRETS, "LOG_FORMAT": "json"})
    stream = io.StringIO()
    handler = make_handler(settings, stream)
    logger = logging.getLogger("test.json")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    yield logger, stream
    logger.removeHandler(handler)
    logger.propagate = True


def test_json_logs_are_one_object_a_line(json_logger: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = json_logger
    logger.info("painted %d pictures\nin %s", 2, "ünïcode")
    logger.warning("second")
    first, second = json_lines(stream)
    assert first["message"] == "painted 2 pictures\nin ünïcode"
    assert (first["level"], first["logger"], second["level"]) == ("INFO", "test.json", "WARNING")
    assert datetime.fromisoformat(first["time"]).utcoffset() == timedelta(0)
    assert "job_id" not in first and "exc_info" not in first


async def test_json_lines_about_a_job_carry_its_id(
    json_logger: tuple[logging.Logger, io.StringIO],
) -> None:
    logger, stream = json_logger

    async def started_by_the_job() -> None:
        logger.info("in a task the job started")

    async def job(job_id: int) -> None:
        about_job(job_id)
        await asyncio.sleep(0)
        logger.info("working")
        await asyncio.create_task(started_by_the_job())

    await asyncio.gather(job(7), job(8))
    logger.info("not about a job")
    lines = json_lines(stream)
    assert sorted(line["job_id"] for line in lines[:4]) == [7, 7, 8, 8]
    assert "job_id" not in lines[4]


def test_json_lines_keep_secrets_masked(json_logger: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = json_logger
    token = "aW50ZXJhY3Rpb246MTIzNDU2Nzg5MDpzZWNyZXQ"
    try:
        raise RuntimeError(f"bad key {SECRETS['OPENAI_API_KEY']}")
    except RuntimeError:
        logger.exception("PATCH /webhooks/123/%s/messages/@original", token)
    (line,) = json_lines(stream)
    text = stream.getvalue()
    assert SECRETS["OPENAI_API_KEY"] not in text and token not in text
    assert line["message"] == "PATCH /webhooks/123/********/messages/@original"
    assert "RuntimeError: bad key ********" in line["exc_info"]


def test_text_logs_stay_in_discord_pys_layout() -> None:
    stream = io.StringIO()
    logger = logging.getLogger("test.text")
    handler = make_handler(load_settings(SECRETS), stream)
    logger.addHandler(handler)
    try:
        logger.warning("plain %s", SECRETS["DISCORD_TOKEN"])
    finally:
        logger.removeHandler(handler)
    assert stream.getvalue().endswith("] [WARNING ] test.text: plain ********\n")
