"""A fake Discord (REST + gateway) that the unmodified discord.py client talks to.

Usage::

    async with FakeDiscord() as fake:
        fake.add_guild(10, channel_ids=[11], members=[20])
        discord.http.Route.BASE = fake.api_base  # the bot does this from its settings
        ...  # start the AutoShardedBot (no shard_count): it finds the gateway via /gateway/bot
        await fake.wait_ready()
        await bot.wait_until_ready()
        inter = await fake.invoke("draw", {"prompt": "cat"}, user_id=20, guild_id=10, channel_id=11)
        await inter.wait_done()
        assert fake.violations == []

Discord's rules (FACTS.md) are enforced: a broken rule is answered the way Discord answers it
*and* appended to :attr:`FakeDiscord.violations`. Split over ``tests/fakes/discord_*.py``:
rules (errors, pings, visibility), limits (messages, modals, commands), payloads (objects),
gateway, rest, webhooks (interaction responses), messages (the store), interactions
(FakeInteraction and user input), users (what people do: commands, clicks, forms, posts),
ratelimits (REST buckets and 429s).

Rate limits are on by default (``FakeDiscord(rate_limits=False)`` or ``fake.rate_limits =
None`` switches them off; ``DiscordRateLimits(...)`` shrinks the windows); every 429 they
serve is appended to :attr:`FakeDiscord.rate_limited`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

from aiohttp import web

from tests.fakes.discord_gateway import GatewayServer
from tests.fakes.discord_interactions import (
    FakeInteraction,
    Recorded,
)
from tests.fakes.discord_payloads import FakeChannel, FakeGuild, FakeUser
from tests.fakes.discord_ratelimits import DiscordRateLimits, RouteKind, route_kind
from tests.fakes.discord_rest import API_PREFIX, FailRule, RestApi
from tests.fakes.discord_rules import (
    DEFAULT_MEMBER_PERMISSIONS,
    SEND_MESSAGES,
    SEND_MESSAGES_IN_THREADS,
    SnowflakeGenerator,
)
from tests.fakes.discord_users import UserActions
from tests.fakes.spec_documents import DISCORD_SPEC

__all__ = [
    "DEFAULT_MEMBER_PERMISSIONS",
    "DiscordRateLimits",
    "FakeDiscord",
    "FakeInteraction",
    "Recorded",
]

log = logging.getLogger(__name__)


def _load_spec(path: Path) -> Any:
    """A SpecValidator for Discord's OpenAPI document (openapi_check parses it once per process)."""
    from tests.fakes.openapi_check import SpecValidator

    return SpecValidator(path, strip_prefix=API_PREFIX, unknown_properties="warn")


class FakeDiscord(UserActions):
    """The fake Discord server. See the module docstring; all ids are ints."""

    def __init__(
        self,
        *,
        application_id: int = 1000,
        bot_user_id: int = 1000,
        bot_name: str = "Picasso",
        validate_spec: bool = True,
        rate_limits: bool | DiscordRateLimits = True,
        shards: int = 1,
        identify_interval: float | None = None,
    ) -> None:
        self.shard_count = shards
        """What GET /gateway/bot recommends; the gateway refuses fewer (see discord_gateway)."""
        self.identify_interval = identify_interval
        """Seconds between IDENTIFYs of a bucket; None: 5 with several shards, else unchecked."""
        self.application_id = application_id
        self.bot_user_id = bot_user_id
        self.bot_name = bot_name
        self.validate_spec = validate_spec
        self.owner_id = 1
        self.snowflake = SnowflakeGenerator()
        self.api_base = self.http_base = self.ws_base = ""
        self.bot_token: str | None = None
        self.reject_token = False  # True: answer every bot token with 401 (a reset token)
        self.identify: dict[str, Any] | None = None
        self.users: dict[int, FakeUser] = {bot_user_id: FakeUser(bot_user_id, bot_name, bot=True)}
        self.guilds: dict[int, FakeGuild] = {}
        self.channels: dict[int, FakeChannel] = {}
        self.messages: dict[int, dict[str, Any]] = {}
        # (channel, author, nonce) → (message id, when): enforce_nonce's memory
        self.nonces: dict[tuple[int, int, str], tuple[int, float]] = {}
        self.deleted_messages: dict[int, dict[str, Any]] = {}
        self.attachment_data: dict[int, tuple[str, str, bytes]] = {}
        self.commands_global: list[dict[str, Any]] = []
        self.commands_guild: dict[int, list[dict[str, Any]]] = {}
        self.command_syncs = 0
        self.interactions: dict[int, FakeInteraction] = {}
        self.bot_muted: set[int] = set()
        """Channels where the bot may not post (see :meth:`forbid_bot`)."""
        self.requests: list[Recorded] = []
        self.violations: list[str] = []
        self.rate_limits: DiscordRateLimits | None = DiscordRateLimits() if rate_limits else None
        if isinstance(rate_limits, DiscordRateLimits):
            self.rate_limits = rate_limits
        """The REST rate limits enforced (Discord's by default); None switches them off."""
        self.rate_limited: list[Recorded] = []
        """Every request answered 429 by a rate limit (not injected faults)."""
        self.in_flight = 0
        self.spec: Any = None
        self.gateway = GatewayServer(self)
        self.rest = RestApi(self)
        self._runner: web.AppRunner | None = None
        self._tasks: set[asyncio.Task[Any]] = set()

    # --- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        """Listen on 127.0.0.1 (a free port) and fill in :attr:`api_base`."""
        if self.validate_spec:
            self.spec = _load_spec(DISCORD_SPEC)
        app = web.Application(client_max_size=256 * 1024 * 1024)
        app.router.add_route("*", API_PREFIX + "/{tail:.*}", self.rest.handle)
        app.router.add_get("/gateway", self.gateway.handle)
        app.router.add_get("/gateway-resume", self.gateway.handle)
        app.router.add_get("/attachments/{cid}/{aid}/{name}", self._serve_attachment)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        # A real service takes any number of connections at once; the default backlog of
        # 128 would make a burst's later connections wait out a 1 s SYN retry.
        site = web.TCPSite(self._runner, "127.0.0.1", 0, backlog=1024)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.http_base = f"http://{host}:{port}"
        self.api_base = self.http_base + API_PREFIX
        self.ws_base = f"ws://{host}:{port}"
        log.info("fake discord listening on %s", self.http_base)

    async def close(self) -> None:
        """Stop serving (close the bot first, or it will try to reconnect)."""
        for task in list(self._tasks):
            task.cancel()
        await self.gateway.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeDiscord:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def _serve_attachment(self, request: web.Request) -> web.Response:
        found = self.attachment_data.get(int(request.match_info["aid"]))
        if found is None:
            return web.Response(status=404, text="Not Found")
        _, ctype, data = found
        return web.Response(body=data, headers={"Content-Type": ctype})

    def violation(self, text: str) -> None:
        """Record a broken rule (tests assert :attr:`violations` is empty)."""
        log.warning("Discord rule violated: %s", text)
        self.violations.append(text)

    # --- the world ---------------------------------------------------------------------------

    def add_user(self, user_id: int, name: str = "", *, locale: str = "en-US") -> None:
        """A user (a person, not a bot) whose Discord client speaks `locale`."""
        self.users[user_id] = FakeUser(user_id, name or f"user{user_id}", locale=locale)

    def add_guild(
        self,
        guild_id: int,
        *,
        name: str = "Test Guild",
        channel_ids: Sequence[int] = (),
        owner_id: int = 1,
        members: Sequence[int] = (),
        system_channel_id: int | None = None,
        preferred_locale: str = "en-US",
    ) -> None:
        """A guild with text channels; the bot and the owner are members too.

        Added after READY, the guild arrives as a GUILD_CREATE (the bot "joined" it).
        `system_channel_id` (one of `channel_ids`) is where Discord posts join messages.
        """
        for uid in (owner_id, *members):
            self.user(uid)
        member_ids = list(dict.fromkeys([self.bot_user_id, owner_id, *members]))
        for pos, cid in enumerate(channel_ids):
            self.channels[cid] = FakeChannel(cid, guild_id, name=f"channel-{pos}", position=pos)
        self.guilds[guild_id] = FakeGuild(
            guild_id,
            name,
            owner_id,
            list(channel_ids),
            member_ids,
            system_channel_id=system_channel_id,
            preferred_locale=preferred_locale,
        )
        self.owner_id = owner_id if len(self.guilds) == 1 else self.owner_id
        if self.gateway.session_id is not None:  # to the sessions of its shard
            payload = self.guild_payload(guild_id)
            del payload["unavailable"]  # a join, not an outage ending (discord.py tells them apart)
            self._spawn(self.gateway.dispatch("GUILD_CREATE", payload))

    def guild_payload(self, guild_id: int) -> dict[str, Any]:
        """The guild as GUILD_CREATE and GET /guilds/{id} give it, with the bot's overwrites."""
        from tests.fakes.discord_payloads import guild_create_payload

        return guild_create_payload(
            self.guilds[guild_id],
            self.channels,
            self.users,
            bot_id=self.bot_user_id,
            bot_muted=self.bot_muted,
        )

    def add_role(
        self, guild_id: int, role_id: int, name: str, *, members: Sequence[int] = ()
    ) -> None:
        """A role in a guild, given to ``members`` (their interactions carry it).

        Added after READY, the bot hears of it through GUILD_ROLE_CREATE.
        """
        guild = self.guilds[guild_id]
        guild.roles[role_id] = name
        for uid in members:
            guild.member_roles.setdefault(uid, []).append(role_id)
        if self.gateway.session_id is not None:
            from tests.fakes.discord_payloads import role_payload

            role = role_payload(role_id, name, len(guild.roles))
            self._spawn(
                self.gateway.dispatch(
                    "GUILD_ROLE_CREATE", {"guild_id": str(guild_id), "role": role}
                )
            )

    def add_thread(
        self, guild_id: int, thread_id: int, parent_id: int, *, name: str = "a thread"
    ) -> FakeChannel:
        """A public thread (type 11) in ``parent_id``; users can run commands in it."""
        parent = self.channels.get(parent_id)
        if parent is None or parent.guild_id != guild_id:
            raise ValueError(f"channel {parent_id} is not a channel of guild {guild_id}")
        thread = FakeChannel(
            thread_id, guild_id, name=name, type=11, parent_id=parent_id, owner_id=self.owner_id
        )
        self.channels[thread_id] = thread
        return thread

    def dm_channel(self, user_id: int, channel_id: int | None = None) -> FakeChannel:
        """The DM channel between the bot and ``user_id`` (created on first use)."""
        for channel in self.channels.values():
            if channel.guild_id is None and channel.recipient_id == user_id:
                if channel_id is not None and channel.id != channel_id:
                    raise ValueError(
                        f"user {user_id}'s DM channel is {channel.id}, not {channel_id}"
                    )
                return channel
        cid = channel_id or self.snowflake()
        self.user(user_id)
        self.channels[cid] = FakeChannel(cid, None, name="", type=1, recipient_id=user_id)
        return self.channels[cid]

    def forbid_bot(self, channel_id: int) -> None:
        """Take Send Messages away from the bot in ``channel_id`` (and its threads).

        As on Discord, its channel posts there are answered 403 50013 Missing Permissions,
        interactions there carry ``app_permissions`` without the send bits, and interaction
        responses still work. A refused post is not a violation: the bot has to cope with it.
        A channel not created yet (by :meth:`add_guild`) comes with the overwrite.
        """
        self.bot_muted.add(channel_id)

    def bot_may_post(self, channel_id: int) -> bool:
        """False in a channel (or a thread of one) passed to :meth:`forbid_bot`."""
        channel = self.channel(channel_id)
        return not {channel.id, channel.parent_id} & self.bot_muted

    def bot_permissions(self, channel_id: int) -> int:
        """The ``app_permissions`` interactions in ``channel_id`` carry."""
        if self.bot_may_post(channel_id):
            return DEFAULT_MEMBER_PERMISSIONS
        return DEFAULT_MEMBER_PERMISSIONS & ~(SEND_MESSAGES | SEND_MESSAGES_IN_THREADS)

    def request_counts(self) -> Counter[RouteKind]:
        """REST calls so far per rate-limit family (``callback``, ``interaction_webhook``,
        ``channel_messages``, ``other``), 429s included."""
        return Counter(route_kind(r.method, r.path) for r in self.requests)

    def interaction_by_token(self, token: str) -> FakeInteraction | None:
        """The interaction whose webhook token this is."""
        return next((i for i in self.interactions.values() if i.token == token), None)

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # --- waiting -----------------------------------------------------------------------------

    async def wait_ready(
        self,
        timeout: float = 10,  # noqa: ASYNC109 - interface
        *,
        shards: Sequence[int] | None = None,
    ) -> None:
        """Until the bot IDENTIFIED and got READY + every GUILD_CREATE, on each of `shards`
        (default: every shard of its count).

        discord.py fires ``on_ready`` ``guild_ready_timeout`` later; await
        ``bot.wait_until_ready()`` for that.
        """
        await self.wait_for(
            lambda: self.gateway.is_ready(shards), timeout, what="the bot to IDENTIFY"
        )

    async def wait_for(
        self,
        predicate: Callable[[], bool],
        timeout: float = 10,  # noqa: ASYNC109 - interface
        *,
        what: str = "",
    ) -> None:
        """Poll ``predicate`` until true; on timeout fail listing recent requests and violations."""
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                recent = [f"{r.method} {r.path} -> {r.status}" for r in self.requests[-8:]]
                raise AssertionError(
                    f"timed out after {timeout}s waiting for {what or predicate!r}; "
                    f"recent requests: {recent}; violations: {self.violations}"
                )
            await asyncio.sleep(0.01)

    async def disconnect(self, code: int = 4000, *, shard_id: int | None = None) -> None:
        """Drop the gateway connections (of one shard if given); discord.py then RESUMEs."""
        await self.gateway.disconnect(code, shard_id)

    async def restart_gateway(
        self,
        timeout: float = 10,  # noqa: ASYNC109 - interface
        *,
        shard_id: int | None = None,
    ) -> None:
        """Disconnect with 4000 (one shard when given) and wait until the bot RESUMEd."""
        cut = await self.gateway.disconnect(4000, shard_id)
        assert cut, "no gateway connection to restart"
        await self.wait_for(
            lambda: all(s.resumed.is_set() for s in cut), timeout, what="the bot to RESUME"
        )

    def hold(self, method: str, path_regex: str) -> asyncio.Event:
        """Keep requests matching (``path_regex`` as in :meth:`fail_next`) waiting for their
        answer until the returned event is set: Discord slow to answer, for exactly as long
        as the test needs."""
        released = asyncio.Event()
        self.rest.holds.append((method, path_regex, released))
        return released

    def fail_next(
        self,
        method: str,
        path_regex: str,
        *,
        status: int,
        code: int,
        message: str,
        count: int = 1,
        retry_after: float | None = None,
        with_files: bool = False,
        after: bool = False,
    ) -> None:
        """Answer the next ``count`` requests matching with this error.

        ``path_regex`` is ``re.search``-ed over the path after ``/api/v10``. A 429 gets a
        ``Via`` header and ``retry_after``/``global`` in its body, so discord.py retries it.
        ``with_files`` limits the fault to requests that upload files. ``after``: the request
        takes effect (a message is created) and only then is answered with the error, as
        when Discord's answer is lost on its way back.
        """
        self.rest.faults.append(
            FailRule(
                method, path_regex, status, code, message, count, retry_after, with_files, after
            )
        )
