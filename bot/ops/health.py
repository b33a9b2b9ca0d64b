"""GET /healthz and GET /metrics on HEALTH_PORT: a small aiohttp server inside the bot.

/healthz answers 200 when the process can do its work (the gateway connected, the database
reachable, and the shared job queue reachable where there is one) and 503 otherwise, with
the same JSON either way::

    {"status": "ok", "role": "all",
     "gateway": {"connected": true, "shards": [{"id": 0, "connected": true, "latency_ms": 41.5}]},
     "database": {"reachable": true},
     "queue": null}

`role` is the process's ROLE; `gateway` is null for a worker (it never connects); `queue` is
null while jobs wait in the process's own line, else {"reachable": …, "depth": …}.
"""

from __future__ import annotations

import asyncio
import logging
import math
from typing import TYPE_CHECKING, Any, Final

from aiohttp import web

from bot.ops.ports import Database, Gateway, LineDepth, Queue

if TYPE_CHECKING:  # prometheus_client loads only when the metrics are made
    from bot.ops.metrics import Metrics

log = logging.getLogger(__name__)

# A database or queue that takes longer than this to answer is not ready for work.
CHECK_TIMEOUT: Final = 2.0


class ServeFailed(Exception):
    """HEALTH_PORT could not be listened on; `str()` is one line naming the setting."""


class HealthServer:
    """Serves /healthz and /metrics for one bot until `stop()`."""

    def __init__(
        self,
        gateway: Gateway | None,
        database: Database,
        line: LineDepth,
        metrics: Metrics,
        *,
        role: str = "all",
        queue: Queue | None = None,
    ) -> None:
        self._gateway = gateway  # None: a worker, which never connects
        self._database = database
        self._line = line
        self._metrics = metrics
        self._role = role
        self._queue = queue  # None: jobs wait in this process's own line
        self._runner: web.AppRunner | None = None

    async def start(self, host: str, port: int) -> None:
        """Listen on host:port; raises `ServeFailed` if that address can't be had."""
        app = web.Application()
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/metrics", self._metrics_page)
        runner = web.AppRunner(app, access_log=None)  # probes every few seconds: no lines
        await runner.setup()
        try:
            await web.TCPSite(runner, host, port).start()
        except OSError as error:
            await runner.cleanup()
            raise ServeFailed(
                f"HEALTH_PORT: cannot listen on {host}:{port} ({error.strerror or error})"
            ) from error
        self._runner = runner
        log.info("serving /healthz and /metrics on %s:%d", host, port)

    async def stop(self) -> None:
        """Stop listening (idempotent)."""
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def report(self) -> tuple[bool, dict[str, Any]]:
        """(ready, the JSON body of /healthz)."""
        gateway = None if self._gateway is None else _gateway_report(self._gateway)
        database = {"reachable": await self._database_reachable()}
        queue = None if self._queue is None else await _queue_report(self._queue)
        ready = database["reachable"]
        ready = ready and (gateway is None or gateway["connected"])
        ready = ready and (queue is None or queue["reachable"])
        return ready, {
            "status": "ok" if ready else "unavailable",
            "role": self._role,
            "gateway": gateway,
            "database": database,
            "queue": queue,
        }

    async def _database_reachable(self) -> bool:
        try:
            async with asyncio.timeout(CHECK_TIMEOUT):
                await self._database.ping()
        except Exception as error:
            log.warning("health: the database is unreachable: %s", type(error).__name__)
            return False
        return True

    async def _healthz(self, request: web.Request) -> web.Response:
        ready, body = await self.report()
        return web.json_response(body, status=200 if ready else 503)

    async def _metrics_page(self, request: web.Request) -> web.Response:
        try:
            async with asyncio.timeout(CHECK_TIMEOUT):
                await self._metrics.refresh(self._database, self._line, self._queue)
        except Exception as error:  # still serve what is counted in memory
            log.warning("metrics: could not read jobs by state: %s", type(error).__name__)
        body, content_type = self._metrics.exposition(request.headers.get("Accept", ""))
        return web.Response(body=body, headers={"Content-Type": content_type})


def _gateway_report(gateway: Gateway) -> dict[str, Any]:
    shards = [
        {"id": shard_id, "connected": not shard.is_closed(), "latency_ms": _ms(shard.latency)}
        for shard_id, shard in sorted(gateway.shards.items())
    ]
    connected = (
        gateway.is_ready()
        and not gateway.is_closed()
        and bool(shards)
        and all(shard["connected"] for shard in shards)
    )
    return {"connected": connected, "shards": shards}


async def _queue_report(queue: Queue) -> dict[str, Any]:
    try:
        async with asyncio.timeout(CHECK_TIMEOUT):
            if await queue.reachable():
                return {"reachable": True, "depth": await queue.depth()}
    except Exception as error:
        log.warning("health: the job queue is unreachable: %s", type(error).__name__)
    return {"reachable": False, "depth": None}


def _ms(seconds: float) -> float | None:
    """Milliseconds, or None for discord.py's "not measured yet" (inf or nan)."""
    return None if not math.isfinite(seconds) else round(seconds * 1000, 1)
