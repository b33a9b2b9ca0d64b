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
rules (limits, pings), payloads (objects), gateway, rest, webhooks (interaction responses),
messages (the store), interactions (FakeInteraction and user input).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

from aiohttp import web

from tests.fakes.discord_gateway import GatewayServer
from tests.fakes.discord_interactions import (
    FakeInteraction,
    Recorded,
    build_command_options,
    check_visible,
    find_command,
    make_resolver,
    modal_submit_components,
    walk_components,
)
from tests.fakes.discord_messages import MessageStore
from tests.fakes.discord_payloads import FakeChannel, FakeGuild, FakeUser, member_payload
from tests.fakes.discord_rest import API_PREFIX, FailRule, RestApi, Upload
from tests.fakes.discord_rules import (
    DEFAULT_MEMBER_PERMISSIONS,
    MAX_UPLOAD_BYTES,
    SnowflakeGenerator,
)

__all__ = ["DEFAULT_MEMBER_PERMISSIONS", "FakeDiscord", "FakeInteraction", "Recorded"]

log = logging.getLogger(__name__)

SPEC_PATH = Path(__file__).resolve().parents[3] / "shared" / "specs" / "discord-openapi.json"


def _load_spec(path: Path) -> Any:
    """A SpecValidator for Discord's OpenAPI document (openapi_check parses it once per process)."""
    from tests.fakes.openapi_check import SpecValidator

    return SpecValidator(path, strip_prefix=API_PREFIX, unknown_properties="warn")


class FakeDiscord(MessageStore):
    """The fake Discord server. See the module docstring; all ids are ints."""

    def __init__(
        self,
        *,
        application_id: int = 1000,
        bot_user_id: int = 1000,
        bot_name: str = "Picasso",
        validate_spec: bool = True,
    ) -> None:
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
        self.deleted_messages: dict[int, dict[str, Any]] = {}
        self.attachment_data: dict[int, tuple[str, str, bytes]] = {}
        self.commands_global: list[dict[str, Any]] = []
        self.commands_guild: dict[int, list[dict[str, Any]]] = {}
        self.command_syncs = 0
        self.interactions: dict[int, FakeInteraction] = {}
        self.requests: list[Recorded] = []
        self.violations: list[str] = []
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
            self.spec = _load_spec(SPEC_PATH)
        app = web.Application(client_max_size=256 * 1024 * 1024)
        app.router.add_route("*", API_PREFIX + "/{tail:.*}", self.rest.handle)
        app.router.add_get("/gateway", self.gateway.handle)
        app.router.add_get("/gateway-resume", self.gateway.handle)
        app.router.add_get("/attachments/{cid}/{aid}/{name}", self._serve_attachment)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
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

    def add_user(self, user_id: int, name: str = "") -> None:
        """A user (a person, not a bot)."""
        self.users[user_id] = FakeUser(user_id, name or f"user{user_id}")

    def add_guild(
        self,
        guild_id: int,
        *,
        name: str = "Test Guild",
        channel_ids: Sequence[int] = (),
        owner_id: int = 1,
        members: Sequence[int] = (),
    ) -> None:
        """A guild with text channels; the bot and the owner are members too.

        Added after READY, the guild arrives as a GUILD_CREATE (the bot "joined" it).
        """
        for uid in (owner_id, *members):
            self.user(uid)
        member_ids = list(dict.fromkeys([self.bot_user_id, owner_id, *members]))
        for pos, cid in enumerate(channel_ids):
            self.channels[cid] = FakeChannel(cid, guild_id, name=f"channel-{pos}", position=pos)
        self.guilds[guild_id] = FakeGuild(guild_id, name, owner_id, list(channel_ids), member_ids)
        self.owner_id = owner_id if len(self.guilds) == 1 else self.owner_id
        if self.gateway.ready.is_set():
            from tests.fakes.discord_payloads import guild_create_payload

            payload = guild_create_payload(self.guilds[guild_id], self.channels, self.users)
            del payload["unavailable"]  # a join, not an outage ending (discord.py tells them apart)
            self._spawn(self.gateway.dispatch("GUILD_CREATE", payload))

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
        if self.gateway.ready.is_set():
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

    def interaction_by_token(self, token: str) -> FakeInteraction | None:
        """The interaction whose webhook token this is."""
        return next((i for i in self.interactions.values() if i.token == token), None)

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # --- waiting -----------------------------------------------------------------------------

    async def wait_ready(self, timeout: float = 10) -> None:  # noqa: ASYNC109 - interface
        """Until the bot IDENTIFIED and got READY + every GUILD_CREATE.

        discord.py fires ``on_ready`` ``guild_ready_timeout`` later; await
        ``bot.wait_until_ready()`` for that.
        """
        await self.wait_for(
            self.gateway.ready.is_set, timeout, what="the bot to IDENTIFY on the gateway"
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

    async def _settle(self) -> None:
        """Let the bot finish reading responses (a view registers only after that)."""
        deadline = time.monotonic() + 5
        while self.in_flight and time.monotonic() < deadline:
            await asyncio.sleep(0.005)
        await asyncio.sleep(0.05)

    async def disconnect(self, code: int = 4000) -> None:
        """Drop the gateway connection; discord.py RESUMEs on READY's resume_gateway_url."""
        await self.gateway.disconnect(code)

    async def restart_gateway(self, timeout: float = 10) -> None:  # noqa: ASYNC109
        """Disconnect with 4000 and wait until the bot has RESUMEd."""
        await self.gateway.disconnect(4000)
        await self.wait_for(self.gateway.resumed.is_set, timeout, what="the bot to RESUME")

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
    ) -> None:
        """Answer the next ``count`` requests matching with this error.

        ``path_regex`` is ``re.search``-ed over the path after ``/api/v10``. A 429 gets a
        ``Via`` header and ``retry_after``/``global`` in its body, so discord.py retries it.
        ``with_files`` limits the fault to requests that upload files.
        """
        self.rest.faults.append(
            FailRule(method, path_regex, status, code, message, count, retry_after, with_files)
        )

    # --- user actions ------------------------------------------------------------------------

    def _place(self, user_id: int, guild_id: int | None, channel_id: int) -> FakeChannel:
        self.user(user_id)
        if guild_id is None:
            channel = self.channels.get(channel_id)
            if channel is None:
                channel = self.dm_channel(user_id, channel_id)
            if channel.guild_id is not None or channel.recipient_id != user_id:
                raise ValueError(f"channel {channel_id} is not the DM of user {user_id}")
            return channel
        if guild_id not in self.guilds:
            raise ValueError(f"guild {guild_id} was never added (add_guild)")
        channel = self.channels.get(channel_id)
        if channel is None or channel.guild_id != guild_id:
            raise ValueError(f"channel {channel_id} is not a channel of guild {guild_id}")
        return channel

    async def _interact(
        self,
        itype: int,
        data: dict[str, Any],
        *,
        user_id: int,
        guild_id: int | None,
        channel_id: int,
        permissions: int,
        attachment_size_limit: int = MAX_UPLOAD_BYTES,
        message_id: int | None = None,
    ) -> FakeInteraction:
        channel = self._place(user_id, guild_id, channel_id)
        user = self.user(user_id)
        iid, token = self.snowflake(), "aW50ZXJhY3Rpb246" + secrets.token_urlsafe(96)
        payload: dict[str, Any] = {
            "id": str(iid),
            "application_id": str(self.application_id),
            "type": itype,
            "data": data,
            "token": token,
            "version": 1,
            "channel_id": str(channel_id),
            "channel": channel.payload(self.users),
            "locale": "en-US",
            "app_permissions": str(DEFAULT_MEMBER_PERMISSIONS),
            "entitlements": [],
            "attachment_size_limit": attachment_size_limit,
            "context": 0 if guild_id else 1,
            "authorizing_integration_owners": {"0": str(guild_id or 0)},
        }
        if guild_id is not None:
            guild = self.guilds[guild_id]
            payload["channel"]["permissions"] = str(permissions)
            payload.update(
                guild_id=str(guild_id),
                guild={"id": str(guild_id), "locale": "en-US", "features": []},
                guild_locale="en-US",
                member=member_payload(
                    user,
                    guild.joined_at,
                    permissions=permissions,
                    roles=guild.member_roles.get(user_id, ()),
                ),
            )
        else:
            payload["user"] = user.payload()
        if message_id is not None:
            payload["message"] = self.public(self.messages[message_id])
        inter = FakeInteraction(
            iid,
            token,
            itype,
            data,
            payload,
            self,
            user_id=user_id,
            guild_id=guild_id,
            channel_id=channel_id,
            attachment_size_limit=attachment_size_limit,
            message_id=message_id,
        )
        self.interactions[iid] = inter
        inter.created_at = time.monotonic()
        await self.gateway.dispatch("INTERACTION_CREATE", payload)
        return inter

    async def invoke(
        self,
        name: str,
        options: Mapping[str, Any] | None = None,
        *,
        user_id: int,
        guild_id: int | None,
        channel_id: int,
        subcommand: str | None = None,
        permissions: int = DEFAULT_MEMBER_PERMISSIONS,
        attachment_size_limit: int = MAX_UPLOAD_BYTES,
        resolved: dict[str, Any] | None = None,
        permission_override: bool = False,
    ) -> FakeInteraction:
        """A user runs slash command ``/name [subcommand] options`` (APPLICATION_COMMAND).

        The synced definition (guild commands first, then global) gives the command id and the
        option types; unsynced commands get a made-up id and types from Python values.
        A user lacking the command's ``default_member_permissions`` can't run it, unless
        ``permission_override``: the server allowed it to them in its Integrations settings
        (the interaction still carries their real ``permissions``).
        """
        definition = (
            find_command(self.commands_guild.get(guild_id or 0, []), name) if guild_id else None
        )
        command_guild = guild_id if definition else None
        definition = definition or find_command(self.commands_global, name)
        if definition is not None:
            check_visible(definition, guild_id, permissions, overridden=permission_override)
        opts, auto_resolved = build_command_options(
            definition, options or {}, subcommand, make_resolver(self, guild_id)
        )
        data: dict[str, Any] = {
            "id": definition["id"] if definition else str(self.snowflake()),
            "name": name,
            "type": 1,
        }
        if opts:
            data["options"] = opts
        merged = {**auto_resolved, **(resolved or {})}
        if merged:
            data["resolved"] = merged
        if command_guild is not None:
            data["guild_id"] = str(command_guild)
        return await self._interact(
            2,
            data,
            user_id=user_id,
            guild_id=guild_id,
            channel_id=channel_id,
            permissions=permissions,
            attachment_size_limit=attachment_size_limit,
        )

    async def click(
        self,
        message_id: int,
        custom_id: str,
        *,
        user_id: int,
        guild_id: int | None,
        channel_id: int,
        permissions: int = DEFAULT_MEMBER_PERMISSIONS,
        values: Sequence[str] | None = None,
    ) -> FakeInteraction:
        """A user clicks a button (or picks ``values`` in a select) on a stored message."""
        await self._settle()
        msg = self.messages.get(message_id)
        if msg is None or int(msg["channel_id"]) != channel_id:
            raise AssertionError(f"no message {message_id} in channel {channel_id} to click on")
        comps = list(walk_components(msg.get("components") or []))
        comp = next((c for c in comps if c.get("custom_id") == custom_id), None)
        if comp is None:
            raise AssertionError(
                f"message {message_id} has no component {custom_id!r}: "
                f"{[c.get('custom_id') for c in comps]}"
            )
        if comp.get("disabled"):
            raise AssertionError(f"component {custom_id!r} is disabled; nobody can click it")
        data: dict[str, Any] = {"custom_id": custom_id, "component_type": comp["type"]}
        if comp.get("id") is not None:
            data["id"] = comp["id"]
        if comp["type"] != 2:
            data["values"] = list(values or [])
        return await self._interact(
            3,
            data,
            user_id=user_id,
            guild_id=guild_id,
            channel_id=channel_id,
            permissions=permissions,
            message_id=message_id,
        )

    async def submit_modal(
        self,
        custom_id: str,
        values: Mapping[str, Any],
        *,
        user_id: int,
        guild_id: int | None,
        channel_id: int,
        message_id: int | None = None,
        permissions: int = DEFAULT_MEMBER_PERMISSIONS,
    ) -> FakeInteraction:
        """A user submits the modal the bot opened (callback type 9); ``values`` by custom_id."""
        await self._settle()
        opener = next(
            (
                i
                for i in reversed(list(self.interactions.values()))
                for cb in i.callbacks[:1]
                if cb["type"] == 9 and cb["data"].get("custom_id") == custom_id
            ),
            None,
        )
        if opener is None:
            raise AssertionError(f"the bot never opened a modal {custom_id!r}")
        components = modal_submit_components(
            opener.callbacks[0]["data"].get("components") or [], values
        )
        return await self._interact(
            5,
            {"custom_id": custom_id, "components": components},
            user_id=user_id,
            guild_id=guild_id,
            channel_id=channel_id,
            permissions=permissions,
            message_id=message_id or opener.message_id,
        )

    async def post_message(
        self,
        channel_id: int,
        content: str,
        *,
        author_id: int,
        guild_id: int | None,
        reply_to: int | None = None,
        mention_bot: bool = False,
        attachments: Sequence[tuple[Any, ...]] = (),
        reply_ping: bool = True,
    ) -> dict[str, Any]:
        """A user posts a message (stored, and sent as MESSAGE_CREATE as the bot's intents allow).

        ``mention_bot`` puts ``<@bot>`` in front of the content (as the client does);
        ``attachments`` are ``(filename, bytes)`` or ``(filename, bytes, content_type)``.
        """
        channel = self._place(author_id, guild_id, channel_id)
        bot = self.bot_user_id
        if mention_bot and f"<@{bot}>" not in content and f"<@!{bot}>" not in content:
            content = f"<@{bot}> {content}"
        uploads = [
            Upload(i, a[0], a[2] if len(a) > 2 else "application/octet-stream", a[1])
            for i, a in enumerate(attachments)
        ]
        ref = None
        if reply_to is not None:
            ref = self.messages.get(reply_to)
            if ref is None or int(ref["channel_id"]) != channel_id:
                raise ValueError(f"no message {reply_to} in channel {channel_id} to reply to")
        msg = self.create_message(
            channel,
            author_id=author_id,
            payload={"content": content},
            uploads=uploads,
            reply_to=ref,
            reply_ping=reply_ping,
        )
        await self.announce("MESSAGE_CREATE", msg)
        return msg
