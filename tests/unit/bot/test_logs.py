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
from bot.logs import MASK, RedactSecrets, about_job, make_handler

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


INTERACTION = "aW50ZXJhY3Rpb246MTIzNDU2Nzg5MDEyMzQ1Njc4OTp" + "Zm9vYmFyX3F1dXgtMTIzNDU" * 6
WEBHOOK = "Xy9" + "aBcD3fGh1jKl_-" * 5  # a webhook token: 73 characters of token alphabet


def masked(caplog: pytest.LogCaptureFixture, *args: Any, **kwargs: Any) -> str:
    """What the bot's filter leaves of one record logged with `args` (message, traceback
    and stack), formatted in full."""
    caplog.handler.addFilter(RedactSecrets([]))
    logging.getLogger("test.redact").warning(*args, **kwargs)
    (record,) = caplog.records
    return logging.Formatter().format(record)


def test_a_webhook_url_in_a_traceback_is_masked(caplog: pytest.LogCaptureFixture) -> None:
    url = f"https://discord.com/api/v10/webhooks/123456789/{INTERACTION}/messages/@original"
    try:
        raise RuntimeError(f"404, message='Not Found', url=URL('{url}')")
    except RuntimeError:
        text = masked(caplog, "the edit failed", exc_info=True)
    assert INTERACTION not in text
    assert "webhooks/123456789/********/messages/@original" in text
    assert "RuntimeError: 404" in text  # the rest of the traceback stays


@pytest.mark.parametrize(
    "line",
    [
        f'interaction create {{"id": "1", "token": "{INTERACTION}", "type": 2}}',
        f"POST /api/v10/interactions/99/{WEBHOOK}/callback",
        f"https%3A%2F%2Fdiscord.com%2Fapi%2Fv10%2Fwebhooks%2F123%2F{WEBHOOK}%2Fmessages",
        f"webhook {WEBHOOK} refused",
        "bot token MTIzNDU2Nzg5MDEyMzQ1Njc4.GaBcDe.abcdefghijklmnopqrstuvwxyzABCDEFGHIJKL seen",
    ],
)
def test_token_shaped_strings_are_masked_wherever_they_stand(
    caplog: pytest.LogCaptureFixture, line: str
) -> None:
    text = masked(caplog, "%s", line)
    assert INTERACTION not in text and WEBHOOK not in text and "GaBcDe" not in text
    assert MASK in text


def test_a_stack_and_a_traceback_formatted_earlier_are_masked(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def log_from(token: str) -> None:
        try:
            raise ValueError(f"webhook {token}")
        except ValueError as error:
            record = logging.LogRecord("t", logging.ERROR, __file__, 1, "x", None, None)
            record.exc_info = (type(error), error, error.__traceback__)
            record.exc_text = logging.Formatter().formatException(record.exc_info)
            record.stack_info = f"Stack (most recent call last):\n  token={token}"
            RedactSecrets([]).filter(record)
            text = logging.Formatter().format(record)
            assert token not in text and text.count(MASK) == 2

    log_from(WEBHOOK)


@pytest.mark.parametrize(
    "line",
    [
        "in test_a_bot_whose_operator_set_no_budget_stops_at_ten_dollars_a_day_and_more_so",
        "sha256 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        "made 1234 bytes with gpt-image-2 (1024x1024, low), cost $0.0272",
        "job 12 (imagine) submitted by user 7001",
    ],
)
def test_ordinary_lines_are_left_alone(caplog: pytest.LogCaptureFixture, line: str) -> None:
    assert masked(caplog, "%s", line).endswith(line)


def test_the_safety_id_key_is_masked_like_every_secret() -> None:
    key = "an-operators-key-0123456789"
    stream = io.StringIO()
    handler = make_handler(load_settings({**SECRETS, "SAFETY_ID_KEY": key}), stream)
    logger = logging.getLogger("test.safety-key")
    logger.addHandler(handler)
    try:
        logger.warning("the key is %s", key)
    finally:
        logger.removeHandler(handler)
    assert key not in stream.getvalue() and MASK in stream.getvalue()
