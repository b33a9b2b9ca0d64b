"""What health and metrics need of the rest of the bot, as small protocols (the Discord client,
the store, the line, the shared job queue), so `bot.ops` imports none of them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from bot.storage.job_records import JobState


class Shard(Protocol):
    """One gateway connection, as discord.py's `ShardInfo` describes it."""

    @property
    def latency(self) -> float:
        """Seconds between a heartbeat and its acknowledgement (inf before the first)."""
        ...

    def is_closed(self) -> bool:
        """Whether its websocket is closed."""
        ...


class Gateway(Protocol):
    """The Discord client, as far as health goes (an `AutoShardedClient`)."""

    def is_ready(self) -> bool:
        """Whether READY has arrived."""
        ...

    def is_closed(self) -> bool:
        """Whether the client is closing or closed."""
        ...

    @property
    def shards(self) -> Mapping[int, Shard]:
        """The shards this process runs, by id."""
        ...


class Database(Protocol):
    """The store, as far as health and metrics go."""

    async def ping(self) -> None:
        """One trivial query; raises if the database can't be reached."""
        ...

    async def job_counts(self) -> Mapping[JobState, int]:
        """How many jobs are in each state."""
        ...


class LineDepth(Protocol):
    """The line jobs wait in for a painting turn, as far as metrics go."""

    async def depth(self) -> int:
        """How many jobs wait for a painting turn."""
        ...


class Queue(Protocol):
    """The job queue shared by gateway and worker processes."""

    async def reachable(self) -> bool:
        """Whether it answers."""
        ...

    async def depth(self) -> int:
        """How many jobs wait for a worker."""
        ...
