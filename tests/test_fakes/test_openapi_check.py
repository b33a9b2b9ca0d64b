"""Unit tests of SpecValidator against the official Discord and OpenAI OpenAPI documents."""

from __future__ import annotations

import logging

import pytest

from tests.fakes.openapi_check import SpecValidator
from tests.fakes.spec_documents import SPECS


@pytest.fixture
def discord() -> SpecValidator:
    return SpecValidator(
        SPECS / "discord-openapi.json", strip_prefix="/api/v10", unknown_properties="warn"
    )


@pytest.fixture
def oai() -> SpecValidator:
    return SpecValidator(SPECS / "openai-openapi.yaml", strip_prefix="/v1")


def test_valid_discord_message_passes(discord: SpecValidator) -> None:
    body = {
        "content": "Here is your picture",
        "embeds": [{"title": "Sunset", "description": "a lake", "color": 0xFFAA00}],
        "allowed_mentions": {"parse": [], "replied_user": False},
        "message_reference": {"message_id": 123456789012345678, "fail_if_not_exists": False},
        "components": [
            {"type": 1, "components": [{"type": 2, "style": 1, "label": "Again", "custom_id": "r"}]}
        ],
        "flags": 0,
    }
    assert discord.check("POST", "/api/v10/channels/1234/messages", body) == []


def test_discord_wrong_type_is_reported(discord: SpecValidator) -> None:
    problems = discord.check("POST", "/api/v10/channels/1234/messages", {"content": 5})
    assert len(problems) == 1
    assert "body.content" in problems[0] and "5 is not of type" in problems[0]


def test_discord_unknown_property_only_warns(
    discord: SpecValidator, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="tests.fakes.openapi_check"):
        problems = discord.check(
            "POST", "/api/v10/channels/1/messages", {"content": "hi", "colour_mode": 3}
        )
    assert problems == []
    assert "colour_mode" in caplog.text


def test_discord_quirks(discord: SpecValidator) -> None:
    # discord.py sends snowflakes as ints, int fields may be int-parseable strings, query
    # booleans as 1/0; the callback union is matched by its `type`.
    callback = "/api/v10/interactions/99/tok-en/callback"
    assert discord.check("POST", callback, {"type": 5}, query={"with_response": "1"}) == []
    assert (
        discord.check("POST", callback, {"type": 4, "data": {"content": "x", "flags": "64"}}) == []
    )
    bad_query = discord.check("POST", callback, {"type": 5}, query={"with_response": "maybe"})
    assert ["query.with_response" in p for p in bad_query] == [True]
    assert discord.check("POST", "/api/v10/webhooks/1/tok", {"content": "follow-up"}) == []
    edit = {"content": "done", "attachments": [{"id": 0, "filename": "a.png"}]}
    assert discord.check("PATCH", "/api/v10/webhooks/1/tok/messages/@original", edit) == []
    bad_path = discord.check("POST", "/api/v10/channels/None/messages", {"content": "x"})
    assert "path.channel_id" in bad_path[0]


def test_no_such_operation(discord: SpecValidator, oai: SpecValidator) -> None:
    assert discord.check("POST", "/api/v10/nope", None) == ["no such operation: POST /nope"]
    assert oai.check("DELETE", "/v1/images/generations", None) == [
        "no such operation: DELETE /images/generations"
    ]


def test_openai_unknown_property_is_an_error(oai: SpecValidator) -> None:
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}], "bogus": 1}
    problems = oai.check("POST", "/v1/chat/completions", body)
    assert problems == ["POST /chat/completions: body: unknown property 'bogus'"]
    nested = {"model": "m", "messages": [{"role": "user", "content": "hi", "nam": "x"}]}
    assert (
        "body.messages[0]: unknown property 'nam'"
        in oai.check("POST", "/v1/chat/completions", nested)[0]
    )


def test_openai_nullable_and_types(oai: SpecValidator) -> None:
    ok = {"model": "gpt-image-1.5", "prompt": "x", "n": None, "quality": None, "size": "1024x1024"}
    assert oai.check("POST", "/v1/images/generations", ok) == []
    bad = oai.check("POST", "/v1/images/generations", {"prompt": "x", "n": "2", "quality": "ultra"})
    assert any("body.n" in p for p in bad) and any("body.quality" in p for p in bad)
    assert oai.check("POST", "/v1/images/generations", {"model": "gpt-image-1.5"}) != []


def test_openai_multipart_fields_are_coerced_and_files_skipped(oai: SpecValidator) -> None:
    form = {"prompt": "x", "model": "gpt-image-1.5", "n": "2", "stream": "true", "image[]": "f"}
    mp = "multipart/form-data; boundary=abc"
    assert oai.check("POST", "/v1/images/edits", form, content_type=mp) == []
    problems = oai.check("POST", "/v1/images/edits", {"n": "two"}, content_type=mp)
    assert any("'prompt' is a required property" in p for p in problems)
    assert any("body.n" in p for p in problems)
    assert not any("'image'" in p for p in problems)


def test_check_schema_of_a_component(oai: SpecValidator) -> None:
    assert oai.check_schema("ImagesResponse", {"created": 1, "data": [{"b64_json": "x"}]}) == []
    assert oai.check_schema("ImagesResponse", {"data": []}) != []
