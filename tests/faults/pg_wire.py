"""Counting PostgreSQL's frontend protocol on the wire, as a proxy sees it: how many round
trips (a Sync ends an extended-protocol exchange, a Flush asks for the answers so far — asyncpg
prepares a statement that way —, a Query is one on its own) and how many statements were
prepared (Parse), whatever the driver does above.

    wire = PgWire()
    async with FaultProxy("127.0.0.1", 5432, watch=wire.connection) as proxy:
        ...  # connect through proxy.url_for(url)
    wire.round_trips
"""

from __future__ import annotations

import struct
from collections import Counter
from collections.abc import Callable
from typing import Final

# Startup-phase requests that are answered before the real startup message follows.
_SSL_REQUEST: Final = 80877103
_GSSENC_REQUEST: Final = 80877104


class PgWire:
    """Counts the frontend messages of every connection it reads, by type."""

    def __init__(self) -> None:
        self.messages: Counter[str] = Counter()

    @property
    def round_trips(self) -> int:
        """Exchanges the client waited for: each Sync, Flush and simple Query."""
        return self.messages["S"] + self.messages["H"] + self.messages["Q"]

    @property
    def parses(self) -> int:
        """Statements prepared (Parse messages)."""
        return self.messages["P"]

    def snapshot(self) -> Counter[str]:
        """The counts now (subtract two snapshots to count a stretch)."""
        return Counter(self.messages)

    def connection(self) -> Callable[[bytes], None]:
        """A reader for one new connection's client bytes (they may arrive in any pieces)."""
        buffer = bytearray()
        started = [False]

        def read(data: bytes) -> None:
            buffer.extend(data)
            while True:
                if not started[0]:  # int32 length (itself included), int32 code, rest
                    if len(buffer) < 8:
                        return
                    length, code = struct.unpack("!ii", buffer[:8])
                    if len(buffer) < length:
                        return
                    del buffer[:length]
                    started[0] = code not in (_SSL_REQUEST, _GSSENC_REQUEST)
                    continue
                if len(buffer) < 5:  # a type byte, then int32 length (itself included)
                    return
                kind = chr(buffer[0])
                (length,) = struct.unpack("!i", buffer[1:5])
                if len(buffer) < 1 + length:
                    return
                del buffer[: 1 + length]
                self.messages[kind] += 1

        return read
