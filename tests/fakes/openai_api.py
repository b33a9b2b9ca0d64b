"""A fake OpenAI HTTP API that the unmodified ``openai.AsyncOpenAI`` client can talk to.

Every request is recorded and checked against OpenAI's official OpenAPI document (plus a
few rules the real API enforces that the document only states in prose). Problems are
answered with HTTP 400 in OpenAI's error shape and appended to :attr:`FakeOpenAI.violations`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, NoReturn

from aiohttp import BodyPartReader, web

from tests.fakes.openai_content import (
    BAD_KEY,
    DEFAULT_REPLY,
    MODELS,
    File,
    Painting,
    Reject,
    b64_image,
    check_rules,
    moderation_results,
)
from tests.fakes.openai_ratelimits import ImageRateLimit, ImageWindow
from tests.fakes.openapi_check import SpecValidator
from tests.fakes.spec_documents import OPENAI_SPEC

log = logging.getLogger(__name__)

Endpoint = Literal["chat", "images", "edits", "moderations", "models"]
FaultMode = Literal["http", "timeout", "disconnect", "drop", "stream_error"]
ROUTES: dict[tuple[str, str], Endpoint] = {
    ("POST", "/v1/chat/completions"): "chat",
    ("POST", "/v1/images/generations"): "images",
    ("POST", "/v1/images/edits"): "edits",
    ("POST", "/v1/moderations"): "moderations",
    ("GET", "/v1/models"): "models",
}


@dataclass
class Recorded:
    """One request as the fake received it."""

    method: str
    path: str
    json: dict[str, Any] | None
    form: dict[str, str] | None
    files: list[File]
    headers: dict[str, str]  # lower-cased names
    at: float = field(default_factory=time.monotonic)
    endpoint: Endpoint | None = None


@dataclass
class _Fault:
    mode: FaultMode
    status: int
    code: str | None
    message: str
    type: str
    headers: dict[str, str]
    delay: float
    left: int


class Gate:
    """Holds the fake's image answers until the test lets them through (see
    :meth:`FakeOpenAI.hold_images`), so that "a picture is being painted" lasts exactly as
    long as the test needs, on any machine: each answer passes the gate once, and a streamed
    answer once before each of its events (partial images, then the pictures)."""

    def __init__(self) -> None:
        self._open = False
        self._permits = 0  # passages let through before anyone waited for them
        self._waiting: deque[asyncio.Future[None]] = deque()
        self.passed = 0

    @property
    def waiting(self) -> int:
        """How many answers (or events) wait at the gate now."""
        return sum(1 for waiter in self._waiting if not waiter.done())

    def let_through(self, count: int = 1) -> None:
        """Let the next `count` passages through, waiting or still to come, in order."""
        for _ in range(count):
            waiter = next((w for w in self._waiting if not w.done()), None)
            if waiter is None:
                self._permits += 1
            else:
                waiter.set_result(None)

    def open(self) -> None:
        """Let everything through, now and from now on."""
        self._open = True
        for waiter in self._waiting:
            if not waiter.done():
                waiter.set_result(None)

    async def through(self) -> None:
        """Pass the gate: at once if it is open or a passage was let through, else once the
        test lets one through."""
        if self._open:
            pass
        elif self._permits:
            self._permits -= 1
        else:
            waiter = asyncio.get_running_loop().create_future()
            self._waiting.append(waiter)
            try:
                await waiter
            finally:
                self._waiting.remove(waiter)
        self.passed += 1


def _json(status: int, body: object, headers: dict[str, str] | None = None) -> web.Response:
    request_id = {"x-request-id": f"req_fake{random.getrandbits(48):012x}"}
    return web.json_response(body, status=status, headers={**request_id, **(headers or {})})


def _error(
    status: int,
    type: str,
    message: str,
    param: str | None = None,
    code: str | None = None,
    headers: dict[str, str] | None = None,
) -> web.Response:
    """An answer in OpenAI's error shape."""
    error = {"message": message, "type": type, "param": param, "code": code}
    return _json(status, {"error": error}, headers)


class FakeOpenAI:
    """An aiohttp server on 127.0.0.1 speaking enough of OpenAI's API for Picasso.

    Knobs (plain attributes, change them any time): ``chat_reply`` (str, callable taking the
    request body, or None for a reply built from the last user message), ``chat_latency`` and
    ``image_latency`` (seconds; ``partial_latency`` before each streamed event),
    ``flagged_words`` and ``flagged_images`` (sha256s; moderation), ``flag_category``,
    ``noisy`` (large incompressible PNGs) and ``image_size_px`` (square size of every image).

    ``image_rate_limit`` = ``(images, seconds)`` limits images (``n`` per request) on
    ``/v1/images/*`` over a moving window (None, the default: no limit). Past it the answer
    is OpenAI's 429 ``rate_limit_exceeded`` with ``retry-after-ms``/``retry-after``, and the
    request is appended to :attr:`rate_limited`; every image answer carries
    ``x-ratelimit-*-images`` headers. :attr:`image_times` holds one monotonic time per
    accepted image. The window counts on :attr:`clock` (``time.monotonic`` unless a test
    sets a clock it moves by hand).

    :meth:`hold_images` makes image answers wait at a :class:`Gate` the test opens.
    """

    def __init__(self, *, api_key: str = "sk-test-fake", image_size_px: int | None = None) -> None:
        self.api_key = api_key
        self.image_size_px = image_size_px
        self.base_url = ""
        self.requests: list[Recorded] = []
        self.violations: list[str] = []
        self.chat_reply: str | Callable[[dict[str, Any]], str | None] | None = None
        self.chat_latency = 0.0
        self.image_latency = 0.0
        self.partial_latency = 0.0  # seconds before each streamed event (models stream slowly)
        self.flagged_words: set[str] = set()
        self.flagged_images: set[str] = set()
        self.flag_category = "violence"
        self.noisy = False
        self.image_rate_limit: ImageRateLimit | None = None
        self.rate_limited: list[Recorded] = []
        self.clock: Callable[[], float] = time.monotonic  # what the image rate window counts on
        self.image_gate: Gate | None = None
        self._image_window = ImageWindow()
        self._faults: dict[str, list[_Fault]] = {}
        self._validator = SpecValidator(OPENAI_SPEC, strip_prefix="/v1", unknown_properties="error")
        self._runner: web.AppRunner | None = None
        moderation = self._validator.schema("CreateModerationResponse")["properties"]["results"]
        self._categories = list(moderation["items"]["properties"]["categories"]["properties"])
        self._counter = 0

    async def start(self) -> None:
        """Start listening on a free port; sets :attr:`base_url`."""
        app = web.Application(client_max_size=256 * 1024**2)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        app.on_response_prepare.append(self._add_image_limit_headers)
        self._runner = web.AppRunner(
            app, access_log=None, handler_cancellation=True, shutdown_timeout=0.5
        )
        await self._runner.setup()
        # A real service takes any number of connections at once; the default backlog of
        # 128 would make a burst's later connections wait out a 1 s SYN retry.
        site = web.TCPSite(self._runner, "127.0.0.1", 0, backlog=1024)
        await site.start()
        port = self._runner.addresses[0][1]
        self.base_url = f"http://127.0.0.1:{port}/v1"

    async def close(self) -> None:
        """Stop the server."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeOpenAI:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def fail_next(
        self,
        endpoint: Endpoint,
        *,
        status: int = 500,
        code: str | None = None,
        message: str = "The server had an error while processing your request.",
        type: str = "server_error",
        headers: dict[str, str] | None = None,
        count: int = 1,
        mode: FaultMode = "http",
        delay: float = 0.0,
    ) -> None:
        """Make the next ``count`` valid requests to ``endpoint`` fail.

        ``http``: answer ``status`` with the error JSON and ``headers`` (e.g. ``retry-after``);
        ``timeout``: wait ``delay`` seconds, then answer normally; ``disconnect``: drop the
        connection without an answer; ``drop``: start answering, then close the connection
        midway (a streamed image request gets one partial image first, any other request a
        200 status line and the start of its JSON body); ``stream_error``: for a streamed image
        request send one partial image then an SSE ``error`` event with ``code``/``message`` (a
        request that is not streamed gets the ``http`` behaviour). ``delay`` also applies
        before other modes.
        """
        fault = _Fault(mode, status, code, message, type, dict(headers or {}), delay, count)
        self._faults.setdefault(endpoint, []).append(fault)

    def hold_images(self) -> Gate:
        """From now on, image answers wait at a gate until the test lets them through:
        a picture is "being painted" until then, however fast or slow the machine."""
        self.image_gate = Gate()
        return self.image_gate

    @property
    def image_times(self) -> list[float]:
        """When each accepted image was requested (monotonic clock), in order."""
        return self._image_window.times

    def count(self, endpoint: Endpoint) -> int:
        """Number of requests received on ``endpoint`` (whatever the answer was)."""
        return sum(1 for r in self.requests if r.endpoint == endpoint)

    # -- plumbing ---------------------------------------------------------------------------

    def _take_fault(self, endpoint: str) -> _Fault | None:
        queue = self._faults.get(endpoint)
        if not queue:
            return None
        fault = queue[0]
        fault.left -= 1
        if fault.left <= 0:
            queue.pop(0)
        return fault

    async def _record(self, request: web.Request) -> tuple[Recorded, str | None]:
        """Store the request; returns it and a body parse error, if any."""
        endpoint = ROUTES.get((request.method, request.path))
        if request.method == "GET" and request.path.startswith("/v1/models/"):
            endpoint = "models"
        headers = {k.lower(): v for k, v in request.headers.items()}
        rec = Recorded(request.method, request.path, None, None, [], headers, endpoint=endpoint)
        self.requests.append(rec)
        if request.content_type == "multipart/form-data":
            rec.form = {}
            async for part in await request.multipart():
                if isinstance(part, BodyPartReader) and part.name is not None:
                    data = bytes(await part.read())
                    if part.filename is None:
                        rec.form[part.name] = data.decode()
                    else:
                        ctype = part.headers.get("Content-Type")
                        rec.files.append((part.name, part.filename, ctype, data))
        elif request.can_read_body:
            try:
                rec.json = json.loads(await request.read())
            except ValueError:
                return rec, "We could not parse the JSON body of your request."
            if not isinstance(rec.json, dict):
                return rec, "The request body must be a JSON object."
        return rec, None

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        rec, parse_error = await self._record(request)
        if request.headers.get("Authorization") != f"Bearer {self.api_key}":
            return _error(401, "invalid_request_error", BAD_KEY, code="invalid_api_key")
        where = f"{request.method} {request.path}"
        if rec.endpoint is None:
            self.violations.append(f"unknown endpoint: {where}")
            return _error(404, "invalid_request_error", f"Invalid URL ({where})")
        body: dict[str, Any] = rec.json if rec.json is not None else dict(rec.form or {})
        problems = [f"{where}: {parse_error}"] if parse_error else []
        if not problems:
            sent = body if rec.json is not None or rec.form else None
            ctype = request.content_type
            check = self._validator.check
            problems = check(
                request.method, request.path, sent, query=request.query, content_type=ctype
            )
        try:
            if problems:
                raise Reject(problems[0])
            check_rules(rec.endpoint, body, rec.files)
        except Reject as exc:
            log.warning("rejected %s: %s", where, exc.message)
            self.violations.extend(problems or [f"{where}: {exc.message}"])
            return _error(400, "invalid_request_error", exc.message, exc.param, exc.code)
        refused = self._admit_images(rec, body)
        if refused is not None:
            return refused
        fault = self._take_fault(rec.endpoint)
        streamed = str(body.get("stream", "")).lower() == "true"
        if fault is not None:
            log.info("injecting %s fault into %s", fault.mode, where)
            await asyncio.sleep(fault.delay)
            if fault.mode == "disconnect":
                if request.transport is not None:
                    request.transport.abort()
                raise asyncio.CancelledError  # aiohttp drops the request quietly
            if fault.mode == "drop" and not (streamed and rec.endpoint in ("images", "edits")):
                await _drop_midway(request)
            if fault.mode == "http" or (fault.mode == "stream_error" and not streamed):
                f = fault
                return _error(f.status, f.type, f.message, code=f.code, headers=f.headers)
            if fault.mode == "timeout":
                fault = None
        if rec.endpoint == "chat":
            return await self._chat(request, body)
        if rec.endpoint in ("images", "edits"):
            return await self._images(request, rec, body, streamed, fault)
        if rec.endpoint == "moderations":
            return _json(200, self._moderate(body))
        return self._models(request)

    def _moderate(self, body: dict[str, Any]) -> dict[str, Any]:
        flags = (self.flagged_words, self.flag_category, self._categories, self.flagged_images)
        self._counter += 1
        answer = {"id": f"modr-fake{self._counter}", "results": moderation_results(body, *flags)}
        return answer | {"model": body.get("model") or "omni-moderation-latest"}

    def _admit_images(self, rec: Recorded, body: dict[str, Any]) -> web.Response | None:
        """Count an image request against :attr:`image_rate_limit`; a 429 if it is over."""
        limit = self.image_rate_limit
        if limit is None or rec.endpoint not in ("images", "edits"):
            return None
        n, now = int(body.get("n") or 1), self.clock()
        wait = self._image_window.wait(limit, n, now)
        if wait is None:
            self._image_window.take(n, now)
            return None
        self.rate_limited.append(rec)
        model = str(body.get("model") or "")
        message, headers = self._image_window.refusal(limit, n, model, wait, now)
        log.info("rate limiting %s: %s", rec.path, message)
        return _error(429, "requests", message, code="rate_limit_exceeded", headers=headers)

    async def _add_image_limit_headers(
        self, request: web.Request, response: web.StreamResponse
    ) -> None:
        limit = self.image_rate_limit
        if limit is not None and ROUTES.get((request.method, request.path)) in ("images", "edits"):
            response.headers.update(self._image_window.headers(limit, self.clock()))

    # -- endpoints --------------------------------------------------------------------------

    async def _chat(self, request: web.Request, body: dict[str, Any]) -> web.StreamResponse:
        await asyncio.sleep(self.chat_latency)
        text = ""
        for message in body.get("messages", []):
            if message.get("role") == "user":
                content = message.get("content")
                parts = content if isinstance(content, list) else [{"text": content}]
                text = " ".join(str(p.get("text", "")) for p in parts if isinstance(p, dict))
        reply = self.chat_reply(body) if callable(self.chat_reply) else self.chat_reply
        if reply is None:
            reply = DEFAULT_REPLY.format(text=text.strip())
        self._counter += 1
        model = body.get("model", "")
        base = {"id": f"chatcmpl-fake{self._counter}", "created": int(time.time()), "model": model}
        if body.get("stream"):
            resp = await _sse_start(request)
            for delta, finish in (({"role": "assistant", "content": reply}, None), ({}, "stop")):
                choice = {"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}
                chunk = {**base, "object": "chat.completion.chunk", "choices": [choice]}
                await resp.write(f"data: {json.dumps(chunk)}\n\n".encode())
            await resp.write(b"data: [DONE]\n\n")
            await resp.write_eof()
            return resp
        message = {"role": "assistant", "content": reply, "refusal": None, "annotations": []}
        choice = {"index": 0, "message": message, "finish_reason": "stop", "logprobs": None}
        prompt_tokens = max(1, len(json.dumps(body.get("messages", []))) // 4)
        done = max(1, len(reply) // 4)
        usage = {"prompt_tokens": prompt_tokens, "completion_tokens": done}
        usage["total_tokens"] = prompt_tokens + done
        reply_body = {**base, "object": "chat.completion", "choices": [choice], "usage": usage}
        return _json(200, reply_body)

    async def _images(
        self,
        request: web.Request,
        rec: Recorded,
        body: dict[str, Any],
        streamed: bool,
        fault: _Fault | None,
    ) -> web.StreamResponse:
        await asyncio.sleep(self.image_latency)
        order = Painting.of(body, rec.files, self.image_size_px)
        width, height, fmt, seeds = order.width, order.height, order.fmt, order.seeds
        usage, meta = order.usage, order.meta
        b64 = [await asyncio.to_thread(b64_image, s, width, height, fmt, self.noisy) for s in seeds]
        if not streamed:
            await self._gate()
            data = [{"b64_json": b} for b in b64]
            return _json(200, {"created": int(time.time()), "data": data, "usage": usage, **meta})
        kind = "image_generation" if rec.endpoint == "images" else "image_edit"
        partials = 1 if fault is not None else int(body.get("partial_images") or 0)
        resp = await _sse_start(request)
        for i in range(partials):
            await asyncio.sleep(self.partial_latency)
            await self._gate()
            partial = await asyncio.to_thread(b64_image, f"{seeds[0]}|{i}", width, height, fmt)
            event = {"type": f"{kind}.partial_image", "b64_json": partial, "partial_image_index": i}
            await resp.write(_sse({**event, "created_at": int(time.time()), **meta}))
        if fault is not None and fault.mode == "drop":
            _hang_up(request)
        if fault is not None:
            error = {"type": "image_generation_user_error", "code": fault.code, "param": None}
            await resp.write(_sse({"type": "error", "error": {**error, "message": fault.message}}))
        for b in b64 if fault is None else ():
            await asyncio.sleep(self.partial_latency)
            await self._gate()
            event = {"type": f"{kind}.completed", "b64_json": b, "created_at": int(time.time())}
            await resp.write(_sse({**event, "usage": usage, **meta}))
        await resp.write_eof()
        return resp

    async def _gate(self) -> None:
        if self.image_gate is not None:
            await self.image_gate.through()

    def _models(self, request: web.Request) -> web.Response:
        wanted = request.path.removeprefix("/v1/models").strip("/")
        if not wanted:
            return _json(200, {"object": "list", "data": list(MODELS.values())})
        if wanted in MODELS:
            return _json(200, MODELS[wanted])
        message = f"The model '{wanted}' does not exist or you do not have access to it."
        return _error(404, "invalid_request_error", message, code="model_not_found")


async def _sse_start(request: web.Request) -> web.StreamResponse:
    headers = {"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
    resp = web.StreamResponse(headers=headers)
    await resp.prepare(request)
    return resp


def _sse(data: dict[str, Any]) -> bytes:
    return f"event: {data['type']}\ndata: {json.dumps(data)}\n\n".encode()


async def _drop_midway(request: web.Request) -> NoReturn:
    """Answer 200 with the start of a JSON body, then hang up before its end."""
    resp = web.StreamResponse(headers={"Content-Type": "application/json"})
    resp.content_length = 4096
    await resp.prepare(request)
    await resp.write(b'{"created": 0, "data": [')
    _hang_up(request)


def _hang_up(request: web.Request) -> NoReturn:
    """Close the connection after what was written (a truncated answer, no error)."""
    if request.transport is not None:
        request.transport.close()  # close, not abort: what was written reaches the client
    raise asyncio.CancelledError  # aiohttp drops the request quietly
