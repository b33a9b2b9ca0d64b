"""The fake Discord gateway: HELLO, heartbeats, IDENTIFY → READY + GUILD_CREATE, RESUME, dispatch.

Sharded as Discord documents (https://discord.com/developers/docs/events/gateway#sharding):
``FakeDiscord(shards=N)`` answers ``GET /gateway/bot`` with N shards, and every IDENTIFY opens
a session for its ``shard: [id, count]`` (none means ``[0, 1]``). READY lists, GUILD_CREATE
describes and every later event of a guild goes to the sessions with
``(guild_id >> 22) % count == id``; events without a guild (DMs) go to shard 0. Each session
has its own session_id, sequence and event log, so a RESUME replays what that shard missed.

Refused as on Discord: an id outside its count (close 4010 Invalid shard); fewer shards than
N, or none when N > 1 (4011 Sharding required: the fake's N stands for "too many guilds for
fewer"); an IDENTIFY sooner than the identify interval after another of its
``max_concurrency`` bucket (op 9 Invalid Session); a RESUME of an unknown or ended session
(op 9). A session ends when its client closes with 1000 or 1001. Like Discord, the fake takes
a count above N (the count only routes) and a second session of one shard (both get its
events: a bot run twice answers twice). The interval is 5 s with several shards and off with
one, so single-shard tests may restart bots back to back.

Plain JSON text frames, or zlib-stream binary frames when the client asks for
``compress=zlib-stream`` (what discord.py does when it has no zstd).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from aiohttp import WSMsgType, web

from tests.fakes.discord_sessions import Connection, Session, guild_of

if TYPE_CHECKING:
    from tests.fakes.discord_api import FakeDiscord

log = logging.getLogger(__name__)

OP_DISPATCH, OP_HEARTBEAT, OP_IDENTIFY, OP_RESUME = 0, 1, 2, 6
OP_RECONNECT, OP_INVALID_SESSION, OP_HELLO, OP_HEARTBEAT_ACK = 7, 9, 10, 11
HEARTBEAT_INTERVAL_MS = 41_250
# GET /gateway/bot's session_start_limit.max_concurrency: shards identify one at a time.
MAX_CONCURRENCY = 1
IDENTIFY_INTERVAL = 5.0  # seconds between IDENTIFYs of one bucket, as on Discord
# How much sooner an IDENTIFY may arrive: the client times its wait from its side of the wire.
IDENTIFY_SLACK = 0.1


class GatewayServer:
    """Serves ``/gateway`` (first connect) and ``/gateway-resume`` (READY's resume_gateway_url)."""

    def __init__(self, fake: FakeDiscord) -> None:
        self.fake = fake
        self.sessions: list[Session] = []
        """Every session so far, oldest first (ended ones too)."""
        self.undelivered: list[tuple[str, dict[str, Any]]] = []
        """Events no live session's shard covers (Discord drops them the same way)."""
        self.ready = asyncio.Event()
        """Set once every shard of the bot's count has a session with its GUILD_CREATEs."""
        self.resumed = asyncio.Event()
        """Set by each completed RESUME; cleared by :meth:`disconnect`."""
        self.identifies = 0
        self.heartbeats = 0
        self._last_identify: dict[int, float] = {}  # by max_concurrency bucket

    # --- sessions ----------------------------------------------------------------------------

    @property
    def session_id(self) -> str | None:
        """The newest session's id (None before the first IDENTIFY)."""
        return self.sessions[-1].session_id if self.sessions else None

    @property
    def seq(self) -> int:
        """The newest session's last sequence number."""
        return self.sessions[-1].seq if self.sessions else 0

    @property
    def events(self) -> list[tuple[int, str, dict[str, Any]]]:
        """The newest session's event log."""
        return self.sessions[-1].events if self.sessions else []

    @property
    def resumes(self) -> int:
        """RESUMEs completed, every session together."""
        return sum(session.resumes for session in self.sessions)

    @property
    def connected(self) -> bool:
        """True while a websocket with a live (identified or resumed) session is open."""
        return any(session.connected for session in self.live())

    def live(self, shard_id: int | None = None) -> list[Session]:
        """The sessions not ended (of shard `shard_id` when given), oldest first."""
        return [
            s for s in self.sessions if not s.ended and (shard_id is None or s.shard_id == shard_id)
        ]

    def shard(self, shard_id: int) -> Session:
        """The newest live session of shard `shard_id`."""
        found = self.live(shard_id)
        if not found:
            raise LookupError(f"no live gateway session of shard {shard_id}")
        return found[-1]

    def is_ready(self, shards: Iterable[int] | None = None) -> bool:
        """Whether each of `shards` (default: every shard of the newest session's count) has
        a live session that got its READY and GUILD_CREATEs."""
        if not self.sessions:
            return False
        wanted = range(self.sessions[-1].shard_count) if shards is None else shards
        return all(any(s.ready.is_set() for s in self.live(k)) for k in wanted)

    def delivered_to(self, name: str, object_id: int | str) -> list[int]:
        """The shard ids of the sessions that were sent event `name` of the object
        `object_id` (an interaction, a message, a guild), one entry per session."""
        return [
            session.shard_id
            for session in self.sessions
            if any(n == name and p.get("id") == str(object_id) for n, p in session.delivered)
        ]

    # --- the websocket -----------------------------------------------------------------------

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        """The websocket endpoint."""
        ws = web.WebSocketResponse(max_msg_size=0)
        await ws.prepare(request)
        if request.query.get("v") not in (None, "10"):
            self.fake.violation(f"gateway: connected with v={request.query.get('v')} (expected 10)")
        if request.query.get("encoding", "json") != "json":
            self.fake.violation(f"gateway: unsupported encoding {request.query.get('encoding')}")
        conn = Connection(ws, request.query.get("compress") == "zlib-stream")
        log.debug("gateway: connection on %s (query %s)", request.path, dict(request.query))
        await conn.send(
            {
                "op": OP_HELLO,
                "d": {"heartbeat_interval": HEARTBEAT_INTERVAL_MS},
                "s": None,
                "t": None,
            }
        )
        try:
            async for msg in ws:
                if msg.type not in (WSMsgType.TEXT, WSMsgType.BINARY):
                    break
                raw = msg.data if isinstance(msg.data, str) else msg.data.decode()
                await self._on_message(conn, json.loads(raw), request.path)
        finally:
            self._closed(conn)
        return ws

    def _closed(self, conn: Connection) -> None:
        session = conn.session
        log.debug("gateway: connection closed (code %s)", conn.ws.close_code)
        if session is None or session.conn is not conn:
            return  # no longer its session's: the fake let go of it, or a RESUME moved on
        session.conn = None
        if conn.ws.close_code in (1000, 1001):  # the client ended its session
            session.ended = True

    async def _on_message(self, conn: Connection, msg: dict[str, Any], path: str) -> None:
        op, data = msg.get("op"), msg.get("d")
        if op == OP_HEARTBEAT:
            self.heartbeats += 1
            await conn.send({"op": OP_HEARTBEAT_ACK, "d": None, "s": None, "t": None})
        elif op == OP_IDENTIFY:
            await self._identify(conn, data or {})
        elif op == OP_RESUME:
            await self._resume(conn, data or {}, path)
        elif op == 8:  # REQUEST_GUILD_MEMBERS: answer with one chunk of what we know
            await self._member_chunk(conn, data or {})
        elif op not in (3, 4):  # presence / voice state updates are accepted silently
            self.fake.violation(f"gateway: unknown opcode {op}")

    def _token_ok(self, token: Any) -> bool:
        if self.fake.bot_token is None:
            self.fake.bot_token = token
        return bool(token) and token == self.fake.bot_token

    async def _identify(self, conn: Connection, data: dict[str, Any]) -> None:
        if not self._token_ok(data.get("token")):
            self.fake.violation("gateway: IDENTIFY with a wrong token")
            await conn.ws.close(code=4004, message=b"Authentication failed.")
            return
        if not isinstance(data.get("intents"), int):
            self.fake.violation("gateway: IDENTIFY without intents")
            await conn.ws.close(code=4013, message=b"Invalid intent(s).")
            return
        shard = [0, 1] if data.get("shard") is None else data["shard"]
        refusal = self._shard_refusal(shard)
        if refusal is not None:
            code, reason = refusal
            self.fake.violation(
                f"gateway: IDENTIFY with shard {data.get('shard')} closed {code} {reason} "
                f"(/gateway/bot said {self.fake.shard_count} shards)"
            )
            await conn.ws.close(code=code, message=reason.encode())
            return
        if self._too_soon(shard[0]):
            self.fake.violation(
                f"gateway: IDENTIFY of shard {shard[0]} too soon after another of its "
                f"max_concurrency bucket ({MAX_CONCURRENCY} per {self.identify_interval:g} s)"
            )
            await conn.send({"op": OP_INVALID_SESSION, "d": False, "s": None, "t": None})
            return
        await self._start_session(conn, data, Session(shard[0], shard[1]))

    def _shard_refusal(self, shard: Any) -> tuple[int, str] | None:
        """Discord's close code and reason for an IDENTIFY's ``shard``; None when it is fine."""
        numbers = isinstance(shard, list) and len(shard) == 2
        if not numbers or not all(type(n) is int for n in shard) or not 0 <= shard[0] < shard[1]:
            return 4010, "Invalid shard."
        if shard[1] < self.fake.shard_count:
            return 4011, "Sharding required."
        return None

    @property
    def identify_interval(self) -> float:
        """Seconds between IDENTIFYs of one bucket: the fake's, else 5 with several shards
        and 0 (unchecked) with one."""
        if self.fake.identify_interval is not None:
            return self.fake.identify_interval
        return IDENTIFY_INTERVAL if self.fake.shard_count > 1 else 0.0

    def _too_soon(self, shard_id: int) -> bool:
        """Whether this IDENTIFY comes within the identify interval of the last accepted one
        of its bucket (``shard_id % max_concurrency``); if not, it starts a new interval."""
        bucket, now = shard_id % MAX_CONCURRENCY, time.monotonic()
        last = self._last_identify.get(bucket)
        if last is not None and now - last < self.identify_interval - IDENTIFY_SLACK:
            return True
        self._last_identify[bucket] = now
        return False

    async def _start_session(
        self, conn: Connection, data: dict[str, Any], session: Session
    ) -> None:
        """READY, then a GUILD_CREATE for each guild of the session's shard."""
        fake = self.fake
        fake.identify = data
        self.identifies += 1
        guilds = [g for g in list(fake.guilds) if session.receives(g)]
        self.sessions.append(session)
        session.conn, conn.session = conn, session
        await session.send_event("READY", self._ready_payload(session, guilds))
        for guild_id in guilds:
            await session.send_event("GUILD_CREATE", fake.guild_payload(guild_id))
        session.ready.set()
        if self.is_ready():
            self.ready.set()

    def _ready_payload(self, session: Session, guild_ids: list[int]) -> dict[str, Any]:
        fake = self.fake
        bot = fake.users[fake.bot_user_id].payload() | {
            "verified": True,
            "mfa_enabled": False,
            "email": None,
        }
        return {
            "v": 10,
            "user": bot,
            "guilds": [{"id": str(g), "unavailable": True} for g in guild_ids],
            "session_id": session.session_id,
            "session_type": "normal",
            "resume_gateway_url": fake.ws_base + "/gateway-resume",
            "shard": [session.shard_id, session.shard_count],
            "application": {"id": str(fake.application_id), "flags": 0},
            "private_channels": [],
            "relationships": [],
            "presences": [],
            "guild_join_requests": [],
            "geo_ordered_rtc_regions": [],
            "user_settings": {},
            "_trace": ["fake-discord"],
        }

    async def _resume(self, conn: Connection, data: dict[str, Any], path: str) -> None:
        if path != "/gateway-resume":
            self.fake.violation("gateway: RESUME not sent to READY's resume_gateway_url")
        if not self._token_ok(data.get("token")):
            self.fake.violation("gateway: RESUME with a wrong token")
            await conn.ws.close(code=4004, message=b"Authentication failed.")
            return
        wanted = data.get("session_id")
        session = next((s for s in self.live() if s.session_id == wanted), None)
        if session is None:
            self.fake.violation("gateway: RESUME of an unknown or ended session")
            await conn.send({"op": OP_INVALID_SESSION, "d": False, "s": None, "t": None})
            return
        session.conn, conn.session = conn, session
        session.resumes += 1
        await session.replay(int(data.get("seq") or 0))
        await session.send_event("RESUMED", {"_trace": ["fake-discord"]})
        session.resumed.set()
        self.resumed.set()

    async def _member_chunk(self, conn: Connection, data: dict[str, Any]) -> None:
        fake = self.fake
        guild = fake.guilds.get(int(data.get("guild_id") or 0))
        if guild is None or conn.session is None:
            return
        from tests.fakes.discord_payloads import member_payload

        members = [member_payload(fake.users[m], guild.joined_at) for m in guild.member_ids]
        chunk = {
            "guild_id": str(guild.id),
            "members": members,
            "chunk_index": 0,
            "chunk_count": 1,
            "not_found": [],
        }
        if data.get("nonce"):
            chunk["nonce"] = data["nonce"]
        await conn.session.send_event("GUILD_MEMBERS_CHUNK", chunk)  # on the asking shard

    # --- what tests do -----------------------------------------------------------------------

    async def dispatch(self, name: str, payload: dict[str, Any]) -> None:
        """Send a DISPATCH event to every live session of its guild's shard (kept for
        RESUME; sent now where connected). One no live session covers is dropped, as on
        Discord, and kept in :attr:`undelivered`."""
        if not self.sessions:
            raise RuntimeError(
                f"cannot dispatch {name}: the bot has not IDENTIFIED with the fake gateway"
            )
        guild_id = guild_of(name, payload)
        sessions = [s for s in self.live() if s.receives(guild_id)]
        if not sessions:
            log.info("gateway: no live session has the shard of %s (guild %s)", name, guild_id)
            self.undelivered.append((name, payload))
        for session in sessions:
            await session.send_event(name, payload)

    async def disconnect(self, code: int = 4000, shard_id: int | None = None) -> list[Session]:
        """Close the websockets of the live sessions (of shard `shard_id` when given) from
        the server side (4000 → discord.py RESUMEs); the sessions cut off."""
        self.resumed.clear()
        cut = [s for s in self.live(shard_id) if s.conn is not None]
        for session in cut:
            conn, session.conn = session.conn, None
            session.resumed.clear()
            if conn is not None:
                await conn.ws.close(code=code, message=b"fake disconnect")
        return cut

    async def reconnect_request(self, shard_id: int | None = None) -> None:
        """Send op 7 RECONNECT to the connected sessions (discord.py closes and RESUMEs)."""
        self.resumed.clear()
        for session in self.live(shard_id):
            if session.conn is not None:
                session.resumed.clear()
                await session.conn.send({"op": OP_RECONNECT, "d": None, "s": None, "t": None})

    async def close(self) -> None:
        """Close every connection (server shutdown)."""
        for session in self.sessions:
            conn, session.conn = session.conn, None
            if conn is not None and not conn.ws.closed:
                await conn.ws.close(code=1001, message=b"fake discord shutting down")
