"""bot/logs.py: secrets and interaction tokens never reach a log line."""

import logging

import pytest

from bot.config import Secret
from bot.logs import RedactSecrets


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
