"""The fake Discord gateway: HELLO, heartbeats, IDENTIFY → READY + GUILD_CREATE, RESUME, dispatch.

One session (shards: 1). Plain JSON text frames, or zlib-stream binary frames when the client
asks for ``compress=zlib-stream`` (what discord.py does when it has no zstd). Every dispatched
event is kept with its sequence number so a RESUME replays what the bot missed.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import zlib
from typing import TYPE_CHECKING, Any

from aiohttp import WSMsgType, web

if TYPE_CHECKING:
    from tests.fakes.discord_api import FakeDiscord

log = logging.getLogger(__name__)

OP_DISPATCH, OP_HEARTBEAT, OP_IDENTIFY, OP_RESUME = 0, 1, 2, 6
OP_RECONNECT, OP_INVALID_SESSION, OP_HELLO, OP_HEARTBEAT_ACK = 7, 9, 10, 11
HEARTBEAT_INTERVAL_MS = 41_250


class _Connection:
    """One websocket connection (a session may span several)."""

    def __init__(self, ws: web.WebSocketResponse, zlib_stream: bool) -> None:
        self.ws = ws
        self.compressor = zlib.compressobj() if zlib_stream else None
        self.lock = asyncio.Lock()

    async def send(self, payload: dict[str, Any]) -> None:
        text = json.dumps(payload, separators=(",", ":"))
        async with self.lock:
            if self.ws.closed:
                return
            if self.compressor is None:
                await self.ws.send_str(text)
            else:
                data = self.compressor.compress(text.encode()) + self.compressor.flush(
                    zlib.Z_SYNC_FLUSH
                )
                await self.ws.send_bytes(data)


class GatewayServer:
    """Serves ``/gateway`` (first connect) and ``/gateway-resume`` (READY's resume_gateway_url)."""

    def __init__(self, fake: FakeDiscord) -> None:
        self.fake = fake
        self.session_id: str | None = None
        self.seq = 0
        self.events: list[tuple[int, str, dict[str, Any]]] = []
        self.ready = asyncio.Event()
        self.identifies = 0
        self.resumes = 0
        self.resumed = asyncio.Event()
        self.heartbeats = 0
        self._conn: _Connection | None = None

    @property
    def connected(self) -> bool:
        """True while a websocket with a live (identified or resumed) session is open."""
        return self._conn is not None and not self._conn.ws.closed and self.session_id is not None

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        """The websocket endpoint."""
        ws = web.WebSocketResponse(max_msg_size=0)
        await ws.prepare(request)
        if request.query.get("v") not in (None, "10"):
            self.fake.violation(f"gateway: connected with v={request.query.get('v')} (expected 10)")
        if request.query.get("encoding", "json") != "json":
            self.fake.violation(f"gateway: unsupported encoding {request.query.get('encoding')}")
        conn = _Connection(ws, request.query.get("compress") == "zlib-stream")
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
            if self._conn is conn:
                self._conn = None
            log.debug("gateway: connection closed (code %s)", ws.close_code)
        return ws

    async def _on_message(self, conn: _Connection, msg: dict[str, Any], path: str) -> None:
        op, data = msg.get("op"), msg.get("d")
        if op == OP_HEARTBEAT:
            self.heartbeats += 1
            await conn.send({"op": OP_HEARTBEAT_ACK, "d": None, "s": None, "t": None})
        elif op == OP_IDENTIFY:
            await self._identify(conn, data or {})
        elif op == OP_RESUME:
            await self._resume(conn, data or {}, path)
        elif op == 8:  # REQUEST_GUILD_MEMBERS: answer with one chunk of what we know
            await self._member_chunk(data or {})
        elif op not in (3, 4):  # presence / voice state updates are accepted silently
            self.fake.violation(f"gateway: unknown opcode {op}")

    def _token_ok(self, token: Any) -> bool:
        if self.fake.bot_token is None:
            self.fake.bot_token = token
        return bool(token) and token == self.fake.bot_token

    async def _identify(self, conn: _Connection, data: dict[str, Any]) -> None:
        if not self._token_ok(data.get("token")):
            self.fake.violation("gateway: IDENTIFY with a wrong token")
            await conn.ws.close(code=4004, message=b"Authentication failed.")
            return
        if not isinstance(data.get("intents"), int):
            self.fake.violation("gateway: IDENTIFY without intents")
            await conn.ws.close(code=4013, message=b"Invalid intent(s).")
            return
        if data.get("shard") not in (None, [0, 1]):
            self.fake.violation(
                f"gateway: IDENTIFY with shard {data.get('shard')} but /gateway/bot said 1 shard"
            )
            await conn.ws.close(code=4010, message=b"Invalid shard.")
            return
        self.fake.identify = data
        self.identifies += 1
        self.session_id = secrets.token_hex(16)
        self.seq = 0
        self.events = []
        self._conn = conn
        fake = self.fake
        bot = fake.users[fake.bot_user_id].payload() | {
            "verified": True,
            "mfa_enabled": False,
            "email": None,
        }
        await self.dispatch(
            "READY",
            {
                "v": 10,
                "user": bot,
                "guilds": [{"id": str(g), "unavailable": True} for g in fake.guilds],
                "session_id": self.session_id,
                "session_type": "normal",
                "resume_gateway_url": fake.ws_base + "/gateway-resume",
                "shard": [0, 1],
                "application": {"id": str(fake.application_id), "flags": 0},
                "private_channels": [],
                "relationships": [],
                "presences": [],
                "guild_join_requests": [],
                "geo_ordered_rtc_regions": [],
                "user_settings": {},
                "_trace": ["fake-discord"],
            },
        )
        for guild in fake.guilds.values():
            await self.dispatch("GUILD_CREATE", fake.guild_payload(guild.id))
        self.ready.set()

    async def _resume(self, conn: _Connection, data: dict[str, Any], path: str) -> None:
        if path != "/gateway-resume":
            self.fake.violation("gateway: RESUME not sent to READY's resume_gateway_url")
        if not self._token_ok(data.get("token")):
            self.fake.violation("gateway: RESUME with a wrong token")
            await conn.ws.close(code=4004, message=b"Authentication failed.")
            return
        if data.get("session_id") != self.session_id or self.session_id is None:
            self.fake.violation("gateway: RESUME of an unknown session")
            await conn.send({"op": OP_INVALID_SESSION, "d": False, "s": None, "t": None})
            return
        self._conn = conn
        self.resumes += 1
        last = int(data.get("seq") or 0)
        for seq, name, payload in list(self.events):
            if seq > last:
                await conn.send({"op": OP_DISPATCH, "s": seq, "t": name, "d": payload})
        await self.dispatch("RESUMED", {"_trace": ["fake-discord"]})
        self.resumed.set()

    async def _member_chunk(self, data: dict[str, Any]) -> None:
        fake = self.fake
        guild = fake.guilds.get(int(data.get("guild_id") or 0))
        if guild is None:
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
        await self.dispatch("GUILD_MEMBERS_CHUNK", chunk)

    async def dispatch(self, name: str, payload: dict[str, Any]) -> None:
        """Send a DISPATCH event (kept for replay; sent now if connected)."""
        if self.session_id is None:
            raise RuntimeError(
                f"cannot dispatch {name}: the bot has not IDENTIFIED with the fake gateway"
            )
        self.seq += 1
        self.events.append((self.seq, name, payload))
        conn = self._conn
        if conn is not None:
            await conn.send({"op": OP_DISPATCH, "s": self.seq, "t": name, "d": payload})

    async def disconnect(self, code: int = 4000) -> None:
        """Close the websocket from the server side (4000 → discord.py RESUMEs)."""
        conn = self._conn
        self._conn = None
        self.resumed.clear()
        if conn is not None:
            await conn.ws.close(code=code, message=b"fake disconnect")

    async def reconnect_request(self) -> None:
        """Send op 7 RECONNECT (discord.py closes and RESUMEs)."""
        self.resumed.clear()
        if self._conn is not None:
            await self._conn.send({"op": OP_RECONNECT, "d": None, "s": None, "t": None})

    async def close(self) -> None:
        """Close the current connection (server shutdown)."""
        conn = self._conn
        self._conn = None
        if conn is not None and not conn.ws.closed:
            await conn.ws.close(code=1001, message=b"fake discord shutting down")
