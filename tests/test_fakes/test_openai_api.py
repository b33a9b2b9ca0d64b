"""Drive the fake OpenAI server with the real ``openai.AsyncOpenAI`` client."""

from __future__ import annotations

import asyncio
import base64
import io
import json
import time
from collections.abc import AsyncIterator, Callable
from typing import Any, cast

import aiohttp
import openai
import pytest
from openai.types.chat import ChatCompletionMessageParam
from PIL import Image

from tests.clocks import ManualClock
from tests.fakes.openai_api import FakeOpenAI
from tests.fakes.openapi_check import SpecValidator
from tests.fakes.spec_documents import OPENAI_SPEC

MODEL = "gpt-image-1.5"


@pytest.fixture
async def fake() -> AsyncIterator[FakeOpenAI]:
    async with FakeOpenAI(image_size_px=64) as server:
        yield server


@pytest.fixture
def client(fake: FakeOpenAI) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=fake.base_url, api_key=fake.api_key, max_retries=0)


@pytest.fixture(scope="module")
def spec() -> SpecValidator:
    return SpecValidator(OPENAI_SPEC)


async def until(condition: Callable[[], bool]) -> None:
    """Until `condition` holds (a generous bound: something must happen, not quickly)."""
    async with asyncio.timeout(10):
        while not condition():
            await asyncio.sleep(0.01)


def png(width: int = 32, height: int = 32) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 40, 90)).save(out, "PNG")
    return out.getvalue()


def decode(b64: str | None) -> Image.Image:
    assert b64
    return Image.open(io.BytesIO(base64.b64decode(b64)))


async def test_chat_default_and_custom_reply(
    fake: FakeOpenAI, client: openai.AsyncOpenAI, spec: SpecValidator
) -> None:
    messages: list[ChatCompletionMessageParam] = [
        {"role": "system", "content": "Expand."},
        {"role": "user", "content": "a fox"},
    ]
    raw = await client.chat.completions.with_raw_response.create(
        model="gpt-4o-mini", messages=messages
    )
    assert spec.check_schema("CreateChatCompletionResponse", json.loads(raw.text)) == []
    reply = raw.parse()
    assert reply.choices[0].message.content is not None
    assert reply.choices[0].message.content.startswith("A vivid, detailed scene of a fox,")
    assert reply.choices[0].finish_reason == "stop" and reply.usage is not None
    fake.chat_reply = lambda body: body["messages"][-1]["content"].upper()
    again = await client.chat.completions.create(model="gpt-4o-mini", messages=messages)
    assert again.choices[0].message.content == "A FOX"
    assert fake.count("chat") == 2 and fake.violations == []
    first = fake.requests[0]
    assert first.json is not None and first.json["messages"] == messages
    assert first.headers["authorization"] == f"Bearer {fake.api_key}"
    assert fake.requests[0].at <= fake.requests[1].at


async def test_generate_real_png_of_requested_size(spec: SpecValidator) -> None:
    async with FakeOpenAI() as fake:
        client = openai.AsyncOpenAI(base_url=fake.base_url, api_key=fake.api_key, max_retries=0)
        raw = await client.images.with_raw_response.generate(
            model=MODEL, prompt="a red fox", size="1536x1024", quality="low"
        )
        assert spec.check_schema("ImagesResponse", json.loads(raw.text)) == []
        result = raw.parse()
        assert result.data is not None
        image = decode(result.data[0].b64_json)
        assert (image.format, image.size) == ("PNG", (1536, 1024))
        assert result.size == "1536x1024" and result.output_format == "png"
        assert result.usage is not None and result.usage.output_tokens > 0
        fake.noisy = True
        noisy = await client.images.generate(model=MODEL, prompt="noise", size="1536x1024")
        assert noisy.data is not None and noisy.data[0].b64_json is not None
        assert len(base64.b64decode(noisy.data[0].b64_json)) > 3_000_000
        assert decode(noisy.data[0].b64_json).size == (1536, 1024)
        assert fake.violations == []


async def test_images_are_deterministic_per_prompt(client: openai.AsyncOpenAI) -> None:
    async def one(prompt: str, n: int = 1) -> list[str | None]:
        result = await client.images.generate(model=MODEL, prompt=prompt, n=n)
        assert result.data is not None
        return [d.b64_json for d in result.data]

    cat, cat_again, dog = await one("a cat"), await one("a cat"), await one("a dog")
    assert cat == cat_again and cat != dog
    two = await one("a cat", n=2)
    assert len(two) == 2 and two[0] != two[1]
    assert decode(two[1]).size == (64, 64)


async def test_streamed_generation_yields_partials_then_completed(
    fake: FakeOpenAI, client: openai.AsyncOpenAI
) -> None:
    stream = await client.images.generate(
        model=MODEL, prompt="x", stream=True, partial_images=2, size="1024x1536"
    )
    events = [event async for event in stream]
    assert [e.type for e in events] == [
        "image_generation.partial_image",
        "image_generation.partial_image",
        "image_generation.completed",
    ]
    assert [getattr(e, "partial_image_index", None) for e in events] == [0, 1, None]
    done = events[-1]
    assert done.type == "image_generation.completed" and done.usage.total_tokens > 0
    assert done.size == "1024x1536" and decode(done.b64_json).format == "PNG"
    assert fake.violations == []


async def test_stream_events_match_the_spec(fake: FakeOpenAI, spec: SpecValidator) -> None:
    schemas = {
        "image_generation.partial_image": "ImageGenPartialImageEvent",
        "image_generation.completed": "ImageGenCompletedEvent",
    }
    body = {"model": MODEL, "prompt": "x", "stream": True, "partial_images": 1}
    headers = {"Authorization": f"Bearer {fake.api_key}"}
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{fake.base_url}/images/generations", json=body, headers=headers) as resp,
    ):
        assert resp.content_type == "text/event-stream"
        blocks = [b for b in (await resp.text()).split("\n\n") if b]
    assert len(blocks) == 2
    for block in blocks:
        event, data = block.split("\n")
        name = event.removeprefix("event: ")
        assert spec.check_schema(schemas[name], json.loads(data.removeprefix("data: "))) == []


async def test_edit_accepts_a_typed_file_and_rejects_raw_bytes(
    fake: FakeOpenAI, client: openai.AsyncOpenAI
) -> None:
    result = await client.images.edit(
        model=MODEL, image=("in.png", png(), "image/png"), prompt="make it blue", n=1
    )
    assert result.data is not None and decode(result.data[0].b64_json).format == "PNG"
    sent = fake.requests[-1]
    assert sent.form == {"prompt": "make it blue", "model": MODEL, "n": "1"}
    assert [(f[0], f[1], f[2]) for f in sent.files] == [("image", "in.png", "image/png")]
    assert sent.files[0][3] == png()
    assert fake.violations == []
    with pytest.raises(openai.BadRequestError) as raised:
        await client.images.edit(model=MODEL, image=png(), prompt="make it blue")
    assert raised.value.code == "unsupported_file_mimetype"
    assert fake.requests[-1].files[0][2] == "application/octet-stream"
    assert len(fake.violations) == 1 and "application/octet-stream" in fake.violations[0]
    with pytest.raises(openai.BadRequestError) as raised:
        await client.images.edit(
            model=MODEL, image=("x.png", b"not a png", "image/png"), prompt="x"
        )
    assert raised.value.code == "invalid_image_file"
    assert fake.count("edits") == 3


async def test_streamed_edit_with_several_images(
    fake: FakeOpenAI, client: openai.AsyncOpenAI
) -> None:
    images = [("a.png", png(), "image/png"), ("b.png", png(16, 16), "image/png")]
    stream = await client.images.edit(
        model=MODEL, image=images, prompt="merge", stream=True, partial_images=1
    )
    assert [e.type async for e in stream] == ["image_edit.partial_image", "image_edit.completed"]
    assert [f[0] for f in fake.requests[-1].files] == ["image[]", "image[]"]
    assert fake.violations == []


async def test_moderation_flags_configured_words(
    fake: FakeOpenAI, client: openai.AsyncOpenAI, spec: SpecValidator
) -> None:
    fake.flagged_words = {"gore"}
    raw = await client.moderations.with_raw_response.create(
        model="omni-moderation-latest", input="A scene full of GORE"
    )
    assert spec.check_schema("CreateModerationResponse", json.loads(raw.text)) == []
    flagged = raw.parse().results[0]
    assert flagged.flagged and flagged.categories.violence
    assert not flagged.categories.sexual and flagged.category_scores.violence > 0.5
    calm = await client.moderations.create(model="omni-moderation-latest", input="a calm lake")
    assert not calm.results[0].flagged and not calm.results[0].categories.violence
    assert fake.count("moderations") == 2 and fake.violations == []


async def test_models_list_and_unknown_model(client: openai.AsyncOpenAI) -> None:
    ids = [m.id async for m in client.models.list()]
    assert MODEL in ids
    with pytest.raises(openai.NotFoundError) as raised:
        await client.models.retrieve("dall-e-9")
    assert raised.value.code == "model_not_found"


async def test_wrong_key_is_rejected_without_echoing_it(fake: FakeOpenAI) -> None:
    wrong = openai.AsyncOpenAI(base_url=fake.base_url, api_key="sk-wrong-123", max_retries=0)
    with pytest.raises(openai.AuthenticationError) as raised:
        await wrong.models.list()
    assert raised.value.code == "invalid_api_key"
    assert "sk-wrong-123" not in str(raised.value)
    assert fake.count("models") == 1 and fake.violations == []


async def test_http_faults(fake: FakeOpenAI, client: openai.AsyncOpenAI) -> None:
    fake.fail_next(
        "images",
        status=400,
        code="moderation_blocked",
        type="image_generation_user_error",
        message="Your request was rejected by the safety system.",
    )
    with pytest.raises(openai.BadRequestError) as blocked:
        await client.images.generate(model=MODEL, prompt="x")
    assert blocked.value.code == "moderation_blocked"
    fake.fail_next(
        "chat",
        status=429,
        code="rate_limit_exceeded",
        type="requests",
        headers={"retry-after": "7"},
    )
    with pytest.raises(openai.RateLimitError) as limited:
        await client.chat.completions.create(model="m", messages=[{"role": "user", "content": "x"}])
    assert limited.value.response.headers["retry-after"] == "7"
    fake.fail_next("images", count=2)
    for _ in range(2):
        with pytest.raises(openai.InternalServerError):
            await client.images.generate(model=MODEL, prompt="x")
    assert (await client.images.generate(model=MODEL, prompt="x")).data
    assert fake.count("images") == 4 and fake.violations == []


async def test_sdk_retries_a_server_error(fake: FakeOpenAI) -> None:
    retrying = openai.AsyncOpenAI(base_url=fake.base_url, api_key=fake.api_key, max_retries=2)
    fake.fail_next("images", headers={"retry-after-ms": "10"})
    assert (await retrying.images.generate(model=MODEL, prompt="x")).data
    assert fake.count("images") == 2


async def test_timeout_and_disconnect(fake: FakeOpenAI, client: openai.AsyncOpenAI) -> None:
    fake.fail_next("images", mode="timeout", delay=60)
    started = time.monotonic()
    with pytest.raises(openai.APITimeoutError):
        await client.with_options(timeout=0.3).images.generate(model=MODEL, prompt="x")
    assert time.monotonic() - started < 30  # its own timeout ended it, not the fake's answer
    fake.fail_next("images", mode="disconnect")
    with pytest.raises(openai.APIConnectionError) as dropped:
        await client.images.generate(model=MODEL, prompt="x")
    assert not isinstance(dropped.value, openai.APITimeoutError)
    assert (await client.images.generate(model=MODEL, prompt="x")).data
    assert fake.violations == []


async def test_a_dropped_answer_is_cut_midway(fake: FakeOpenAI, client: openai.AsyncOpenAI) -> None:
    fake.fail_next("images", mode="drop")
    seen: list[str] = []
    stream = await client.images.generate(model=MODEL, prompt="x", stream=True, partial_images=3)
    with pytest.raises(openai.APIConnectionError) as streamed:
        async for event in stream:
            seen.append(event.type)
    assert seen == ["image_generation.partial_image"]
    assert not isinstance(streamed.value, openai.APITimeoutError)
    assert type(streamed.value.__cause__).__name__ == "RemoteProtocolError"
    fake.fail_next("images", mode="drop")
    with pytest.raises(openai.APIConnectionError) as whole:
        await client.images.generate(model=MODEL, prompt="x")
    assert not isinstance(whole.value, openai.APITimeoutError)
    assert type(whole.value.__cause__).__name__ == "RemoteProtocolError"
    assert (await client.images.generate(model=MODEL, prompt="x")).data
    assert fake.count("images") == 3 and fake.violations == []


async def test_held_images_come_as_the_test_lets_them_through(
    fake: FakeOpenAI, client: openai.AsyncOpenAI
) -> None:
    gate = fake.hold_images()
    plain = asyncio.create_task(client.images.generate(model=MODEL, prompt="a"))
    await until(lambda: gate.waiting == 1)
    assert not plain.done()
    gate.let_through()
    assert (await asyncio.wait_for(plain, 10)).data
    stream = await client.images.generate(model=MODEL, prompt="b", stream=True, partial_images=2)
    seen: list[str] = []

    async def read() -> None:
        async for event in stream:
            seen.append(event.type)

    reading = asyncio.create_task(read())
    await until(lambda: gate.waiting == 1)
    assert seen == []  # each event of a stream waits its turn
    gate.let_through()
    await until(lambda: seen == ["image_generation.partial_image"])
    gate.open()  # and then everything at once
    await asyncio.wait_for(reading, 10)
    assert seen == ["image_generation.partial_image"] * 2 + ["image_generation.completed"]
    assert (await client.images.generate(model=MODEL, prompt="c")).data
    assert gate.passed == 5 and fake.violations == []


async def test_error_event_inside_a_stream(fake: FakeOpenAI, client: openai.AsyncOpenAI) -> None:
    fake.fail_next("images", mode="stream_error", code="moderation_blocked", message="Blocked.")
    seen: list[str] = []
    stream = await client.images.generate(model=MODEL, prompt="x", stream=True, partial_images=3)
    with pytest.raises(openai.APIError) as raised:
        async for event in stream:
            seen.append(event.type)
    assert seen == ["image_generation.partial_image"]
    assert not isinstance(raised.value, openai.APIStatusError)
    assert raised.value.code == "moderation_blocked" and raised.value.message == "Blocked."


async def test_latency_knob(fake: FakeOpenAI, client: openai.AsyncOpenAI) -> None:
    fake.chat_latency = 0.2
    started = time.monotonic()
    await client.chat.completions.create(model="m", messages=[{"role": "user", "content": "x"}])
    assert time.monotonic() - started >= 0.2


async def test_invalid_requests_are_rejected_and_recorded(
    fake: FakeOpenAI, client: openai.AsyncOpenAI
) -> None:
    with pytest.raises(openai.BadRequestError) as raised:
        await client.images.generate(model=MODEL, prompt="x", response_format="b64_json")
    assert raised.value.param == "response_format"
    with pytest.raises(openai.BadRequestError):
        await client.images.generate(model=MODEL, prompt="x", style="vivid")
    with pytest.raises(openai.BadRequestError):
        await client.chat.completions.create(
            model="m", messages=[{"role": "user", "content": "x"}], extra_body={"bogus": 1}
        )
    with pytest.raises(openai.BadRequestError):
        await client.images.generate(model=MODEL, prompt="x", quality=cast(Any, "ultra"))
    with pytest.raises(openai.NotFoundError):
        await client.embeddings.create(model="text-embedding-3-small", input="x")
    with pytest.raises(openai.BadRequestError) as too_long:
        await client.images.generate(model=MODEL, prompt="x" * 32_001)
    assert too_long.value.code == "string_above_max_length"
    assert (await client.images.generate(model=MODEL, prompt="x" * 32_000)).data
    assert len(fake.violations) == 6
    assert "response_format" in fake.violations[0] and "style" in fake.violations[1]
    assert "unknown property 'bogus'" in fake.violations[2]
    assert "body.quality" in fake.violations[3]
    assert fake.violations[4] == "unknown endpoint: POST /v1/embeddings"


async def test_image_rate_limit_is_a_moving_window(
    fake: FakeOpenAI, client: openai.AsyncOpenAI
) -> None:
    fake.clock = clock = ManualClock()  # the window's time passes only where the test says
    fake.image_rate_limit = (2, 1.0)
    first = await client.images.with_raw_response.generate(model=MODEL, prompt="a")
    assert first.headers["x-ratelimit-limit-images"] == "2"
    assert first.headers["x-ratelimit-remaining-images"] == "1"
    clock.advance(0.4)  # the second image is younger: it holds its slot for longer
    second = await client.images.with_raw_response.generate(model=MODEL, prompt="b")
    assert second.headers["x-ratelimit-remaining-images"] == "0"
    with pytest.raises(openai.RateLimitError) as limited:
        await client.images.generate(model=MODEL, prompt="c")
    error = limited.value
    assert error.code == "rate_limit_exceeded" and error.type == "requests"
    assert "Rate limit reached" in error.message and "images" in error.message
    wait_ms = int(error.response.headers["retry-after-ms"])
    assert 0 < wait_ms <= 1000 and int(error.response.headers["retry-after"]) >= 1
    assert error.response.headers["x-ratelimit-remaining-images"] == "0"
    clock.advance(wait_ms / 1000)
    assert (await client.images.generate(model=MODEL, prompt="c")).data  # the first one left
    with pytest.raises(openai.RateLimitError):  # a fixed window would have let this through
        await client.images.generate(model=MODEL, prompt="d")
    assert len(fake.rate_limited) == 2 and len(fake.image_times) == 3
    assert fake.count("images") == 5 and fake.violations == []


async def test_image_rate_limit_counts_images_not_chat(
    fake: FakeOpenAI, client: openai.AsyncOpenAI
) -> None:
    fake.image_rate_limit = (3, 60.0)
    for _ in range(3):
        await client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "x"}]
        )
    await client.moderations.create(model="omni-moderation-latest", input="x")
    pair = await client.images.generate(model=MODEL, prompt="x", n=2)
    assert pair.data is not None and len(pair.data) == 2
    with pytest.raises(openai.RateLimitError) as limited:  # 2 + 2 images > 3
        await client.images.edit(model=MODEL, image=("in.png", png(), "image/png"), prompt="y", n=2)
    assert int(limited.value.response.headers["retry-after-ms"]) > 55_000
    assert (await client.images.generate(model=MODEL, prompt="x")).data  # 2 + 1 fit
    assert [r.endpoint for r in fake.rate_limited] == ["edits"] and len(fake.image_times) == 3
    fake.image_rate_limit = None
    assert (await client.images.generate(model=MODEL, prompt="z")).data
