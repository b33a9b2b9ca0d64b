"""A TCP proxy on loopback that can cut, refuse and freeze the connections it carries.

    async with FaultProxy("127.0.0.1", 5432) as proxy:
        engine = make_engine(proxy.url_for(database_url))
        async with proxy.outage(8):  # every connection reset, new ones refused, for 8 s
            ...

Refusing means accepting and resetting at once (SO_LINGER 0, so the peer gets an RST, not a
FIN): the listening port stays ours, refusals are counted, and a client fails on its first
read with ConnectionResetError instead of waiting. Every wait here ends at a timeout, at
`cut()`, or at exit, which cancels and awaits every task and closes every socket.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from collections.abc import AsyncIterator, Callable
from types import TracebackType
from urllib.parse import urlsplit, urlunsplit

CHUNK = 64 * 1024  # bytes read at a time in each direction
CONNECT_TIMEOUT = 5.0  # seconds to reach the target before the client is reset
CLOSE_TIMEOUT = 2.0  # seconds to wait for a socket or a task to finish closing
DEFAULT_PORTS = {"postgresql": 5432, "postgres": 5432, "redis": 6379, "rediss": 6379}


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close `writer`'s socket now, dropping unsent bytes, with an RST to the peer."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):  # already closed: nothing to reset
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


async def _closed(writer: asyncio.StreamWriter) -> None:
    """Wait (bounded) until `writer`'s socket is really closed."""
    with contextlib.suppress(OSError, TimeoutError):
        await asyncio.wait_for(writer.wait_closed(), CLOSE_TIMEOUT)


class FaultProxy:
    """Forwards every connection to 127.0.0.1:`port` on to (`target_host`, `target_port`)."""

    def __init__(
        self,
        target_host: str,
        target_port: int,
        *,
        watch: Callable[[], Callable[[bytes], None]] | None = None,
    ) -> None:
        self.target_host = target_host
        self.target_port = target_port
        self._watch = watch  # per connection: a reader of the bytes its client sends
        self.host = "127.0.0.1"
        self.port = 0  # known once entered
        self.connections = 0  # connections accepted and forwarded (refused ones not counted)
        self.open = 0  # of those, the ones not closed yet
        self.refused = 0  # connections reset on arrival because the proxy was cut
        self._cut = False
        self._flowing = asyncio.Event()
        self._flowing.set()
        self._server: asyncio.Server | None = None
        self._links: dict[asyncio.Task[None], list[asyncio.StreamWriter]] = {}
        self._errors: list[BaseException] = []
        self._restorer: asyncio.TimerHandle | None = None

    async def __aenter__(self) -> FaultProxy:
        """Listen on a free port of 127.0.0.1 (`self.port`), forwarding from now on."""
        self._server = await asyncio.start_server(self._accepted, self.host, 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop listening, reset every connection, and await every task and socket."""
        if self._restorer is not None:
            self._restorer.cancel()
        tasks = list(self._links)
        self.cut()
        if tasks:
            await asyncio.wait(tasks, timeout=CLOSE_TIMEOUT)
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._server.wait_closed(), CLOSE_TIMEOUT)
        if self._errors and error is None:
            raise self._errors[0]  # a bug of the proxy's, not a fault it was asked for

    def url_for(self, url: str) -> str:
        """`url` (postgresql[+driver]:// or redis[s]://) with its host and port made this proxy's.

        Raises ValueError if `url` does not point at this proxy's target.
        """
        parts = urlsplit(url)
        port = parts.port or DEFAULT_PORTS.get(parts.scheme.split("+")[0])
        if (parts.hostname, port) != (self.target_host, self.target_port):
            raise ValueError(f"{url!r} does not go to {self.target_host}:{self.target_port}")
        user, at, _ = parts.netloc.rpartition("@")
        return urlunsplit(parts._replace(netloc=f"{user}{at}{self.host}:{self.port}"))

    def cut(self) -> None:
        """Reset every open connection, both sides, and reset new ones on arrival until
        `restore()`. Clients see ConnectionResetError (or their library's wrapper of it)."""
        self._cut = True
        self._reset_all()

    @property
    def is_cut(self) -> bool:
        """True between `cut()` and `restore()`."""
        return self._cut

    def restore(self) -> None:
        """Forward new connections again (the ones cut stay cut)."""
        self._cut = False

    @contextlib.asynccontextmanager
    async def outage(self, seconds: float) -> AsyncIterator[None]:
        """Cut now; restore after `seconds`, or when the block exits if that comes first."""
        self.cut()
        if self._restorer is not None:
            self._restorer.cancel()
        self._restorer = asyncio.get_running_loop().call_later(seconds, self.restore)
        try:
            yield
        finally:
            self._restorer.cancel()
            self.restore()

    async def down_for(self, seconds: float) -> None:
        """Cut, wait `seconds`, restore."""
        async with self.outage(seconds):
            await asyncio.sleep(seconds)

    def freeze(self) -> None:
        """Keep every connection open but forward no byte (a hung peer) until `thaw()`."""
        self._flowing.clear()

    def thaw(self) -> None:
        """Forward again, first the bytes that arrived while frozen, in order."""
        self._flowing.set()

    def _reset_all(self) -> None:
        for task, writers in self._links.items():
            for writer in writers:
                _reset(writer)
            task.cancel()

    def _accepted(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._cut:
            self.refused += 1
            _reset(writer)
            return
        self.connections += 1
        self.open += 1
        writers = [writer]
        task = asyncio.get_running_loop().create_task(self._link(reader, writers))
        self._links[task] = writers
        task.add_done_callback(self._ended)

    def _ended(self, task: asyncio.Task[None]) -> None:
        del self._links[task]
        self.open -= 1
        error = None if task.cancelled() else task.exception()
        if error is not None:
            self._errors.append(error)

    async def _link(
        self, client: asyncio.StreamReader, writers: list[asyncio.StreamWriter]
    ) -> None:
        """Forward both ways until both ends are closed; reset both sides on any failure.

        `writers` holds the client's side, and the target's once connected (for `cut()`).
        """
        client_writer = writers[0]
        try:
            target, target_writer = await asyncio.wait_for(
                asyncio.open_connection(self.target_host, self.target_port), CONNECT_TIMEOUT
            )
            writers.append(target_writer)
            seen = self._watch() if self._watch is not None else None
            async with asyncio.TaskGroup() as group:
                group.create_task(self._pump(client, target_writer, seen))
                group.create_task(self._pump(target, client_writer))
            for writer in writers:
                writer.close()
        except* (OSError, TimeoutError):
            for writer in writers:
                _reset(writer)
        finally:
            for writer in writers:
                if not writer.transport.is_closing():
                    _reset(writer)  # cancelled, or a surprise: leave no socket open
            for writer in writers:
                await _closed(writer)

    async def _pump(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        seen: Callable[[bytes], None] | None = None,
    ) -> None:
        """Copy `reader` to `writer` (holding while frozen; telling `seen` what passes), then
        pass on the end of input."""
        while data := await reader.read(CHUNK):
            await self._flowing.wait()
            if seen is not None:
                seen(data)
            writer.write(data)
            await writer.drain()
        await self._flowing.wait()
        if writer.can_write_eof():
            writer.write_eof()
