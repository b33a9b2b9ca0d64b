"""A fake OpenAI HTTP API that the unmodified ``openai.AsyncOpenAI`` client can talk to.

Every request is recorded and checked against OpenAI's official OpenAPI document (plus a
few rules the real API enforces that the document only states in prose). Problems are
answered with HTTP 400 in OpenAI's error shape and appended to :attr:`FakeOpenAI.violations`.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import io
import json
import logging
import os
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from aiohttp import BodyPartReader, web
from PIL import Image, ImageDraw

from tests.fakes.openai_ratelimits import ImageRateLimit, ImageWindow
from tests.fakes.openapi_check import SpecValidator

log = logging.getLogger(__name__)

SPEC_PATH = Path(__file__).resolve().parents[3] / "shared" / "specs" / "openai-openapi.yaml"
MODEL_IDS = (
    "gpt-image-1.5 gpt-image-1-mini gpt-image-2 gpt-4o-mini gpt-4.1-mini omni-moderation-latest"
)
SIZES = {"1024x1024": (1024, 1024), "1024x1536": (1024, 1536), "1536x1024": (1536, 1024)}
# Output tokens of GPT image models per quality and size (OpenAI's published table).
OUTPUT_TOKENS = {"low": (272, 408), "medium": (1056, 1584), "high": (4160, 6240)}
PROMPT_LIMITS = {"dall-e-2": 1000, "dall-e-3": 4000}  # GPT image models: 32,000 characters
IMAGE_TYPES = {"image/png": "PNG", "image/jpeg": "JPEG", "image/webp": "WEBP"}
DEFAULT_REPLY = (
    "A vivid, detailed scene of {text}, golden hour light, wide composition, warm palette, "
    "calm mood, digital painting."
)
BAD_KEY = (
    "Incorrect API key provided. You can find your API key at "
    "https://platform.openai.com/account/api-keys."
)
Endpoint = Literal["chat", "images", "edits", "moderations", "models"]
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
    files: list[tuple[str, str | None, str | None, bytes]]  # field, filename, content type, data
    headers: dict[str, str]  # lower-cased names
    at: float = field(default_factory=time.monotonic)
    endpoint: Endpoint | None = None


@dataclass
class _Fault:
    mode: Literal["http", "timeout", "disconnect", "stream_error"]
    status: int
    code: str | None
    message: str
    type: str
    headers: dict[str, str]
    delay: float
    left: int


class _Reject(Exception):
    def __init__(self, message: str, param: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message, self.param, self.code = message, param, code


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


def make_image(seed: str, width: int, height: int, fmt: str = "png", noisy: bool = False) -> bytes:
    """A real image: a gradient with shapes derived from ``seed``, or incompressible noise."""
    if noisy:
        img = Image.frombytes("RGB", (width, height), os.urandom(width * height * 3))
    else:
        digest = hashlib.sha256(seed.encode()).digest()
        start = Image.new("RGB", (width, height), tuple(digest[0:3]))
        end = Image.new("RGB", (width, height), tuple(digest[3:6]))
        mask = Image.linear_gradient("L").rotate(digest[6] * 360 / 256).resize((width, height))
        img = Image.composite(start, end, mask)
        draw = ImageDraw.Draw(img)
        for i in range(4):
            x, y, r = (digest[8 + 3 * i + k] / 255 for k in range(3))
            box = (x * width, y * height, x * width + r * width / 3, y * height + r * height / 3)
            draw.ellipse(box, fill=tuple(digest[20 + i : 23 + i]))
    out = io.BytesIO()
    if fmt in ("jpeg", "webp"):
        img.save(out, fmt.upper(), quality=85)
    else:
        img.save(out, "PNG", compress_level=0 if noisy else 1)
    return out.getvalue()


class FakeOpenAI:
    """An aiohttp server on 127.0.0.1 speaking enough of OpenAI's API for Picasso.

    Knobs (plain attributes, change them any time): ``chat_reply`` (str, callable taking the
    request body, or None for a reply built from the last user message), ``chat_latency`` and
    ``image_latency`` (seconds; ``partial_latency`` before each streamed event),
    ``flagged_words`` (moderation), ``flag_category``, ``noisy`` (noise images: large,
    incompressible PNGs) and ``image_size_px`` (square pixel size of every generated image
    instead of the requested ``size``).

    ``image_rate_limit`` = ``(images, seconds)`` limits images (``n`` per request) on
    ``/v1/images/*`` over a moving window (None, the default: no limit). Past it the answer
    is OpenAI's 429 ``rate_limit_exceeded`` with ``retry-after-ms``/``retry-after``, and the
    request is appended to :attr:`rate_limited`; every image answer carries
    ``x-ratelimit-*-images`` headers. :attr:`image_times` holds one monotonic time per
    accepted image.
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
        self.flag_category = "violence"
        self.noisy = False
        self.image_rate_limit: ImageRateLimit | None = None
        self.rate_limited: list[Recorded] = []
        self._image_window = ImageWindow()
        self._faults: dict[str, list[_Fault]] = {}
        self._validator = SpecValidator(SPEC_PATH, strip_prefix="/v1", unknown_properties="error")
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
        mode: Literal["http", "timeout", "disconnect", "stream_error"] = "http",
        delay: float = 0.0,
    ) -> None:
        """Make the next ``count`` valid requests to ``endpoint`` fail.

        ``http``: answer ``status`` with the error JSON and ``headers`` (e.g. ``retry-after``);
        ``timeout``: wait ``delay`` seconds, then answer normally; ``disconnect``: drop the
        connection without an answer; ``stream_error``: for a streamed image request send one
        partial image then an SSE ``error`` event with ``code``/``message`` (a request that is
        not streamed gets the ``http`` behaviour). ``delay`` also applies before other modes.
        """
        fault = _Fault(mode, status, code, message, type, dict(headers or {}), delay, count)
        self._faults.setdefault(endpoint, []).append(fault)

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
                raise _Reject(problems[0])
            self._check_rules(rec.endpoint, body, rec)
        except _Reject as exc:
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

    def _admit_images(self, rec: Recorded, body: dict[str, Any]) -> web.Response | None:
        """Count an image request against :attr:`image_rate_limit`; a 429 if it is over."""
        limit = self.image_rate_limit
        if limit is None or rec.endpoint not in ("images", "edits"):
            return None
        n, now = int(body.get("n") or 1), time.monotonic()
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
            response.headers.update(self._image_window.headers(limit, time.monotonic()))

    def _check_rules(self, endpoint: str, body: dict[str, Any], rec: Recorded) -> None:
        """Rules of the real API that the OpenAPI document only states in prose."""
        model, prompt = str(body.get("model") or ""), str(body.get("prompt") or "")
        if endpoint in ("images", "edits") and model.startswith("gpt-image"):
            for param in ("response_format", "style"):
                if param in body:
                    raise _Reject(f"Unknown parameter: '{param}'.", param, "unknown_parameter")
        limit = PROMPT_LIMITS.get(model, 32000)
        if endpoint in ("images", "edits") and len(prompt) > limit:
            raise _Reject(
                f"Invalid 'prompt': string too long. Expected a string with maximum length "
                f"{limit}, but got a string with length {len(prompt)} instead.",
                "prompt",
                "string_above_max_length",
            )
        images = [f for f in rec.files if f[0] in ("image", "image[]", "mask")]
        if endpoint == "edits" and not any(f[0] != "mask" for f in images):
            raise _Reject(
                "Missing required parameter: 'image'.", "image", "missing_required_parameter"
            )
        for name, _filename, content_type, data in images if endpoint == "edits" else ():
            param = name.removesuffix("[]")
            if content_type not in IMAGE_TYPES:
                raise _Reject(
                    f"Invalid file '{param}': unsupported mimetype ('{content_type}'). Supported "
                    "file formats are 'image/jpeg', 'image/png', and 'image/webp'.",
                    param,
                    "unsupported_file_mimetype",
                )
            try:
                with Image.open(io.BytesIO(data)) as img:
                    decodable = img.format in IMAGE_TYPES.values()
                    img.verify()
            except Exception:
                decodable = False
            if not decodable:
                raise _Reject(f"Invalid image file for '{param}'.", param, "invalid_image_file")

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
        size = str(body.get("size") or "auto")
        width, height = SIZES.get(size, (1024, 1024))
        if self.image_size_px:
            width = height = self.image_size_px
        fmt = str(body.get("output_format") or "png")
        quality = str(body.get("quality") or "auto")
        quality = quality if quality in OUTPUT_TOKENS else "medium"
        n = int(body.get("n") or 1)
        prompt = str(body.get("prompt", ""))
        inputs = [f for f in rec.files if f[0] != "mask"]
        text_tokens, image_tokens = max(1, len(prompt) // 4), 194 * len(inputs)
        output = OUTPUT_TOKENS[quality][0 if width == height else 1] * n
        details = {"text_tokens": text_tokens, "image_tokens": image_tokens}
        usage = {"input_tokens": text_tokens + image_tokens, "input_tokens_details": details}
        usage |= {"output_tokens": output, "total_tokens": text_tokens + image_tokens + output}
        background = "transparent" if body.get("background") == "transparent" else "opaque"
        meta = {"size": size if size in SIZES else "1024x1024", "quality": quality}
        meta |= {"output_format": fmt, "background": background}
        source = hashlib.sha256(b"".join(f[3] for f in inputs)).hexdigest()[:16]
        seeds = [f"{prompt}|{source}|{i}" for i in range(n)]
        b64 = [
            await asyncio.to_thread(_b64_image, s, width, height, fmt, self.noisy) for s in seeds
        ]
        if not streamed:
            data = [{"b64_json": b} for b in b64]
            return _json(200, {"created": int(time.time()), "data": data, "usage": usage, **meta})
        kind = "image_generation" if rec.endpoint == "images" else "image_edit"
        partials = 1 if fault is not None else int(body.get("partial_images") or 0)
        resp = await _sse_start(request)
        for i in range(partials):
            await asyncio.sleep(self.partial_latency)
            partial = await asyncio.to_thread(_b64_image, f"{seeds[0]}|{i}", width, height, fmt)
            event = {"type": f"{kind}.partial_image", "b64_json": partial, "partial_image_index": i}
            await resp.write(_sse({**event, "created_at": int(time.time()), **meta}))
        if fault is not None:
            error = {"type": "image_generation_user_error", "code": fault.code, "param": None}
            await resp.write(_sse({"type": "error", "error": {**error, "message": fault.message}}))
        for b in b64 if fault is None else ():
            await asyncio.sleep(self.partial_latency)
            event = {"type": f"{kind}.completed", "b64_json": b, "created_at": int(time.time())}
            await resp.write(_sse({**event, "usage": usage, **meta}))
        await resp.write_eof()
        return resp

    def _moderate(self, body: dict[str, Any]) -> dict[str, Any]:
        raw = body.get("input", "")
        inputs = raw if isinstance(raw, list) else [raw]
        texts = [i if isinstance(i, str) else str(i.get("text", "")) for i in inputs]
        if inputs and not all(isinstance(i, str) for i in inputs):
            texts = [" ".join(texts)]  # the parts of a multimodal input are one input
        results = []
        categories = self._categories
        for text in texts:
            hit = any(w.lower() in text.lower() for w in self.flagged_words)
            flags = {c: hit and c == self.flag_category for c in categories}
            result = {"flagged": hit, "categories": flags}
            result["category_scores"] = {c: 0.93 if f else 0.0004 for c, f in flags.items()}
            result["category_applied_input_types"] = {c: ["text"] for c in categories}
            results.append(result)
        self._counter += 1
        model = body.get("model") or "omni-moderation-latest"
        return {"id": f"modr-fake{self._counter}", "model": model, "results": results}

    def _models(self, request: web.Request) -> web.Response:
        about = {"object": "model", "created": 1_700_000_000, "owned_by": "openai"}
        models = {m: {"id": m, **about} for m in MODEL_IDS.split()}
        wanted = request.path.removeprefix("/v1/models").strip("/")
        if not wanted:
            return _json(200, {"object": "list", "data": list(models.values())})
        if wanted in models:
            return _json(200, models[wanted])
        message = f"The model '{wanted}' does not exist or you do not have access to it."
        return _error(404, "invalid_request_error", message, code="model_not_found")


async def _sse_start(request: web.Request) -> web.StreamResponse:
    headers = {"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
    resp = web.StreamResponse(headers=headers)
    await resp.prepare(request)
    return resp


def _sse(data: dict[str, Any]) -> bytes:
    return f"event: {data['type']}\ndata: {json.dumps(data)}\n\n".encode()


def _b64_image(seed: str, width: int, height: int, fmt: str, noisy: bool = False) -> str:
    return base64.b64encode(make_image(seed, width, height, fmt, noisy)).decode()
