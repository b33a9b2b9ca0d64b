"""Gateway sessions of the fake Discord: one websocket connection, and one IDENTIFYed
session of a shard with its sequence, event log and the connection it is on now.

Routing follows Discord's sharding formula: a guild's events reach the sessions with
``(guild_id >> 22) % count == id``; events without a guild (DMs) reach shard 0.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import zlib
from collections.abc import Mapping
from typing import Any

from aiohttp import web

OP_DISPATCH = 0

# Events whose guild is the payload itself rather than its guild_id.
GUILD_OBJECT_EVENTS = frozenset({"GUILD_CREATE", "GUILD_UPDATE", "GUILD_DELETE"})


def guild_of(name: str, payload: Mapping[str, Any]) -> int | None:
    """The guild whose shard event `name` belongs to; None for events without one (DMs)."""
    raw = payload.get("id") if name in GUILD_OBJECT_EVENTS else payload.get("guild_id")
    return int(raw) if raw else None


class Connection:
    """One websocket connection (a session may span several)."""

    def __init__(self, ws: web.WebSocketResponse, zlib_stream: bool) -> None:
        self.ws = ws
        self.compressor = zlib.compressobj() if zlib_stream else None
        self.lock = asyncio.Lock()
        self.session: Session | None = None

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


class Session:
    """One IDENTIFYed session of shard ``shard_id`` of ``shard_count``."""

    def __init__(self, shard_id: int, shard_count: int) -> None:
        self.shard_id, self.shard_count = shard_id, shard_count
        self.session_id = secrets.token_hex(16)
        self.seq = 0
        self.events: list[tuple[int, str, dict[str, Any]]] = []
        """Every event of the session with its sequence number (RESUME replays the missed)."""
        self.delivered: list[tuple[str, dict[str, Any]]] = []
        """The events written to this session's connections, in order (replays too)."""
        self.conn: Connection | None = None
        self.ready = asyncio.Event()  # READY and its GUILD_CREATEs sent
        self.resumed = asyncio.Event()
        self.resumes = 0
        self.ended = False  # closed by its client: no more events, no RESUME

    def receives(self, guild_id: int | None) -> bool:
        """Whether events of `guild_id` (None: without a guild, e.g. DMs) reach this session."""
        if guild_id is None:
            return self.shard_id == 0
        return (guild_id >> 22) % self.shard_count == self.shard_id

    @property
    def connected(self) -> bool:
        """True while a websocket of this session is open."""
        return self.conn is not None and not self.conn.ws.closed

    async def send_event(self, name: str, payload: dict[str, Any]) -> None:
        """Number the event, keep it for RESUME, and send it now if connected."""
        self.seq += 1
        self.events.append((self.seq, name, payload))
        await self._write(self.seq, name, payload)

    async def replay(self, after: int) -> None:
        """Send again every event numbered above `after` (what a RESUME missed)."""
        for seq, name, payload in list(self.events):
            if seq > after:
                await self._write(seq, name, payload)

    async def _write(self, seq: int, name: str, payload: dict[str, Any]) -> None:
        conn = self.conn
        if conn is not None and not conn.ws.closed:
            self.delivered.append((name, payload))
            await conn.send({"op": OP_DISPATCH, "s": seq, "t": name, "d": payload})
