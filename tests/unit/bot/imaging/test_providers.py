"""bot/imaging/providers.py: every SDK error becomes one sentence; responses are read safely."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import io
import logging
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
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
from bot.imaging.pricing import ChatTokens, MeteredCall, TokenUsage, metering
from bot.imaging.prompts import expansion_messages
from bot.imaging.providers import (
    SAFETY_ID_CHARS,
    OpenAIChat,
    OpenAIImages,
    OpenAIModerator,
    SafetyIds,
    _consume,
    _decode,
    _usage,
    provider_errors,
    takes_n,
    translate_error,
)
from tests.fakes.openai_api import Endpoint, FakeOpenAI, FaultMode

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
    assert _usage(full) == TokenUsage(text_in=30, image_in=200, image_out=4160)
    no_details = SimpleNamespace(input_tokens=50, input_tokens_details=None, output_tokens=272)
    assert _usage(no_details) == TokenUsage(text_in=50, image_in=0, image_out=272)
    nulls = SimpleNamespace(input_tokens=None, input_tokens_details=None, output_tokens=None)
    assert _usage(nulls) == TokenUsage()
    assert _usage(None) == TokenUsage()


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


async def test_a_chat_call_is_metered_by_the_tokens_the_provider_reports() -> None:
    async with FakeOpenAI() as fake:  # it reports `usage` as the spec says
        client = openai.AsyncOpenAI(api_key=fake.api_key, base_url=fake.base_url, max_retries=0)
        with metering() as meter:
            await OpenAIChat(client, "gpt-5.4-mini").complete(expansion_messages("a fox"))
        await client.close()
    [call] = meter.calls
    assert (call.kind, call.model) == ("chat", "gpt-5.4-mini")
    assert call.tokens.input > 100 and call.tokens.output > 0  # the instructions are long
    assert meter.cost_micros() > 0


async def test_a_chat_call_reported_without_usage_is_metered_by_an_estimate(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with metering() as meter:
        await chat_on(Completions("A fox at dawn.", "stop")).complete(expansion_messages("a fox"))
    [call] = meter.calls
    assert call.tokens.output == 4  # 14 characters, four a token, rounded up
    assert call.tokens.input > 0
    assert "reported no usage" in caplog.text


async def test_moderation_calls_are_metered_and_free_unless_priced() -> None:
    async with FakeOpenAI() as fake:
        client = openai.AsyncOpenAI(api_key=fake.api_key, base_url=fake.base_url, max_retries=0)
        moderator = OpenAIModerator(client, "omni-moderation-latest")
        with metering() as meter:
            await moderator.flagged(["a cat", "a calm cat"], [_png("red")])
        await client.close()
    assert meter.calls == [  # no usage reported: the texts' 15 characters, estimated
        MeteredCall("moderation", "omni-moderation-latest", ChatTokens(4)),
        MeteredCall("moderation", "omni-moderation-latest", ChatTokens(0)),
    ]
    assert meter.cost_micros() == 0


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
    assert made.usage == TokenUsage(text_in=30, image_in=0, image_out=300)


async def test_a_call_that_makes_fewer_pictures_than_asked_is_topped_up() -> None:
    endpoint = OnePerCall()
    images = OpenAIImages(SimpleNamespace(), "gpt-image-2")  # type: ignore[arg-type]
    made = await images._several(endpoint, "image generation", "gpt-image-2", 3, prompt="boats")
    assert [call.get("n") for call in endpoint.calls] == [3, None, None]
    assert len(made.pictures) == 3 and made.usage.image_out == 300


# -- which failures prove nothing was made (`ProviderUnavailable.retryable`) ----------------


def connection_error(cause: Exception) -> openai.APIConnectionError:
    """The SDK's error for `cause` as `_base_client` raises it (`raise … from err`)."""
    kind = openai.APITimeoutError if isinstance(cause, httpx2.TimeoutException) else None
    error = openai.APIConnectionError(request=REQUEST) if kind is None else kind(REQUEST)
    error.__cause__ = cause
    return error


@pytest.mark.parametrize(
    ("error", "retryable"),
    [
        (status_error(openai.InternalServerError, 500), True),
        (status_error(openai.InternalServerError, 502), True),
        (status_error(openai.InternalServerError, 503), True),
        (status_error(openai.InternalServerError, 504), False),  # may have been painted
        (status_error(openai.InternalServerError, 501), False),
        (status_error(openai.ConflictError, 409), False),
        (connection_error(httpx2.ConnectError("[Errno 111] Connection refused")), True),
        (connection_error(httpx2.ConnectError("[Errno -2] Name or service not known")), True),
        (connection_error(httpx2.ConnectTimeout("timed out")), True),
        (connection_error(httpx2.RemoteProtocolError("Server disconnected")), False),
        (connection_error(httpx2.ReadError("reset by peer")), False),
        (connection_error(httpx2.WriteError("broken pipe")), False),
        (openai.APIConnectionError(request=REQUEST), False),  # no cause: nothing is proven
        (openai.APIError("stream broke", REQUEST, body=None), False),
        (openai.OpenAIError("anything else from the SDK"), False),
    ],
    ids=lambda value: value if isinstance(value, bool) else _name(value),
)
def test_only_answers_that_prove_nothing_was_made_are_retryable(
    error: openai.OpenAIError, retryable: bool
) -> None:
    translated = translate_error(error, what="image generation")
    assert isinstance(translated, ProviderUnavailable)
    assert translated.retryable is retryable


def _name(error: BaseException) -> str:
    status = getattr(error, "status_code", None)
    cause = error.__cause__
    return "-".join(
        str(part) for part in (type(error).__name__, status, cause and str(cause)) if part
    )


@pytest.mark.parametrize(
    "cause",
    [httpx2.ReadTimeout("read"), httpx2.WriteTimeout("write"), httpx2.PoolTimeout("pool")],
    ids=lambda cause: type(cause).__name__,
)
def test_a_timeout_other_than_connecting_stays_a_timeout(cause: Exception) -> None:
    translated = translate_error(connection_error(cause), what="image generation")
    assert type(translated) is ProviderTimeout


def test_retryable_defaults_to_false_and_keeps_the_sentence() -> None:
    assert ProviderUnavailable().retryable is False
    error = ProviderUnavailable(detail="HTTP 503", retryable=True)
    assert error.retryable is True and str(error) == "HTTP 503"
    assert error.user_message == ProviderUnavailable.user_message


async def _ignore(png: bytes, index: int) -> None:
    return None


ImageCall = Callable[[OpenAIImages], Awaitable[Any]]
IMAGE_CALLS: dict[str, ImageCall] = {
    "generate": lambda images: images.generate("a boat", size="1024x1024", quality="low"),
    "streamed": lambda images: images.generate(
        "a boat", size="1024x1024", quality="low", on_preview=_ignore
    ),
    "edit": lambda images: images.edit(_png("red"), "a boat", size="1024x1024", quality="low"),
    "streamed-edit": lambda images: images.edit(
        _png("red"), "a boat", size="1024x1024", quality="low", on_preview=_ignore
    ),
}


def endpoint_of(call: str) -> Endpoint:
    return "edits" if "edit" in call else "images"


@pytest.fixture
async def fake() -> AsyncIterator[FakeOpenAI]:
    async with FakeOpenAI(image_size_px=16) as server:
        yield server


@pytest.fixture
async def client(fake: FakeOpenAI) -> AsyncIterator[openai.AsyncOpenAI]:
    """The real SDK client, as `make_openai` builds it (no retries of its own)."""
    async with openai.AsyncOpenAI(
        api_key=fake.api_key, base_url=fake.base_url, max_retries=0, timeout=10
    ) as made:
        yield made


def images_on(client: openai.AsyncOpenAI) -> OpenAIImages:
    return OpenAIImages(client, "gpt-image-2", partial_images=2)


async def failure_of(call: ImageCall, images: OpenAIImages) -> PicassoError:
    with pytest.raises(PicassoError) as raised:
        await call(images)
    return raised.value


@pytest.mark.parametrize("status", [500, 502, 503])
@pytest.mark.parametrize("call", list(IMAGE_CALLS))
async def test_a_server_error_that_made_nothing_is_retryable(
    fake: FakeOpenAI, client: openai.AsyncOpenAI, call: str, status: int
) -> None:
    endpoint = endpoint_of(call)
    fake.fail_next(endpoint, status=status)
    error = await failure_of(IMAGE_CALLS[call], images_on(client))
    assert isinstance(error, ProviderUnavailable) and error.retryable
    await IMAGE_CALLS[call](images_on(client))  # the next call paints
    assert fake.count(endpoint) == 2 and fake.violations == []


@pytest.mark.parametrize("call", list(IMAGE_CALLS))
async def test_a_gateway_timeout_is_not_retryable(
    fake: FakeOpenAI, client: openai.AsyncOpenAI, call: str
) -> None:
    fake.fail_next(endpoint_of(call), status=504, type="gateway_timeout")
    error = await failure_of(IMAGE_CALLS[call], images_on(client))
    assert isinstance(error, ProviderUnavailable) and not error.retryable


@pytest.fixture
def refusing_url() -> Iterator[str]:
    """A URL on 127.0.0.1 whose port is bound but not listening: connecting is refused
    (and no other process can take the port while the test runs)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/v1"


@pytest.mark.parametrize("call", list(IMAGE_CALLS))
async def test_a_refused_connection_is_retryable(
    refusing_url: str, call: str, caplog: pytest.LogCaptureFixture
) -> None:
    async with openai.AsyncOpenAI(api_key=KEY, base_url=refusing_url, max_retries=0) as client:
        error = await failure_of(IMAGE_CALLS[call], images_on(client))
    assert isinstance(error, ProviderUnavailable) and error.retryable
    assert isinstance(error.__cause__, openai.APIConnectionError)
    assert isinstance(error.__cause__.__cause__, httpx2.ConnectError)
    assert "nothing was sent" in caplog.text


@pytest.mark.parametrize(
    "raised",
    [
        httpx2.ConnectTimeout("timed out"),
        httpx2.ConnectError("[Errno -2] Name or service not known"),
    ],
    ids=["connect-timeout", "no-such-host"],
)
async def test_connecting_failures_through_the_sdk_are_retryable(raised: Exception) -> None:
    sent: list[httpx2.Request] = []

    def transport(request: httpx2.Request) -> httpx2.Response:
        sent.append(request)
        raise raised

    http = httpx2.AsyncClient(transport=httpx2.MockTransport(transport))
    async with openai.AsyncOpenAI(
        api_key=KEY, base_url="https://api.example.test/v1", max_retries=0, http_client=http
    ) as client:
        error = await failure_of(IMAGE_CALLS["generate"], images_on(client))
    assert isinstance(error, ProviderUnavailable) and error.retryable
    assert error.__cause__ is not None and error.__cause__.__cause__ is raised
    assert len(sent) == 1


async def test_a_read_timeout_after_sending_is_a_timeout_not_retryable(
    fake: FakeOpenAI, client: openai.AsyncOpenAI
) -> None:
    fake.fail_next("images", mode="timeout", delay=30)  # far beyond the client's 0.2 s
    short = client.with_options(timeout=0.2)
    error = await asyncio.wait_for(failure_of(IMAGE_CALLS["generate"], images_on(short)), 10)
    assert type(error) is ProviderTimeout
    assert isinstance(error.__cause__, openai.APITimeoutError)
    assert isinstance(error.__cause__.__cause__, httpx2.ReadTimeout)
    assert fake.count("images") == 1  # it was received: it may be painting now


@pytest.mark.parametrize(
    ("call", "mode"),
    [
        ("streamed", "stream_error"),  # an error event after a partial image
        ("streamed-edit", "stream_error"),
        ("streamed", "drop"),  # the connection closed after a partial image
        ("streamed-edit", "drop"),
        ("generate", "drop"),  # the connection closed halfway through the answer
        ("edit", "drop"),
        ("generate", "disconnect"),  # received, then the connection closed without an answer
    ],
)
async def test_a_call_cut_after_it_was_received_is_not_retryable(
    fake: FakeOpenAI, client: openai.AsyncOpenAI, call: str, mode: FaultMode
) -> None:
    endpoint = endpoint_of(call)
    fake.fail_next(endpoint, mode=mode, code="server_error", message="The stream failed.")
    error = await failure_of(IMAGE_CALLS[call], images_on(client))
    assert isinstance(error, ProviderUnavailable) and not error.retryable
    assert fake.count(endpoint) == 1 and fake.violations == []


class Outcomes:
    """An images endpoint whose calls end as scripted: an exception is raised, anything
    else makes one picture; it counts the calls that ran to their end."""

    def __init__(self, *outcomes: Exception | None) -> None:
        self._outcomes = list(outcomes)
        self.finished = 0

    async def __call__(self, **params: Any) -> Any:
        outcome = self._outcomes.pop(0)
        await asyncio.sleep(0.01 * len(self._outcomes))  # later calls end first
        self.finished += 1
        if outcome is not None:
            raise outcome
        data = base64.b64encode(b"picture").decode()
        return SimpleNamespace(data=[SimpleNamespace(b64_json=data)], usage=None)


def server_error(status: int = 503) -> openai.APIStatusError:
    return status_error(openai.InternalServerError, status)


@pytest.mark.parametrize(
    ("model", "outcomes", "retryable"),
    [
        ("flux-dev", [server_error(), server_error(502), server_error(500)], True),
        ("flux-dev", [server_error(), None, server_error()], False),  # one was made (and billed)
        ("flux-dev", [None, server_error(), None], False),
        ("flux-dev", [server_error(), connection_error(httpx2.ReadError("reset"))], False),
        ("flux-dev", [server_error(), server_error(504)], False),
        ("gpt-image-2", [server_error()], True),  # the one call with `n`
        ("gpt-image-2", [None, server_error(), server_error()], False),  # topping up 1 of 3
    ],
)
async def test_pictures_made_side_by_side_are_retryable_only_if_none_was_made(
    model: str, outcomes: list[Exception | None], retryable: bool
) -> None:
    endpoint = Outcomes(*outcomes)
    images = OpenAIImages(SimpleNamespace(), model)  # type: ignore[arg-type]
    n = 3 if takes_n(model) else len(outcomes)
    with pytest.raises(ProviderUnavailable) as raised:
        await images._several(endpoint, "image generation", model, n, prompt="boats")
    assert raised.value.retryable is retryable
    assert endpoint.finished == len(outcomes)  # no call is left running unseen


# --- safety identifiers --------------------------------------------------------------------

ALICE_ID, BOB_ID = 112233445566778899, 998877665544332211
BOT_TOKEN = "MTIzNDU2Nzg5MDEyMzQ1Njc4.GaBcDe.bot-token-for-safety-ids-0123456789"


def test_a_person_keeps_one_identifier_and_no_two_people_share_it() -> None:
    ids = SafetyIds(b"a-key-of-the-deployment-1234")
    alice = ids.of(ALICE_ID)
    assert alice == ids.of(ALICE_ID) == SafetyIds(b"a-key-of-the-deployment-1234").of(ALICE_ID)
    assert alice != ids.of(BOB_ID)
    assert len({ids.of(user) for user in range(1000)}) == 1000
    assert len(alice) == SAFETY_ID_CHARS <= 64  # chat's safety_identifier takes at most 64
    assert int(alice, 16) >= 0  # hex


def test_an_identifier_reveals_nothing_of_the_person_or_the_key() -> None:
    key = "a-key-of-the-deployment-1234"
    ids = SafetyIds.for_deployment(key, BOT_TOKEN)
    assert ids is not None
    for user in (ALICE_ID, BOB_ID, 700100200300400500):
        shown = ids.of(user)
        assert str(user) not in shown and hex(user)[2:] not in shown
        # Not a plain (unkeyed) hash either: without the key it can't be matched to an id.
        assert shown not in hashlib.sha256(str(user).encode()).hexdigest()
    assert key not in ids.of(ALICE_ID) and BOT_TOKEN not in ids.of(ALICE_ID)
    assert SafetyIds(b"another-key-altogether-5678").of(ALICE_ID) != ids.of(ALICE_ID)


def test_without_a_key_the_identifiers_come_from_the_bot_token() -> None:
    derived = SafetyIds.for_deployment(None, BOT_TOKEN)
    again = SafetyIds.for_deployment("", BOT_TOKEN)
    other = SafetyIds.for_deployment(None, BOT_TOKEN + "x")
    keyed = SafetyIds.for_deployment("a-key-of-the-deployment-1234", BOT_TOKEN)
    assert derived is not None and again is not None and other is not None and keyed is not None
    assert derived.of(ALICE_ID) == again.of(ALICE_ID)  # stable for one deployment
    assert derived.of(ALICE_ID) != other.of(ALICE_ID) != keyed.of(ALICE_ID)
    # The token is not the key itself: knowing a hash under the token reveals nothing.
    assert derived.of(ALICE_ID) != SafetyIds(BOT_TOKEN.encode()).of(ALICE_ID)
    assert SafetyIds.for_deployment(None, None) is None


async def test_chat_and_images_name_the_person_the_way_each_endpoint_takes_it() -> None:
    person = SafetyIds(b"a-key-of-the-deployment-1234").of(ALICE_ID)
    async with FakeOpenAI(image_size_px=16) as fake:
        client = openai.AsyncOpenAI(api_key=fake.api_key, base_url=fake.base_url, max_retries=0)
        chat = OpenAIChat(client, "gpt-4.1-mini")
        images = OpenAIImages(client, "gpt-image-2", partial_images=1)
        await chat.complete(expansion_messages("a fox"), safety_id=person)
        await chat.complete(expansion_messages("a fox"))
        shown: list[bytes] = []

        async def preview(png: bytes, index: int) -> None:
            shown.append(png)

        await images.generate("a fox", size="1024x1024", quality="low", safety_id=person)
        await images.generate(
            "a fox", size="1024x1024", quality="low", on_preview=preview, safety_id=person
        )
        await images.generate("foxes", size="1024x1024", quality="low", n=2, safety_id=person)
        await images.edit(_png("red"), "redder", size="1024x1024", quality="low", safety_id=person)
        await images.generate("a fox", size="1024x1024", quality="low")
        await client.close()
    assert fake.violations == []
    named, unnamed = [r.json or {} for r in fake.requests if r.endpoint == "chat"]
    assert named["safety_identifier"] == person and "user" not in named
    assert "safety_identifier" not in unnamed
    paintings = [r.json or r.form or {} for r in fake.requests if r.endpoint in ("images", "edits")]
    assert [p.get("user") for p in paintings] == [person] * 4 + [None]
    assert not any("safety_identifier" in p for p in paintings)
    assert shown  # the streamed call too
