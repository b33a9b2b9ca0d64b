"""bot/ops/metrics.py: what the runner and the providers report, and what a scrape reads,
over a real SQLite store; each bot's metrics in a registry of their own."""

from __future__ import annotations

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.errors import ProviderTimeout
from bot.jobs.observer import UNOBSERVED
from bot.ops.metrics import Metrics
from bot.storage.job_records import JobState
from bot.storage.repository import GUILD_WIDE, Store
from tests.unit.doubles import ScriptedImages
from tests.unit.jobs_rig import GUILD, TODAY, make_rig, order


def sample(metrics: Metrics, name: str, **labels: str) -> float | None:
    return metrics.registry.get_sample_value(name, labels)


async def test_a_posted_job_is_timed_end_to_end_and_charged_to_its_server(
    store: Store, downloads: aiohttp.ClientSession
) -> None:
    rig = make_rig(store, downloads)
    assert rig.runner.observer is UNOBSERVED  # nobody watches unless the bot serves metrics
    metrics = rig.runner.observer = Metrics()

    await rig.runner.run(await rig.admit(order()))

    assert sample(metrics, "picasso_job_seconds_count") == 1
    spent = (await rig.store.usage(GUILD, GUILD_WIDE, TODAY)).spent_micros
    assert spent > 0
    assert sample(metrics, "picasso_spend_usd_total", server=str(GUILD)) == spent / 1_000_000
    assert sample(metrics, "picasso_spend_usd_total", server="dm") is None


async def test_a_failed_job_is_neither_timed_nor_charged(
    store: Store, downloads: aiohttp.ClientSession
) -> None:
    rig = make_rig(store, downloads, images=ScriptedImages(errors={0: ProviderTimeout()}))
    metrics = rig.runner.observer = Metrics()
    await rig.runner.run(await rig.admit(order()))
    assert sample(metrics, "picasso_job_seconds_count") == 0
    assert sample(metrics, "picasso_spend_usd_total", server=str(GUILD)) is None


async def test_a_scrape_reads_jobs_by_state_and_the_line(
    store: Store, downloads: aiohttp.ClientSession
) -> None:
    rig = make_rig(store, downloads)
    await rig.runner.run(await rig.admit(order()))
    await rig.admit(order())  # queued, not started
    metrics = Metrics()

    await metrics.refresh(rig.store, rig.line)

    by_state = {s.value: sample(metrics, "picasso_jobs", state=s.value) for s in JobState}
    assert by_state == {
        "queued": 1,
        "running": 0,
        "posting": 0,
        "done": 1,
        "failed": 0,
        "cancelled": 0,
    }
    assert sample(metrics, "picasso_queue_depth") == 0  # admitted, but not waiting for a turn


async def test_jobs_are_left_out_rather_than_stale_when_the_database_fails(
    store: Store, downloads: aiohttp.ClientSession
) -> None:
    rig = make_rig(store, downloads)
    metrics = Metrics()
    await metrics.refresh(rig.store, rig.line)
    assert sample(metrics, "picasso_jobs", state="done") == 0

    class Broken:
        async def job_counts(self) -> dict[JobState, int]:
            raise OSError("the database is gone")

        async def ping(self) -> None:
            raise OSError("the database is gone")

    with pytest.raises(OSError):
        await metrics.refresh(Broken(), rig.line)
    assert sample(metrics, "picasso_jobs", state="done") is None


def test_each_bot_has_its_own_registry_and_the_exposition_parses() -> None:
    first, second = Metrics(), Metrics()  # the global registry would refuse the second
    first.spend.labels("1").inc(0.25)
    body, content_type = first.exposition("")
    assert content_type.startswith("text/plain")
    families = {f.name: f for f in text_string_to_metric_families(body.decode())}
    assert {
        "picasso_jobs",
        "picasso_queue_depth",
        "picasso_paint_seconds",
        "picasso_job_seconds",
        "picasso_provider_errors",
        "picasso_discord_429",
        "picasso_spend_usd",
        "process_resident_memory_bytes",
        "process_cpu_seconds",
        "process_open_fds",
        "python_gc_objects_collected",
    } <= set(families)
    assert sample(second, "picasso_spend_usd_total", server="1") is None
    openmetrics, kind = first.exposition("application/openmetrics-text; version=1.0.0")
    assert kind.startswith("application/openmetrics-text") and openmetrics.endswith(b"# EOF\n")
