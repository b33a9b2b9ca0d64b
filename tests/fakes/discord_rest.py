"""The fake Discord REST API: request pipeline (record, auth, faults, spec) and the plain
routes (gateway, users, the application, guilds).

Channels and messages live in :mod:`tests.fakes.discord_channels`, application commands in
:mod:`tests.fakes.discord_commands`, interaction callbacks and webhook follow-ups in
:mod:`tests.fakes.discord_webhooks`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import BodyPartReader, web

from tests.fakes.discord_gateway import MAX_CONCURRENCY
from tests.fakes.discord_interactions import Recorded
from tests.fakes.discord_payloads import application_payload, member_payload
from tests.fakes.discord_ratelimits import RateLimited, RateLimiter
from tests.fakes.discord_rules import MAX_UPLOAD_BYTES, FormErrors, error_body

if TYPE_CHECKING:
    from tests.fakes.discord_api import FakeDiscord

log = logging.getLogger(__name__)

API_PREFIX = "/api/v10"


class DiscordError(Exception):
    """Answer the request with Discord's error JSON; ``violation`` (if given) is recorded."""

    def __init__(
        self,
        status: int,
        body: Mapping[str, Any],
        violation: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(f"{status} {body}")
        self.status = status
        self.body = dict(body)
        self.violation = violation
        self.headers = dict(headers or {})


def not_found(code: int, what: str, violation: str | None = None) -> DiscordError:
    """A 404 with Discord's "Unknown X" body."""
    return DiscordError(404, error_body(code, f"Unknown {what}"), violation)


def form_error(errors: FormErrors, prefix: tuple[str, ...] = ()) -> DiscordError:
    """A 400 50035 from collected field errors."""
    tree: dict[str, Any] = errors.tree
    for part in reversed(prefix):
        tree = {part: tree}
    return DiscordError(
        400,
        error_body(50035, "Invalid Form Body", tree),
        "Invalid Form Body: " + "; ".join(errors.flat),
    )


@dataclass
class Upload:
    """One ``files[n]`` part of a multipart request."""

    index: int
    filename: str
    content_type: str
    data: bytes


@dataclass
class Call:
    """A parsed REST request."""

    method: str
    path: str
    query: dict[str, str]
    json: Any
    uploads: list[Upload]
    headers: Mapping[str, str]
    record: Recorded
    params: dict[str, str] = field(default_factory=dict)


Reply = tuple[int, Any]
Handler = Callable[[Call], Awaitable[Reply]]


@dataclass
class FailRule:
    """A fault to inject into the next ``count`` matching requests."""

    method: str
    path_regex: str
    status: int
    code: int
    message: str
    count: int
    retry_after: float | None
    with_files: bool = False
    after: bool = False  # the request takes effect first, then the answer is the error


def json_response(status: int, body: Any, headers: Mapping[str, str] | None = None) -> web.Response:
    """Content-Type exactly ``application/json`` (discord.py decodes nothing else)."""
    if body is None:
        return web.Response(status=204 if status == 200 else status, headers=headers)
    out = {"Content-Type": "application/json", **(headers or {})}
    return web.Response(status=status, body=json.dumps(body).encode(), headers=out)


class RestApi:
    """Routes ``/api/v10/...`` requests to handlers."""

    def __init__(self, fake: FakeDiscord) -> None:
        self.fake = fake
        self.routes: list[tuple[str, re.Pattern[str], Handler, bool]] = []
        self.faults: list[FailRule] = []
        self.holds: list[tuple[str, str, asyncio.Event]] = []  # (method, path regex, release)
        self.limiter = RateLimiter()
        self._register()
        from tests.fakes import discord_channels, discord_commands, discord_webhooks

        discord_channels.register(self)
        discord_commands.register(self)
        discord_webhooks.register(self)

    def route(self, methods: str, pattern: str, handler: Handler, *, auth: bool = True) -> None:
        """Add a route; ``pattern`` is a regex over the path after the API prefix."""
        for method in methods.split("|"):
            self.routes.append((method, re.compile(pattern + r"/?$"), handler, auth))

    # --- pipeline ----------------------------------------------------------------------------

    async def handle(self, request: web.Request) -> web.Response:
        """Entry point for every API request."""
        fake = self.fake
        path = request.path[len(API_PREFIX) :] or "/"
        record = Recorded(request.method, path, dict(request.query), None, [])
        fake.requests.append(record)
        fake.in_flight += 1
        try:
            call = await self._parse(request, path, record)
            status, body, headers = await self._serve(call)
        except DiscordError as exc:
            if exc.violation:
                shown = re.sub(r"/[A-Za-z0-9_-]{60,}", "/<token>", path)
                fake.violation(f"{request.method} {shown}: {exc.violation}")
            status, body, headers = exc.status, exc.body, exc.headers
        finally:
            fake.in_flight -= 1
        record.status = status if body is not None or status != 200 else 204
        log.debug("%s %s -> %s", request.method, path, record.status)
        return json_response(status, body, headers)

    async def _parse(self, request: web.Request, path: str, record: Recorded) -> Call:
        uploads: list[Upload] = []
        payload: Any = None
        ctype = request.headers.get("Content-Type", "")
        if ctype.startswith("multipart/"):
            reader = await request.multipart()
            async for part in reader:
                if not isinstance(part, BodyPartReader):
                    continue
                name = part.name or ""
                data = await part.read(decode=False)
                if name == "payload_json":
                    payload = json.loads(data)
                elif m := re.fullmatch(r"files\[(\d+)\]", name):
                    part_type = part.headers.get("Content-Type", "application/octet-stream")
                    uploads.append(
                        Upload(int(m.group(1)), part.filename or name, part_type, bytes(data))
                    )
                else:
                    self.fake.violation(
                        f"{request.method} {path}: unexpected multipart field {name!r}"
                    )
        elif request.can_read_body:
            raw = await request.read()
            if raw:
                if not ctype.startswith("application/json"):
                    raise DiscordError(
                        400,
                        error_body(50035, "Invalid Form Body"),
                        f"body with Content-Type {ctype!r}",
                    )
                try:
                    payload = json.loads(raw)
                except ValueError:
                    raise DiscordError(
                        400,
                        error_body(50109, "The request body contains invalid JSON."),
                        "invalid JSON",
                    ) from None
        record.json = payload
        record.files = [(u.filename, u.content_type, u.data) for u in uploads]
        return Call(
            request.method, path, dict(request.query), payload, uploads, request.headers, record
        )

    async def _serve(self, call: Call) -> tuple[int, Any, dict[str, str]]:
        for method, pattern, handler, auth in self.routes:  # noqa: B007 - used after the loop
            match = pattern.match(call.path)
            if match and method == call.method:
                break
        else:
            raise DiscordError(
                404, {"message": "404: Not Found", "code": 0}, "no such route in the fake"
            )
        call.params = match.groupdict()
        for method, path_regex, released in self.holds:
            if method.upper() == call.method and re.search(path_regex, call.path):
                await released.wait()
        limits = self._admit(call)
        try:
            if auth:
                self._check_auth(call)
            fault = self._take_fault(call)
            if fault is not None and not fault[3]:
                return fault[0], fault[1], {**limits, **fault[2]}
            self._check_spec(call)
            status, body = await handler(call)
            if fault is not None:  # it took effect; the answer is lost all the same
                return fault[0], fault[1], {**limits, **fault[2]}
        except DiscordError as exc:
            exc.headers = {**limits, **exc.headers}
            raise
        return status, body, limits

    def _admit(self, call: Call) -> dict[str, str]:
        """Count the call against its rate limits (if on); a full bucket answers 429."""
        fake = self.fake
        if fake.rate_limits is None:
            return {}
        try:
            return self.limiter.admit(fake.rate_limits, call.method, call.path)
        except RateLimited as exc:
            log.info("rate limiting %s %s: %s", call.method, call.path, exc)
            fake.rate_limited.append(call.record)
            raise DiscordError(429, exc.body, headers=exc.headers) from None

    def _check_auth(self, call: Call) -> None:
        header = call.headers.get("Authorization", "")
        token = header[4:] if header.startswith("Bot ") else None
        if token and self.fake.bot_token is None and not self.fake.reject_token:
            self.fake.bot_token = token
        if token is None or token != self.fake.bot_token:
            raise DiscordError(
                401,
                {"message": "401: Unauthorized", "code": 0},
                f"bad Authorization header {header[:12]!r}...",
            )

    def _take_fault(self, call: Call) -> tuple[int, Any, dict[str, str], bool] | None:
        for rule in self.faults:
            if (
                rule.count > 0
                and rule.method.upper() == call.method
                and re.search(rule.path_regex, call.path)
                and (call.uploads or not rule.with_files)
            ):
                rule.count -= 1
                body: dict[str, Any] = {"code": rule.code, "message": rule.message}
                headers: dict[str, str] = {}
                if rule.status == 429:
                    retry = 0.1 if rule.retry_after is None else rule.retry_after
                    body.update(retry_after=retry, **{"global": False})
                    headers = {
                        "Via": "1.1 google",
                        "Retry-After": str(max(1, round(retry))),
                        "X-RateLimit-Scope": "user",
                    }
                log.info("injecting %s into %s %s", rule.status, call.method, call.path)
                return rule.status, body, headers, rule.after
        return None

    def _check_spec(self, call: Call) -> None:
        spec = self.fake.spec
        if spec is None:
            return
        problems = spec.check(call.method, API_PREFIX + call.path, call.json, query=call.query)
        if problems:
            errors = {"_spec": {"_errors": [{"code": "SPEC", "message": p} for p in problems]}}
            raise DiscordError(
                400, error_body(50035, "Invalid Form Body", errors), "spec: " + "; ".join(problems)
            )

    def check_uploads(self, call: Call, limit: int = MAX_UPLOAD_BYTES) -> None:
        """413 40005 if any file is bigger than ``limit``."""
        for up in call.uploads:
            if len(up.data) > limit:
                raise DiscordError(
                    413,
                    error_body(40005, "Request entity too large"),
                    f"upload {up.filename!r} is {len(up.data)} bytes, the limit is {limit}",
                )

    # --- plain routes ------------------------------------------------------------------------

    def _register(self) -> None:
        r = self.route
        r("GET", r"/gateway", self.get_gateway, auth=False)
        r("GET", r"/gateway/bot", self.get_gateway_bot)
        r("GET", r"/users/@me", self.get_me)
        r("GET", r"/users/(?P<uid>\d+)", self.get_user)
        r("POST", r"/users/@me/channels", self.create_dm)
        r("GET", r"/(?:oauth2/)?applications/@me", self.get_application)
        r("GET", r"/guilds/(?P<gid>\d+)", self.get_guild)
        r("GET", r"/guilds/(?P<gid>\d+)/channels", self.get_guild_channels)
        r("GET", r"/guilds/(?P<gid>\d+)/members/(?P<uid>\d+)", self.get_member)

    async def get_gateway(self, call: Call) -> Reply:
        return 200, {"url": self.fake.ws_base + "/gateway"}

    async def get_gateway_bot(self, call: Call) -> Reply:
        limit = {
            "total": 1000,
            "remaining": 999,
            "reset_after": 14_400_000,
            "max_concurrency": MAX_CONCURRENCY,
        }
        return 200, {
            "url": self.fake.ws_base + "/gateway",
            "shards": self.fake.shard_count,
            "session_start_limit": limit,
        }

    async def get_me(self, call: Call) -> Reply:
        return 200, self.fake.users[self.fake.bot_user_id].payload() | {
            "verified": True,
            "mfa_enabled": False,
        }

    async def get_user(self, call: Call) -> Reply:
        user = self.fake.users.get(int(call.params["uid"]))
        if user is None:
            raise not_found(10013, "User")
        return 200, user.payload()

    async def create_dm(self, call: Call) -> Reply:
        uid = int((call.json or {}).get("recipient_id") or 0)
        if uid not in self.fake.users:
            raise not_found(10013, "User", f"DM with unknown user {uid}")
        return 200, self.fake.dm_channel(uid).payload(self.fake.users)

    async def get_application(self, call: Call) -> Reply:
        fake = self.fake
        owner = fake.users.get(fake.owner_id) or fake.users[fake.bot_user_id]
        return 200, application_payload(fake.application_id, fake.users[fake.bot_user_id], owner)

    def _guild(self, call: Call) -> Any:
        guild = self.fake.guilds.get(int(call.params["gid"]))
        if guild is None:
            raise not_found(10004, "Guild", f"guild {call.params['gid']} the bot is not in")
        return guild

    async def get_guild(self, call: Call) -> Reply:
        data = self.fake.guild_payload(self._guild(call).id)
        for key in (
            "members",
            "channels",
            "threads",
            "voice_states",
            "presences",
            "joined_at",
            "large",
            "member_count",
        ):
            data.pop(key, None)
        return 200, data

    async def get_guild_channels(self, call: Call) -> Reply:
        guild = self._guild(call)
        return 200, [self.fake.channels[c].payload(self.fake.users) for c in guild.channel_ids]

    async def get_member(self, call: Call) -> Reply:
        guild = self._guild(call)
        uid = int(call.params["uid"])
        if uid not in guild.member_ids:
            raise not_found(10007, "Member")
        return 200, member_payload(self.fake.users[uid], guild.joined_at)
