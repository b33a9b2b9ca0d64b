"""bot/imaging/providers.py: every SDK error becomes one sentence; responses are read safely."""

from __future__ import annotations

import base64
import hashlib
import io
import logging
from types import SimpleNamespace
from typing import Any

import httpx2
import openai
import pytest
from PIL import Image

from bot.errors import (
    Misconfigured,
    PicassoError,
    ProviderBusy,
    ProviderTimeout,
    ProviderUnavailable,
    SafetyRejected,
)
from bot.imaging.pricing import Usage
from bot.imaging.prompts import expansion_messages
from bot.imaging.providers import (
    OpenAIChat,
    OpenAIImages,
    OpenAIModerator,
    _consume,
    _decode,
    _usage,
    provider_errors,
    translate_error,
)
from tests.fakes.openai_api import FakeOpenAI

KEY = "sk-live-this-must-never-be-logged-0123456789"
POLICY = "content_policy_violation"
REQUEST = httpx2.Request("POST", "https://api.example.test/v1/images/generations")


def status_error(
    kind: type[openai.APIStatusError],
    status: int,
    *,
    code: str | None = None,
    message: str = "refused",
    headers: dict[str, str] | None = None,
) -> openai.APIStatusError:
    response = httpx2.Response(status, request=REQUEST, headers=headers or {})
    body = {"message": message, "type": "invalid_request_error", "code": code}
    return kind(message, response=response, body=body)


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (status_error(openai.BadRequestError, 400, code="moderation_blocked"), SafetyRejected),
        (status_error(openai.BadRequestError, 400, code=POLICY), SafetyRejected),
        (status_error(openai.AuthenticationError, 401), Misconfigured),
        (status_error(openai.PermissionDeniedError, 403), Misconfigured),
        (status_error(openai.NotFoundError, 404, code="model_not_found"), Misconfigured),
        (status_error(openai.BadRequestError, 400, code="invalid_size"), Misconfigured),
        (status_error(openai.UnprocessableEntityError, 422), Misconfigured),
        (status_error(openai.ConflictError, 409), ProviderUnavailable),
        (status_error(openai.InternalServerError, 503), ProviderUnavailable),
        (status_error(openai.RateLimitError, 429, code="insufficient_quota"), ProviderBusy),
        (openai.APITimeoutError(REQUEST), ProviderTimeout),
        (openai.APIConnectionError(request=REQUEST), ProviderUnavailable),
        (openai.APIError("stream broke", REQUEST, body=None), ProviderUnavailable),
        (openai.ContentFilterFinishReasonError(), SafetyRejected),
        (openai.OpenAIError("anything else from the SDK"), ProviderUnavailable),
    ],
    ids=lambda value: value.__name__ if isinstance(value, type) else type(value).__name__,
)
def test_every_sdk_error_becomes_a_domain_error_with_its_sentence(
    error: openai.OpenAIError, expected: type[PicassoError]
) -> None:
    translated = translate_error(error, what="image generation")
    assert type(translated) is expected
    assert translated.user_message == expected.user_message or expected is ProviderBusy


def test_the_provider_errors_block_raises_the_domain_error_chained() -> None:
    with pytest.raises(ProviderTimeout) as caught, provider_errors("image generation"):
        raise openai.APITimeoutError(REQUEST)
    assert isinstance(caught.value.__cause__, openai.APITimeoutError)


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [
        ({"retry-after": "7"}, 7),
        ({"retry-after-ms": "2000"}, 2),
        ({"retry-after": "Wed, 21 Oct 2026 07:28:00 GMT"}, 30),  # a date: the default wait
        ({}, 30),
    ],
)
def test_rate_limits_say_when_to_try_again(headers: dict[str, str], seconds: int) -> None:
    error = status_error(openai.RateLimitError, 429, code="rate_limit_exceeded", headers=headers)
    assert translate_error(error, what="image generation").user_message == (
        f"The image service is busy right now — try again in {seconds} s."
    )


def test_a_refused_key_is_logged_loudly_without_the_providers_message(
    caplog: pytest.LogCaptureFixture,
) -> None:
    error = status_error(
        openai.AuthenticationError, 401, code="invalid_api_key", message=f"Incorrect key {KEY}"
    )
    with caplog.at_level(logging.DEBUG):
        translated = translate_error(error, what="chat completion")
    assert translated.user_message == "The bot is misconfigured — tell a server admin."
    assert KEY not in str(translated)
    assert any(r.levelno == logging.CRITICAL for r in caplog.records)
    assert "OPENAI_API_KEY" in caplog.text
    assert KEY not in caplog.text


def test_picasso_errors_pass_through_untouched() -> None:
    busy = ProviderBusy(3)
    assert translate_error(busy, what="x") is busy


def test_image_data_must_be_present_and_valid_base64() -> None:
    assert _decode(base64.b64encode(b"png").decode()) == b"png"
    for bad in (None, "", "not base64!"):
        with pytest.raises(ProviderUnavailable):
            _decode(bad)


def test_usage_reads_what_the_provider_reported_and_tolerates_gaps() -> None:
    details = SimpleNamespace(text_tokens=30, image_tokens=200)
    full = SimpleNamespace(input_tokens=230, input_tokens_details=details, output_tokens=4160)
    assert _usage(full) == Usage(text_in=30, image_in=200, image_out=4160)
    no_details = SimpleNamespace(input_tokens=50, input_tokens_details=None, output_tokens=272)
    assert _usage(no_details) == Usage(text_in=50, image_in=0, image_out=272)
    nulls = SimpleNamespace(input_tokens=None, input_tokens_details=None, output_tokens=None)
    assert _usage(nulls) == Usage()
    assert _usage(None) == Usage()


class Stream:
    """An image event stream that records whether it was closed."""

    def __init__(self, events: list[Any]) -> None:
        self._events = events
        self.closed = False

    def __aiter__(self) -> Stream:
        return self

    async def __anext__(self) -> Any:
        if not self._events:
            raise StopAsyncIteration
        event = self._events.pop(0)
        if isinstance(event, Exception):
            raise event
        return event

    async def close(self) -> None:
        self.closed = True


def event(kind: str, data: bytes, **fields: Any) -> Any:
    return SimpleNamespace(type=kind, b64_json=base64.b64encode(data).decode(), **fields)


async def test_a_stream_gives_previews_then_the_picture_and_is_closed() -> None:
    previews: list[tuple[bytes, int]] = []

    async def on_preview(png: bytes, index: int) -> None:
        previews.append((png, index))

    stream = Stream(
        [
            event("image_generation.partial_image", b"p0", partial_image_index=0),
            event("image_generation.completed", b"final", usage=None),
        ]
    )
    image = await _consume(stream, on_preview, "gpt-image-2")
    assert (image.data, image.model, previews) == (b"final", "gpt-image-2", [(b"p0", 0)])
    assert stream.closed


@pytest.mark.parametrize(
    "events",
    [[], [openai.APIError("boom", REQUEST, body={"code": "moderation_blocked"})]],
    ids=["ends-early", "fails"],
)
async def test_a_stream_that_ends_without_a_picture_is_closed_and_fails(events: list[Any]) -> None:
    async def on_preview(png: bytes, index: int) -> None:
        return None

    stream = Stream(events)
    with pytest.raises((ProviderUnavailable, openai.APIError)):
        await _consume(stream, on_preview, "gpt-image-2")
    assert stream.closed


class Completions:
    """chat.completions of a client that answers with `content` and `finish_reason`."""

    def __init__(self, content: str | None, finish_reason: str) -> None:
        message = SimpleNamespace(content=content)
        self.response = SimpleNamespace(
            choices=[SimpleNamespace(message=message, finish_reason=finish_reason)]
        )
        self.sent: dict[str, Any] = {}

    async def create(self, **params: Any) -> Any:
        self.sent = params
        return self.response


def chat_on(completions: Completions) -> OpenAIChat:
    client = SimpleNamespace(chat=SimpleNamespace(completions=completions))
    return OpenAIChat(client, "gpt-5.4-mini")  # type: ignore[arg-type]


async def test_the_chat_model_gets_our_instructions_and_the_words_as_user_text() -> None:
    completions = Completions("A fox at dawn.", "stop")
    answer = await chat_on(completions).complete(expansion_messages("a fox"))
    assert answer == "A fox at dawn."
    roles = [(m["role"], m["content"]) for m in completions.sent["messages"]]
    assert roles[0][0] == "system" and roles[-1] == ("user", "a fox")
    assert completions.sent["model"] == "gpt-5.4-mini"


async def test_an_answer_cut_off_by_the_token_budget_is_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    answer = await chat_on(Completions("", "length")).complete(expansion_messages("a fox"))
    assert answer == ""
    assert "token budget" in caplog.text


def _png(colour: str) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), colour).save(out, "PNG")
    return out.getvalue()


async def test_an_edit_sends_every_input_picture_to_the_edit_endpoint() -> None:
    first, second = _png("red"), _png("blue")
    async with FakeOpenAI() as fake:
        client = openai.AsyncOpenAI(api_key=fake.api_key, base_url=fake.base_url, max_retries=0)
        images = OpenAIImages(client, "gpt-image-2", partial_images=0)
        await images.edit(first, "both together", size="1024x1024", quality="low")
        await images.edit(first, "both together", size="1024x1024", quality="low", more=[second])
        await client.close()
    one, two = [r for r in fake.requests if r.endpoint == "edits"]
    assert [(name, data) for name, _, _, data in one.files] == [("image", first)]
    assert [(name, data) for name, _, _, data in two.files] == [
        ("image[]", first),
        ("image[]", second),
    ]
    assert fake.violations == []


async def test_pictures_are_moderated_as_image_inputs() -> None:
    harmless, harmful = _png("green"), _png("black")
    async with FakeOpenAI() as fake:
        fake.flagged_images.add(hashlib.sha256(harmful).hexdigest())
        client = openai.AsyncOpenAI(api_key=fake.api_key, base_url=fake.base_url, max_retries=0)
        moderator = OpenAIModerator(client, "omni-moderation-latest")
        assert await moderator.flagged(["a cat"], [harmless]) == []
        assert await moderator.flagged(["a cat"], [harmless, harmful]) == ["violence"]
        assert await moderator.flagged([], [harmful]) == ["violence"]
        await client.close()
    assert fake.violations == []


async def test_several_pictures_come_from_one_call_with_n() -> None:
    async with FakeOpenAI(image_size_px=16) as fake:
        client = openai.AsyncOpenAI(api_key=fake.api_key, base_url=fake.base_url, max_retries=0)
        images = OpenAIImages(client, "gpt-image-2", partial_images=2)
        made = await images.generate("four boats", size="1024x1024", quality="low", n=4)
        await client.close()
    [call] = [r for r in fake.requests if r.endpoint == "images"]
    assert call.json is not None and call.json["n"] == 4 and "stream" not in call.json
    assert len(made.pictures) == 4 and len(set(made.pictures)) == 4
    assert made.usage.image_out == 4 * 272  # the call's usage covers every picture
    assert fake.violations == []


class OnePerCall:
    """An images endpoint that makes one picture per call whatever `n` says (as some
    OpenAI-compatible servers do), counting its calls."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    async def __call__(self, **params: Any) -> Any:
        self.calls.append(params)
        data = base64.b64encode(f"picture {len(self.calls)}".encode()).decode()
        usage = SimpleNamespace(input_tokens=10, input_tokens_details=None, output_tokens=100)
        return SimpleNamespace(data=[SimpleNamespace(b64_json=data)], usage=usage)


async def test_a_model_without_n_gets_one_call_per_picture_side_by_side() -> None:
    endpoint = OnePerCall()
    images = OpenAIImages(SimpleNamespace(), "flux-dev")  # type: ignore[arg-type]
    made = await images._several(endpoint, "image generation", "flux-dev", 3, prompt="boats")
    assert [call.get("n") for call in endpoint.calls] == [None, None, None]
    assert sorted(made.pictures) == [b"picture 1", b"picture 2", b"picture 3"]
    assert made.usage == Usage(text_in=30, image_in=0, image_out=300)


async def test_a_call_that_makes_fewer_pictures_than_asked_is_topped_up() -> None:
    endpoint = OnePerCall()
    images = OpenAIImages(SimpleNamespace(), "gpt-image-2")  # type: ignore[arg-type]
    made = await images._several(endpoint, "image generation", "gpt-image-2", 3, prompt="boats")
    assert [call.get("n") for call in endpoint.calls] == [3, None, None]
    assert len(made.pictures) == 3 and made.usage.image_out == 300
