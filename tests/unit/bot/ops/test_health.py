"""bot/ops/health.py: when the process says it is ready, and what /healthz tells (the HTTP
side runs end to end in tests/e2e/ops)."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import pytest

from bot.ops import health
from bot.ops.health import HealthServer
from bot.ops.metrics import Metrics
from bot.ops.ports import Shard
from bot.storage.job_records import JobState


@dataclass
class FakeShard:
    latency: float
    closed: bool = False

    def is_closed(self) -> bool:
        return self.closed


@dataclass
class FakeGateway:
    ready: bool = True
    closed: bool = False
    shard_list: dict[int, FakeShard] = field(default_factory=lambda: {0: FakeShard(0.0412)})

    def is_ready(self) -> bool:
        return self.ready

    def is_closed(self) -> bool:
        return self.closed

    @property
    def shards(self) -> Mapping[int, Shard]:
        return self.shard_list


class FakeDatabase:
    def __init__(self, delay: float = 0.0, error: Exception | None = None) -> None:
        self.delay, self.error = delay, error

    async def ping(self) -> None:
        await asyncio.sleep(self.delay)
        if self.error is not None:
            raise self.error

    async def job_counts(self) -> dict[JobState, int]:
        return {}


class EmptyLine:
    async def depth(self) -> int:
        return 0


def server(gateway: FakeGateway, database: FakeDatabase | None = None) -> HealthServer:
    return HealthServer(gateway, database or FakeDatabase(), EmptyLine(), Metrics())


async def test_ready_names_the_role_the_shards_and_each_check() -> None:
    ready, body = await server(FakeGateway()).report()
    assert ready
    assert body == {
        "status": "ok",
        "role": "all",
        "gateway": {
            "connected": True,
            "shards": [{"id": 0, "connected": True, "latency_ms": 41.2}],
        },
        "database": {"reachable": True},
        "queue": None,
    }


@pytest.mark.parametrize(
    "gateway",
    [
        FakeGateway(ready=False),
        FakeGateway(closed=True),
        FakeGateway(shard_list={}),
        FakeGateway(shard_list={0: FakeShard(0.04), 1: FakeShard(math.inf, closed=True)}),
    ],
    ids=["before READY", "closing", "no shard yet", "one shard reconnecting"],
)
async def test_not_ready_while_the_gateway_is_not_connected(gateway: FakeGateway) -> None:
    ready, body = await server(gateway).report()
    assert not ready and body["status"] == "unavailable"
    assert body["gateway"]["connected"] is False and body["database"]["reachable"] is True


async def test_an_unmeasured_latency_is_null_not_infinity() -> None:
    gateway = FakeGateway(shard_list={0: FakeShard(math.inf)})
    _, body = await server(gateway).report()
    assert body["gateway"]["shards"] == [{"id": 0, "connected": True, "latency_ms": None}]


@pytest.mark.parametrize(
    "database",
    [FakeDatabase(error=OSError("connection refused")), FakeDatabase(delay=1)],
    ids=["refused", "too slow"],
)
async def test_not_ready_when_the_database_is_unreachable(
    database: FakeDatabase, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(health, "CHECK_TIMEOUT", 0.05)
    ready, body = await server(FakeGateway(), database).report()
    assert not ready and body["database"] == {"reachable": False}
    assert body["gateway"]["connected"] is True


class FakeQueue:
    def __init__(self, up: bool = True, depth: int = 3) -> None:
        self.up, self.waiting = up, depth

    async def reachable(self) -> bool:
        return self.up

    async def depth(self) -> int:
        return self.waiting


async def test_a_worker_has_no_gateway_and_needs_its_queue() -> None:
    queue = FakeQueue()
    worker = HealthServer(None, FakeDatabase(), EmptyLine(), Metrics(), role="worker", queue=queue)
    ready, body = await worker.report()
    assert ready and body["role"] == "worker" and body["gateway"] is None
    assert body["queue"] == {"reachable": True, "depth": 3}

    queue.up = False
    ready, body = await worker.report()
    assert not ready and body["queue"] == {"reachable": False, "depth": None}


async def test_with_a_shared_queue_its_depth_is_the_queue_depth() -> None:
    metrics = Metrics()
    await metrics.refresh(FakeDatabase(), EmptyLine(), FakeQueue(depth=7))
    assert metrics.registry.get_sample_value("picasso_queue_depth") == 7
