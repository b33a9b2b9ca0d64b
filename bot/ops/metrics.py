"""Picasso's Prometheus metrics, in a registry of each bot's own (never the global one), so
tests and several bots in one process never share a series.

What is counted as it happens: painting time and provider failures (the models wrapped by
`bot.ops.observed`), each posted job (the runner's `JobObserver`), Discord's 429s (an aiohttp
trace on discord.py's HTTP session). What is read when scraped: jobs by state (the database)
and the line's depth, see `refresh`.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from datetime import datetime
from types import SimpleNamespace
from typing import TYPE_CHECKING, Final

import aiohttp
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
)
from prometheus_client.exposition import choose_encoder

from bot.errors import PicassoError
from bot.storage.job_records import JobRecord, JobState

if TYPE_CHECKING:
    from bot.imaging.providers import ChatModel, ImageModel, Moderator
    from bot.ops.ports import Database, LineDepth, Queue

# Seconds; a high-quality picture may take minutes, a whole job may wait in line for ten.
PAINT_BUCKETS: Final = (0.5, 1, 2.5, 5, 10, 20, 30, 45, 60, 90, 120, 180, 300)
JOB_BUCKETS: Final = (1, 2.5, 5, 10, 20, 30, 45, 60, 90, 120, 180, 300, 600, 900)
# The `server` label of direct messages (servers are labelled by their id).
DMS_LABEL: Final = "dm"
# X-RateLimit-Scope values Discord sends; anything else (a Cloudflare 429 has none) is "unknown".
SCOPES: Final = frozenset({"user", "global", "shared"})


class Metrics:
    """Every metric of one bot; `exposition()` renders them for a scrape."""

    def __init__(self) -> None:
        self.registry = registry = CollectorRegistry()
        # The process's own figures (resident memory, CPU seconds, open file descriptors,
        # garbage collections, the Python version), as the default registry would have them.
        ProcessCollector(registry=registry)
        PlatformCollector(registry=registry)
        GCCollector(registry=registry)
        self.jobs = Gauge(
            "picasso_jobs", "Jobs in the database by state.", ["state"], registry=registry
        )
        self.queue_depth = Gauge(
            "picasso_queue_depth", "Jobs waiting in line for a painting turn.", registry=registry
        )
        self.paint_seconds = Histogram(
            "picasso_paint_seconds",
            "Seconds one successful image-model call took (generate or edit).",
            buckets=PAINT_BUCKETS,
            registry=registry,
        )
        self.job_seconds = Histogram(
            "picasso_job_seconds",
            "Seconds from a request to its picture posted (end to end, waiting included).",
            buckets=JOB_BUCKETS,
            registry=registry,
        )
        self.provider_errors = Counter(
            "picasso_provider_errors",
            "Failed calls to the OpenAI-compatible API, by call (chat, image, moderation) and "
            "kind (the domain error's class).",
            ["call", "kind"],
            registry=registry,
        )
        self.discord_429s = Counter(
            "picasso_discord_429",
            "Discord REST answers with HTTP 429, by X-RateLimit-Scope.",
            ["scope"],
            registry=registry,
        )
        self.spend = Counter(
            "picasso_spend_usd",
            "US dollars charged for posted pictures, by server id (dm: direct messages).",
            ["server"],
            registry=registry,
        )

    # --- as it happens -------------------------------------------------------------------------

    def posted(self, job: JobRecord, cost_micros: int, at: datetime) -> None:
        """A job's pictures are posted: its time end to end, and what it cost its server."""
        self.job_seconds.observe(max(0.0, (at - job.created_at).total_seconds()))
        server = DMS_LABEL if job.guild_id is None else str(job.guild_id)
        self.spend.labels(server).inc(cost_micros / 1_000_000)

    @contextlib.contextmanager
    def provider_call(self, call: str, *, painting: bool = False) -> Iterator[None]:
        """Around one provider call: a failure is counted by its kind, and a painting call
        that succeeds is timed."""
        started = time.perf_counter()
        try:
            yield
        except PicassoError as error:
            self.provider_errors.labels(call, type(error).__name__).inc()
            raise
        except Exception:
            self.provider_errors.labels(call, "unexpected").inc()
            raise
        if painting:
            self.paint_seconds.observe(time.perf_counter() - started)

    def observed(
        self, chat: ChatModel, images: ImageModel, moderator: Moderator
    ) -> tuple[ChatModel, ImageModel, Moderator]:
        """The pipeline's models, each call watched by these metrics."""
        from bot.ops.observed import ObservedChat, ObservedImages, ObservedModerator

        return (
            ObservedChat(chat, self),
            ObservedImages(images, self),
            ObservedModerator(moderator, self),
        )

    def discord_trace(self) -> aiohttp.TraceConfig:
        """A trace for discord.py's HTTP session (`http_trace=`) counting every 429, the
        ones discord.py waits out included (REST and interaction webhooks share it)."""
        trace = aiohttp.TraceConfig()

        async def answered(
            _session: aiohttp.ClientSession,
            _context: SimpleNamespace,
            params: aiohttp.TraceRequestEndParams,
        ) -> None:
            if params.response.status == 429:
                scope = params.response.headers.get("X-RateLimit-Scope", "")
                self.discord_429s.labels(scope if scope in SCOPES else "unknown").inc()

        trace.on_request_end.append(answered)
        return trace

    # --- when scraped --------------------------------------------------------------------------

    async def refresh(self, store: Database, line: LineDepth, queue: Queue | None = None) -> None:
        """Read the depth of the line (or of the shared queue, where there is one) and the
        jobs by state (every state, 0 when none); raises if the database can't be read,
        leaving the jobs out rather than stale."""
        self.queue_depth.set(await (line if queue is None else queue).depth())
        try:
            counts = await store.job_counts()
        except BaseException:
            self.jobs.clear()
            raise
        for state in JobState:
            self.jobs.labels(state.value).set(counts.get(state, 0))

    def exposition(self, accept: str) -> tuple[bytes, str]:
        """The metrics in the format the scraper's Accept header asks for, and its type."""
        encode, content_type = choose_encoder(accept)
        return encode(self.registry), content_type
