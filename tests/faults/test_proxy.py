"""FaultProxy driven by real clients: a loopback echo server, asyncpg, SQLAlchemy and Redis.

The PostgreSQL and Redis tests skip when the service does not answer, unless
REQUIRE_SERVICES=1, which makes that a failure (see `tests/services.py`). Every wait is for an
event, bounded generously; no test needs something to happen before a short deadline.
"""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import AsyncIterator, Callable
from urllib.parse import urlsplit

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from bot.storage.database import make_engine
from tests.faults.pg_wire import PgWire
from tests.faults.proxy import FaultProxy
from tests.services import POSTGRES_URL, postgres_or_skip, redis_database

BOUND = 10.0  # seconds: a generous upper bound on anything that should be quick


async def until(condition: Callable[[], bool]) -> None:
    """Wait (at most BOUND seconds) until `condition()` holds."""
    async with asyncio.timeout(BOUND):
        while not condition():
            await asyncio.sleep(0.01)


async def _echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except ConnectionError:
        pass
    finally:
        writer.close()


@pytest.fixture
async def echo_proxy() -> AsyncIterator[FaultProxy]:
    """A proxy in front of an echo server on loopback."""
    server = await asyncio.start_server(_echo, "127.0.0.1", 0)
    async with server, FaultProxy("127.0.0.1", server.sockets[0].getsockname()[1]) as proxy:
        yield proxy
    assert proxy.open == 0


async def dial(proxy: FaultProxy) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.wait_for(asyncio.open_connection(proxy.host, proxy.port), BOUND)


async def echoes(proxy: FaultProxy, payload: bytes = b"ping") -> bool:
    """Whether a new connection through `proxy` echoes `payload` back, then closes cleanly."""
    reader, writer = await dial(proxy)
    try:
        writer.write(payload)
        return await asyncio.wait_for(reader.readexactly(len(payload)), BOUND) == payload
    finally:
        writer.close()
        await writer.wait_closed()


async def test_bytes_flow_both_ways_and_the_end_of_input_is_passed_on(
    echo_proxy: FaultProxy,
) -> None:
    reader, writer = await dial(echo_proxy)
    payload = os.urandom(3 * 1024 * 1024)  # many chunks each way: flow control is exercised
    writer.write(payload)
    writer.write_eof()
    assert await asyncio.wait_for(reader.read(), BOUND) == payload  # all of it, then EOF
    writer.close()
    await writer.wait_closed()
    assert echo_proxy.connections == 1
    await until(lambda: echo_proxy.open == 0)


async def test_cut_resets_open_connections_and_refuses_new_ones_until_restore(
    echo_proxy: FaultProxy,
) -> None:
    reader, writer = await dial(echo_proxy)
    writer.write(b"hello")
    assert await asyncio.wait_for(reader.readexactly(5), BOUND) == b"hello"
    assert echo_proxy.open == 1

    echo_proxy.cut()
    with pytest.raises(ConnectionResetError):  # an RST, not an orderly end (read() == b"")
        await asyncio.wait_for(reader.read(1), BOUND)
    writer.close()
    await until(lambda: echo_proxy.open == 0)

    reader, writer = await dial(echo_proxy)  # the handshake is the kernel's; then the RST
    with pytest.raises(ConnectionResetError):
        await asyncio.wait_for(reader.read(1), BOUND)
    writer.close()
    assert echo_proxy.refused == 1
    assert echo_proxy.connections == 1

    echo_proxy.restore()
    assert await echoes(echo_proxy)
    assert echo_proxy.connections == 2


async def test_outage_restores_after_its_seconds_or_at_block_exit(echo_proxy: FaultProxy) -> None:
    async with echo_proxy.outage(3600):
        assert echo_proxy.is_cut
        with pytest.raises(ConnectionResetError):
            await echoes(echo_proxy)
    assert not echo_proxy.is_cut
    assert await echoes(echo_proxy)

    async with echo_proxy.outage(0.05):
        await until(lambda: not echo_proxy.is_cut)  # the timer, not the block, restored it
        assert await echoes(echo_proxy)

    reader, writer = await dial(echo_proxy)
    await echo_proxy.down_for(0.05)
    with pytest.raises(ConnectionResetError):
        await asyncio.wait_for(reader.read(1), BOUND)
    writer.close()
    assert await echoes(echo_proxy)


async def test_freeze_holds_bytes_until_thaw(echo_proxy: FaultProxy) -> None:
    reader, writer = await dial(echo_proxy)
    echo_proxy.freeze()
    writer.write(b"held")
    answer = asyncio.create_task(reader.readexactly(4))
    await asyncio.sleep(0.2)
    assert not answer.done()
    echo_proxy.thaw()
    assert await asyncio.wait_for(answer, BOUND) == b"held"
    writer.close()
    await writer.wait_closed()


async def test_exit_ends_every_task_and_connection(echo_proxy: FaultProxy) -> None:
    frozen_reader, frozen_writer = await dial(echo_proxy)
    idle_reader, idle_writer = await dial(echo_proxy)
    await until(lambda: echo_proxy.open == 2)
    echo_proxy.freeze()
    frozen_writer.write(b"stuck")
    await echo_proxy.__aexit__(None, None, None)

    assert echo_proxy.open == 0
    assert not [t for t in asyncio.all_tasks() if "FaultProxy." in repr(t.get_coro())]
    for reader, writer in ((frozen_reader, frozen_writer), (idle_reader, idle_writer)):
        with pytest.raises(ConnectionResetError):
            await asyncio.wait_for(reader.read(1), BOUND)
        writer.close()
    with pytest.raises(ConnectionRefusedError):  # no longer listening
        await dial(echo_proxy)


async def test_an_unreachable_target_resets_the_client() -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    async with FaultProxy("127.0.0.1", port) as proxy:
        reader, writer = await dial(proxy)
        with pytest.raises(ConnectionResetError):
            await asyncio.wait_for(reader.read(1), BOUND)
        writer.close()
        assert (proxy.connections, proxy.refused) == (1, 0)
        await until(lambda: proxy.open == 0)


def test_url_for_replaces_only_host_and_port() -> None:
    proxy = FaultProxy("127.0.0.1", 5432)
    proxy.port = 40001
    url = proxy.url_for("postgresql+asyncpg://app:s%40cret@127.0.0.1:5432/test?ssl=disable")
    assert url == "postgresql+asyncpg://app:s%40cret@127.0.0.1:40001/test?ssl=disable"
    assert proxy.url_for("postgresql://postgres@127.0.0.1/db") == (
        "postgresql://postgres@127.0.0.1:40001/db"
    )
    with pytest.raises(ValueError, match="does not go to"):
        proxy.url_for("redis://127.0.0.1:6379/15")  # another target than this proxy's
    redis = FaultProxy("127.0.0.1", 6379)
    redis.port = 40002
    assert redis.url_for("redis://127.0.0.1:6379/15") == "redis://127.0.0.1:40002/15"
    assert redis.url_for("redis://:pw@127.0.0.1/2") == "redis://:pw@127.0.0.1:40002/2"


# --- PostgreSQL -------------------------------------------------------------------------


@pytest.fixture
async def pg_proxy() -> AsyncIterator[FaultProxy]:
    """A proxy in front of the test PostgreSQL server (skips when it does not answer)."""
    await postgres_or_skip()
    url = make_url(POSTGRES_URL)
    async with FaultProxy(url.host or "127.0.0.1", url.port or 5432) as proxy:
        yield proxy


async def pg_connect(proxy: FaultProxy) -> asyncpg.Connection:
    url = make_url(proxy.url_for(POSTGRES_URL)).set(drivername="postgresql")
    return await asyncpg.connect(url.render_as_string(hide_password=False), timeout=BOUND)


async def test_asyncpg_through_a_cut_and_a_restore(pg_proxy: FaultProxy) -> None:
    idle = await pg_connect(pg_proxy)
    busy = await pg_connect(pg_proxy)
    assert await idle.fetchval("SELECT 1") == 1
    query = asyncio.create_task(busy.fetchval("SELECT pg_sleep(20)"))
    await asyncio.sleep(0.1)  # the query is on its way (or still queued: it fails either way)

    pg_proxy.cut()
    with pytest.raises(asyncpg.exceptions.ConnectionDoesNotExistError) as lost:
        await asyncio.wait_for(idle.fetchval("SELECT 1"), BOUND)
    assert isinstance(lost.value.__cause__, ConnectionResetError)
    assert idle.is_closed()
    with pytest.raises(asyncpg.exceptions.ConnectionDoesNotExistError):
        await asyncio.wait_for(query, BOUND)
    with pytest.raises(ConnectionResetError):  # the SSLRequest of sslmode=prefer is reset
        await pg_connect(pg_proxy)
    assert pg_proxy.refused >= 1

    pg_proxy.restore()
    again = await pg_connect(pg_proxy)
    try:
        assert await again.fetchval("SELECT 1") == 1
    finally:
        await again.close()
        await busy.close()
        await idle.close()


async def test_freeze_holds_a_query_until_thaw(pg_proxy: FaultProxy) -> None:
    connection = await pg_connect(pg_proxy)
    try:
        pg_proxy.freeze()
        query = asyncio.create_task(connection.fetchval("SELECT 41 + 1"))
        await asyncio.sleep(0.2)
        assert not query.done()
        pg_proxy.thaw()
        assert await asyncio.wait_for(query, BOUND) == 42
    finally:
        await connection.close()


async def test_sqlalchemy_engine_recovers_after_an_outage(pg_proxy: FaultProxy) -> None:
    engine = make_engine(pg_proxy.url_for(POSTGRES_URL))  # pool_pre_ping=True
    try:
        async with engine.connect() as connection:
            assert (await connection.execute(text("SELECT 1"))).scalar() == 1

        async with pg_proxy.outage(3600):
            # The pooled connection fails its ping; the new one is reset while connecting.
            with pytest.raises(ConnectionResetError):
                async with engine.connect() as connection:
                    await connection.execute(text("SELECT 1"))

        async with engine.connect() as connection:
            assert (await connection.execute(text("SELECT 1"))).scalar() == 1
            pg_proxy.cut()  # in the middle of a checked-out connection: the driver's error
            with pytest.raises(DBAPIError) as lost:
                await connection.execute(text("SELECT 1"))
            assert lost.value.connection_invalidated
            assert lost.value.orig is not None
            assert isinstance(lost.value.orig.__cause__, asyncpg.ConnectionDoesNotExistError)
        pg_proxy.restore()

        async with engine.connect() as connection:
            assert (await connection.execute(text("SELECT 1"))).scalar() == 1
    finally:
        await engine.dispose()


# --- Redis ------------------------------------------------------------------------------


async def test_redis_through_a_cut_and_a_restore() -> None:
    from redis.asyncio import Redis
    from redis.exceptions import ConnectionError as RedisConnectionError

    async with redis_database() as url:
        target = urlsplit(url)
        async with FaultProxy(target.hostname or "127.0.0.1", target.port or 6379) as proxy:
            client = Redis.from_url(proxy.url_for(url), socket_connect_timeout=BOUND)
            try:
                assert await client.execute_command("PING")
                proxy.cut()
                with pytest.raises(RedisConnectionError):
                    await asyncio.wait_for(client.execute_command("PING"), BOUND)
                proxy.restore()
                assert await client.execute_command("PING")
            finally:
                await client.aclose()


async def test_the_wire_counter_sees_round_trips_and_prepared_statements() -> None:
    await postgres_or_skip()
    wire = PgWire()
    url = make_url(POSTGRES_URL)
    async with FaultProxy(
        url.host or "127.0.0.1", url.port or 5432, watch=wire.connection
    ) as proxy:
        connection = await pg_connect(proxy)
        try:
            before = wire.snapshot()
            await connection.execute("SELECT 1")  # a simple query: one round trip
            statement = await connection.prepare("SELECT $1::int")  # Parse (+ Describe, Sync)
            for value in range(3):
                await statement.fetchval(value)  # Bind, Execute, Sync each: no Parse
            counted = wire.snapshot() - before
        finally:
            await connection.close()
    assert counted["Q"] == 1
    assert counted["P"] == 1
    assert (counted["H"], counted["S"]) == (1, 3)  # the preparation flushed, three executions
    assert sum(counted[kind] for kind in "QHS") == 5  # what round_trips counts
