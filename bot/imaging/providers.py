"""The chat and image models behind the pipeline, and their OpenAI implementations.

`ChatModel` and `ImageModel` are small protocols so the pipeline can be driven by any
provider (and by tests). The OpenAI classes wrap one shared `AsyncOpenAI` client and turn
every SDK error into a domain error from `bot.errors` carrying the user's sentence.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import hashlib
import hmac
import logging
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Final, Protocol

import httpx2
import openai

from bot.errors import (
    Misconfigured,
    PicassoError,
    ProviderBusy,
    ProviderTimeout,
    ProviderUnavailable,
    SafetyRejected,
)
from bot.imaging.pricing import ChatTokens, TokenUsage, estimate_tokens, meter_call
from bot.imaging.prompts import MAX_COMPLETION_TOKENS, ChatMessages

log = logging.getLogger(__name__)

SAFETY_CODES = frozenset({"moderation_blocked", "content_policy_violation"})
# Statuses that say the provider made nothing: a 504 (its gateway gave up waiting) may still
# have been painted and billed; a 429 is `ProviderBusy`.
NOTHING_MADE_STATUSES = frozenset({500, 502, 503})
# What httpx2 raises only while opening a connection (TCP connect, DNS, TLS handshake, proxy
# tunnel), before a byte of the request is sent: the SDK chains it as the `__cause__` of
# its `APIConnectionError` (`APITimeoutError` for `ConnectTimeout`).
_NOT_SENT = (httpx2.ConnectError, httpx2.ConnectTimeout)

PreviewCallback = Callable[[bytes, int], Awaitable[None]]

# A safety identifier's length in hex digits: 128 bits, within chat's `safety_identifier`
# limit of 64 characters (the images' `user` states none).
SAFETY_ID_CHARS: Final = 32
# What the key of safety identifiers is derived from the bot token with, when the operator
# gives none (SAFETY_ID_KEY): the same bot token gives the same identifiers in every process.
SAFETY_ID_CONTEXT: Final = b"picasso safety identifier v1"


class SafetyIds:
    """A stable, unreadable identifier for each person, sent with the requests that take one
    (`safety_identifier` on chat, `user` on images), so the provider can act on one person's
    misuse rather than on the whole key. A keyed hash (HMAC-SHA256) of their user id: the
    same person always gets the same identifier; without the key it cannot be turned back
    into the id, nor matched to one."""

    def __init__(self, key: bytes) -> None:
        self._key = key

    @classmethod
    def for_deployment(cls, key: str | None, bot_token: str | None) -> SafetyIds | None:
        """The operator's `key`; else one derived from `bot_token` (HMAC-SHA256 of a fixed
        context under it: stable while the token is, and never revealing it); else None
        (a command without people, e.g. `imagine`)."""
        if key:
            return cls(key.encode())
        if bot_token:
            return cls(hmac.new(bot_token.encode(), SAFETY_ID_CONTEXT, hashlib.sha256).digest())
        return None

    def of(self, user_id: int) -> str:
        """The identifier of the person with `user_id`: SAFETY_ID_CHARS hex digits."""
        digest = hmac.new(self._key, str(user_id).encode(), hashlib.sha256).hexdigest()
        return digest[:SAFETY_ID_CHARS]


@dataclass(frozen=True, slots=True)
class GeneratedImage:
    """One finished picture as the provider returned it."""

    data: bytes
    usage: TokenUsage  # of the whole call (every picture it made)
    model: str
    more: tuple[bytes, ...] = ()  # the further pictures of a call asked for several

    @property
    def pictures(self) -> tuple[bytes, ...]:
        """Every picture the call made, in order."""
        return (self.data, *self.more)


class ChatModel(Protocol):
    """Writes text from a system instruction and a user message."""

    async def complete(self, messages: ChatMessages, *, safety_id: str | None = None) -> str | None:
        """The model's answer, or None when it wrote nothing (`safety_id`: the person asking,
        as `SafetyIds` names them)."""
        ...


class ImageModel(Protocol):
    """Paints a picture from a prompt, or edits one."""

    model: str

    async def generate(
        self,
        prompt: str,
        *,
        size: str,
        quality: str,
        model: str | None = None,
        on_preview: PreviewCallback | None = None,
        n: int = 1,
        safety_id: str | None = None,
    ) -> GeneratedImage:
        """The picture for `prompt` (`n` pictures: the first and `more`); `on_preview(png,
        index)` gets partial images if streamed (only for one picture); `safety_id`: the
        person asking, as `SafetyIds` names them."""
        ...

    async def edit(
        self,
        image: bytes,
        prompt: str,
        *,
        size: str,
        quality: str,
        model: str | None = None,
        on_preview: PreviewCallback | None = None,
        more: Sequence[bytes] = (),
        n: int = 1,
        safety_id: str | None = None,
    ) -> GeneratedImage:
        """`image` changed as `prompt` says, keeping its composition (`more`: further input
        pictures the prompt may draw on; `n`: how many pictures to make)."""
        ...


class Moderator(Protocol):
    """Checks text and pictures against a provider's content policy."""

    async def flagged(self, texts: list[str], images: Sequence[bytes] = ()) -> list[str]:
        """The policy categories any of `texts` or `images` (PNG) falls under (empty: none)."""
        ...


def _retry_after(error: openai.APIStatusError) -> float | None:
    headers = error.response.headers
    with contextlib.suppress(TypeError, ValueError):
        if "retry-after-ms" in headers:
            return float(headers["retry-after-ms"]) / 1000
        if "retry-after" in headers:
            return float(headers["retry-after"])
    return None


def _never_sent(error: BaseException) -> bool:
    """Whether `error` is the SDK's connection error for a request that never went out
    (connection refused, no such host, connect timeout)."""
    return isinstance(error, openai.APIConnectionError) and isinstance(error.__cause__, _NOT_SENT)


def _cause(error: BaseException) -> str:
    return type(error.__cause__).__name__ if error.__cause__ is not None else "no cause"


def translate_error(error: Exception, *, what: str) -> PicassoError:
    """The domain error (with the user's sentence) for an SDK exception; logs the details.

    Every `openai.OpenAIError` maps to one: what the SDK adds later lands on "unavailable".
    `ProviderUnavailable.retryable` is True only when the answer proves nothing was made:
    HTTP 500/502/503, or a connection that failed before the request was sent (`_never_sent`).
    Anything else may have been billed: a timeout after sending (`ProviderTimeout`), a
    connection lost mid-answer, a dropped stream or an error event inside one, a 504.
    """
    if isinstance(error, PicassoError):
        return error
    code = getattr(error, "code", None)
    if code in SAFETY_CODES or isinstance(error, openai.ContentFilterFinishReasonError):
        log.info("%s rejected by the provider's safety system (code=%s)", what, code)
        return SafetyRejected(detail=str(code))
    if isinstance(error, openai.AuthenticationError | openai.PermissionDeniedError):
        # The provider's message may quote part of the key: log only status and code.
        log.critical(
            "%s: the provider refused our credentials (HTTP %s, code=%s); check OPENAI_API_KEY",
            what,
            error.status_code,
            code,
        )
        return Misconfigured(detail=f"auth {error.status_code}")
    if isinstance(error, openai.RateLimitError):
        retry_after = _retry_after(error)
        log.warning("%s rate limited (code=%s, retry_after=%s)", what, code, retry_after)
        return ProviderBusy(retry_after, detail=str(code), passing=code != "insufficient_quota")
    if _never_sent(error):
        cause = _cause(error)
        log.warning("%s could not connect to the provider (%s): nothing was sent", what, cause)
        return ProviderUnavailable(detail=cause, retryable=True)
    if isinstance(error, openai.APITimeoutError):
        log.warning("%s timed out", what)
        return ProviderTimeout()
    if isinstance(error, openai.APIConnectionError):
        cause = _cause(error)
        log.warning("%s lost the provider (%s): %s; it may have been billed", what, cause, error)
        return ProviderUnavailable(detail=cause)
    if isinstance(
        error, openai.BadRequestError | openai.NotFoundError | openai.UnprocessableEntityError
    ):
        # Our request is wrong for this provider (model, size, parameter): a setup problem.
        log.error(
            "%s refused as invalid (HTTP %s, code=%s): %s",
            what,
            error.status_code,
            code,
            error.message,
        )
        return Misconfigured(detail=f"invalid request {error.status_code}")
    status = getattr(error, "status_code", None)
    retryable = isinstance(error, openai.APIStatusError) and status in NOTHING_MADE_STATUSES
    log.error(
        "%s failed at the provider (status=%s, code=%s, retryable=%s): %s",
        what,
        status,
        code,
        retryable,
        error,
    )
    return ProviderUnavailable(detail=type(error).__name__, retryable=retryable)


@contextlib.contextmanager
def provider_errors(what: str) -> Iterator[None]:
    """Re-raise SDK exceptions inside the block as domain errors."""
    try:
        yield
    except openai.OpenAIError as error:
        raise translate_error(error, what=what) from error


def _decode(b64: str | None) -> bytes:
    if not b64:
        raise ProviderUnavailable(detail="image response without data")
    try:
        return base64.b64decode(b64, validate=True)
    except (binascii.Error, ValueError):
        raise ProviderUnavailable(detail="image response with invalid base64") from None


def _usage(raw: Any) -> TokenUsage:
    if raw is None:
        return TokenUsage()
    details = getattr(raw, "input_tokens_details", None)
    text_in = getattr(details, "text_tokens", None)
    image_in = getattr(details, "image_tokens", 0) or 0
    if text_in is None:
        text_in = max(0, (getattr(raw, "input_tokens", 0) or 0) - image_in)
    image_out = getattr(raw, "output_tokens", 0) or 0
    return TokenUsage(text_in=text_in, image_in=image_in, image_out=image_out)


def _reported(raw: Any, *names: str) -> int | None:
    """The first of `names` a `usage` object (or a provider's extra dict) reports."""
    for name in names:
        value = raw.get(name) if isinstance(raw, dict) else getattr(raw, name, None)
        if isinstance(value, int):
            return value
    return None


def _chat_tokens(raw: Any) -> ChatTokens | None:
    """The tokens a chat or moderation call reports in `usage` (chat completions' names or
    the newer input/output ones); None when it reports none."""
    if raw is None:
        return None
    sent = _reported(raw, "prompt_tokens", "input_tokens")
    written = _reported(raw, "completion_tokens", "output_tokens")
    if sent is None and written is None:
        return None
    return ChatTokens(sent or 0, written or 0)


def _meter_chat(model: str, messages: ChatMessages, response: Any) -> None:
    """Meter a chat completion by the tokens it reports (estimated from the text if none)."""
    tokens = _chat_tokens(getattr(response, "usage", None))
    if tokens is None:
        answers = [choice.message.content or "" for choice in response.choices or []]
        sent = sum(len(message["content"]) for message in messages.as_openai())
        tokens = ChatTokens(estimate_tokens(sent), estimate_tokens(sum(map(len, answers))))
        log.warning("%s reported no usage; metering an estimate from the text", model)
    meter_call("chat", model, tokens)


class OpenAIChat:
    """ChatModel on chat.completions of any OpenAI-compatible server."""

    def __init__(self, client: openai.AsyncOpenAI, model: str) -> None:
        self._client = client
        self.model = model

    async def complete(self, messages: ChatMessages, *, safety_id: str | None = None) -> str | None:
        """The model's answer to `messages` (None if it wrote nothing); raises domain errors."""
        with provider_errors("chat completion"):
            response = await self._client.chat.completions.create(
                model=self.model,
                messages=messages.as_openai(),  # type: ignore[arg-type]
                max_completion_tokens=MAX_COMPLETION_TOKENS,
                safety_identifier=safety_id or openai.omit,  # left out for nobody
            )
        _meter_chat(self.model, messages, response)
        if not response.choices:
            return None
        choice = response.choices[0]
        if choice.finish_reason == "length":
            log.warning(
                "%s stopped at its %d-token budget (reasoning models spend some of it thinking)",
                self.model,
                MAX_COMPLETION_TOKENS,
            )
        return choice.message.content


def streams_previews(model: str) -> bool:
    """GPT image models stream partial images; other servers may not."""
    return model.startswith(("gpt-image", "chatgpt-image"))


class OpenAIImages:
    """ImageModel on images.generate / images.edit, streaming previews where the model can."""

    def __init__(self, client: openai.AsyncOpenAI, model: str, *, partial_images: int = 2) -> None:
        self._client = client
        self.model = model
        self._partial_images = partial_images

    def _partials(self, model: str, on_preview: PreviewCallback | None) -> int:
        return self._partial_images if on_preview and streams_previews(model) else 0

    async def generate(
        self,
        prompt: str,
        *,
        size: str,
        quality: str,
        model: str | None = None,
        on_preview: PreviewCallback | None = None,
        n: int = 1,
        safety_id: str | None = None,
    ) -> GeneratedImage:
        """The picture for `prompt`, streamed with previews where the model can."""
        return await self._call(
            self._client.images.generate,
            "image generation",
            model or self.model,
            on_preview,
            n,
            prompt=prompt,
            size=size,
            quality=quality,
            **_user(safety_id),
        )

    async def edit(
        self,
        image: bytes,
        prompt: str,
        *,
        size: str,
        quality: str,
        model: str | None = None,
        on_preview: PreviewCallback | None = None,
        more: Sequence[bytes] = (),
        n: int = 1,
        safety_id: str | None = None,
    ) -> GeneratedImage:
        """`image` (PNG) changed as `prompt` says, with `more` PNGs as further inputs,
        streamed with previews where possible."""
        # (name, bytes, mime) tuples: raw bytes would go out as octet-stream, which is refused.
        uploads = [(f"picture-{n}.png", data, "image/png") for n, data in enumerate((image, *more))]
        return await self._call(
            self._client.images.edit,
            "image edit",
            model or self.model,
            on_preview,
            n,
            image=uploads if more else uploads[0],
            prompt=prompt,
            size=size,
            quality=quality,
            **_user(safety_id),
        )

    async def _call(
        self,
        endpoint: Any,
        what: str,
        model: str,
        on_preview: PreviewCallback | None,
        n: int,
        **params: Any,
    ) -> GeneratedImage:
        """The request's pictures: one call, streamed (with previews) where the model and
        caller allow; several pictures in one call with `n` where the model takes it, else
        (and for any the call fell short of) in calls of one picture made side by side."""
        if n > 1:
            return await self._several(endpoint, what, model, n, **params)
        partials = self._partials(model, on_preview)
        with provider_errors(what):
            if not partials or on_preview is None:
                return _images(await endpoint(model=model, **params), model)
            stream = await endpoint(model=model, stream=True, partial_images=partials, **params)
            return await _consume(stream, on_preview, model)

    async def _several(
        self, endpoint: Any, what: str, model: str, n: int, **params: Any
    ) -> GeneratedImage:
        async def one(**extra: Any) -> GeneratedImage:
            with provider_errors(what):
                return _images(await endpoint(model=model, **extra, **params), model)

        made: list[GeneratedImage] = []
        if takes_n(model):
            made.append(await one(n=n))
        missing = n - sum(len(image.pictures) for image in made)
        if missing > 0:
            if made:
                log.warning("%s made %d of %d pictures; asking again", model, n - missing, n)
            # Every call runs to its end, so none is left painting (and billing) unseen.
            results = await asyncio.gather(*(one() for _ in range(missing)), return_exceptions=True)
            made += [result for result in results if isinstance(result, GeneratedImage)]
            failures = [result for result in results if not isinstance(result, GeneratedImage)]
            if failures:
                raise _first_failure(failures, billed=bool(made))
        pictures = [picture for image in made for picture in image.pictures][:n]
        usage = sum((image.usage for image in made), TokenUsage())
        return GeneratedImage(pictures[0], usage, model, tuple(pictures[1:]))


def _user(safety_id: str | None) -> dict[str, str]:
    """The person as the image endpoints take them: `user` (they have no
    `safety_identifier`), or nothing."""
    return {"user": safety_id} if safety_id else {}


def _first_failure(failures: Sequence[BaseException], *, billed: bool) -> BaseException:
    """The error to raise for calls made side by side: a cancellation first, else the
    first; it stays `retryable` only if no call made anything and every failure says so."""
    first = next((f for f in failures if not isinstance(f, Exception)), failures[0])
    if isinstance(first, ProviderUnavailable):
        nothing_made = all(isinstance(f, ProviderUnavailable) and f.retryable for f in failures)
        first.retryable = nothing_made and not billed
    return first


def takes_n(model: str) -> bool:
    """Whether `model` makes several pictures in one call (`n`); other servers' models may
    not, and get one call per picture."""
    return model.startswith(("gpt-image", "chatgpt-image", "dall-e-2"))


def _images(response: Any, model: str) -> GeneratedImage:
    """The pictures of a non-streamed response (at least one, or `ProviderUnavailable`)."""
    pictures = [_decode(item.b64_json) for item in response.data or []]
    if not pictures:
        pictures = [_decode(None)]  # raises: no picture in the answer
    return GeneratedImage(pictures[0], _usage(response.usage), model, tuple(pictures[1:]))


async def _consume(stream: Any, on_preview: PreviewCallback, model: str) -> GeneratedImage:
    """Read a streamed image response to its end, closing the HTTP response in every case."""
    try:
        async for event in stream:
            if event.type.endswith("partial_image"):
                await on_preview(_decode(event.b64_json), event.partial_image_index)
            elif event.type.endswith("completed"):
                return GeneratedImage(_decode(event.b64_json), _usage(event.usage), model)
    finally:
        await stream.close()
    raise ProviderUnavailable(detail="image stream ended without a picture")


class OpenAIModerator:
    """Moderator on the moderations endpoint."""

    def __init__(self, client: openai.AsyncOpenAI, model: str) -> None:
        self._client = client
        self.model = model

    async def flagged(self, texts: list[str], images: Sequence[bytes] = ()) -> list[str]:
        """The sorted categories any of `texts` or `images` is flagged for (empty: none).

        Texts go in one call, a result each; each picture goes as its own image input.
        """
        categories: set[str] = set()
        with provider_errors("moderation"):
            inputs: list[Any] = [texts] if texts else []
            inputs += [[_image_part(image)] for image in images]
            for given in inputs:
                response = await self._client.moderations.create(model=self.model, input=given)
                self._meter(response, given)
                categories.update(_categories(response.results))
        return sorted(categories)

    def _meter(self, response: Any, given: list[Any]) -> None:
        """Meter a moderation call: the tokens it reports (the API reports none today),
        else its texts' estimated tokens; free unless `CHAT_PRICES` prices the model."""
        extra = getattr(response, "model_extra", None) or {}
        tokens = _chat_tokens(getattr(response, "usage", None) or extra.get("usage"))
        if tokens is None:
            texts = sum(len(text) for text in given if isinstance(text, str))
            tokens = ChatTokens(estimate_tokens(texts))
        meter_call("moderation", self.model, tokens)


def _image_part(png: bytes) -> dict[str, Any]:
    """A picture as a moderation input (a data URL)."""
    url = "data:image/png;base64," + base64.b64encode(png).decode()
    return {"type": "image_url", "image_url": {"url": url}}


def _categories(results: Any) -> set[str]:
    flagged: set[str] = set()
    for result in results:
        if result.flagged:
            flags = result.categories.model_dump(by_alias=True)
            flagged.update(name for name, hit in flags.items() if hit)
    return flagged
