"""The shared line in the database: which painting worker holds a job, and whose turn it is.

With several processes (`ROLE=worker`), the in-process scheduler can't see the others'
jobs, so its rules are kept here, in the job rows every process shares:

- a worker **holds** a job while it waits for its turn and while it paints it: `holder`,
  renewed before `lease_until` runs out. A lease that runs out means its worker died; the
  next worker to get the job from the queue takes it over.
- a held job **gets its turn** (`has_turn`) in one transaction serialised by a lock (an
  advisory lock on PostgreSQL; SQLite has one writer): only while fewer than `concurrency`
  jobs have a live turn everywhere, fewer than the person's `running_cap` are theirs, and
  it is among the first of the held jobs waiting, as many as there are free slots (fair
  turns, as in one process: servers take turns — the one whose last picture started
  earliest goes first, one never served before anyone — then, within a server, people).
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from typing import Any, Final

from sqlalchemy import and_, func, or_, select, text, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from bot.storage.database import Sessions
from bot.storage.job_records import LIVE, JobState
from bot.storage.tables import JobRow

# Any 64-bit number no other user of the database locks with: "picasso line".
LINE_LOCK: Final = 0x7069636173736F
RANKED: Final = 50  # positions are told up to this far back in the line


class Hold(Enum):
    """What became of a request to hold a job."""

    HELD = "held"  # this holder has it now
    BUSY = "busy"  # another holder's lease is still running
    ENDED = "ended"  # the job is over (or never was)


@dataclass(frozen=True, slots=True)
class Holding:
    """The answer to `hold`: the outcome, the job's state, and (BUSY) until when."""

    hold: Hold
    state: JobState | None = None
    lease_until: datetime | None = None
    took_over: bool = False  # the job was held by a holder whose lease ran out


@dataclass(frozen=True, slots=True)
class Turn:
    """The answer to `take_turn`: granted, or the place in line (1: next), or ended."""

    granted: bool
    position: int | None = None
    ended: bool = False


def _live_lease(now: datetime) -> Any:
    return JobRow.lease_until > now


def _turn_taken(job: Any, now: datetime) -> Any:
    """A live job whose turn is running (its holder's lease too)."""
    return job.has_turn & (job.lease_until > now) & job.state.in_([s.value for s in LIVE])


class Turns(Sessions):
    """The shared line's half of `Store`."""

    async def hold(self, job_id: int, holder: str, now: datetime, lease: timedelta) -> Holding:
        """Take (or keep) the hold of a live job for `lease` from `now`."""
        async with self._writing() as session:
            row = await session.get(JobRow, job_id, with_for_update=True)
            if row is None or JobState(row.state) not in LIVE:
                return Holding(Hold.ENDED)
            mine = row.holder == holder
            expired = row.lease_until is None or row.lease_until <= now
            if not mine and row.holder is not None and not expired:
                return Holding(Hold.BUSY, JobState(row.state), row.lease_until)
            took_over = not mine and row.holder is not None
            row.holder, row.lease_until = holder, now + lease
            if took_over:
                row.has_turn = False
            return Holding(Hold.HELD, JobState(row.state), row.lease_until, took_over)

    async def renew_holds(
        self, held: Mapping[int, str], now: datetime, lease: timedelta
    ) -> set[int]:
        """Extend the leases of these jobs (id → its holder) in one statement; returns the
        ids whose hold was no longer their holder's (taken over, or never theirs)."""
        if not held:
            return set()
        async with self._writing() as session:
            renewed = await session.scalars(
                update(JobRow)
                .where(tuple_(JobRow.id, JobRow.holder).in_(list(held.items())))
                .values(lease_until=now + lease)
                .returning(JobRow.id)
            )
            kept = set(renewed.all())
        return set(held) - kept

    async def end_turn(self, job_id: int, holder: str) -> bool:
        """The job's turn is over (it painted, or waits out a provider pause); still held."""
        return await self._held(job_id, holder, {"has_turn": False})

    async def release_hold(self, job_id: int, holder: str) -> bool:
        """Let go of the job: no holder, no lease, no turn."""
        gone = {"holder": None, "lease_until": None, "has_turn": False}
        return await self._held(job_id, holder, gone)

    async def _held(self, job_id: int, holder: str, values: dict[str, Any]) -> bool:
        async with self._writing() as session:
            moved = await session.execute(
                update(JobRow)
                .where((JobRow.id == job_id) & (JobRow.holder == holder))
                .values(**values)
            )
        return bool(moved.rowcount)  # type: ignore[attr-defined]

    async def take_turn(
        self,
        job_id: int,
        holder: str,
        now: datetime,
        lease: timedelta,
        concurrency: int,
        *,
        first: bool = False,
    ) -> Turn:
        """`take_turns` for one job."""
        turns = await self.take_turns(
            {job_id: holder}, now, lease, concurrency, first={job_id} if first else set()
        )
        return turns[job_id]

    async def take_turns(
        self,
        waiting: Mapping[int, str],
        now: datetime,
        lease: timedelta,
        concurrency: int,
        *,
        first: Collection[int] = (),
    ) -> dict[int, Turn]:
        """Give each of these held, queued jobs (id → its holder) its turn if the line's rules
        allow it now, in one transaction, renewing their leases either way: one process asks
        for all the jobs it holds at once. `first`: jobs that had their turn and lost it to
        a provider pause; they go before everyone waiting (slots and caps still apply)."""
        async with self._writing() as session:
            await self._lock_line(session)
            query = select(JobRow).where(JobRow.id.in_(list(waiting)))
            rows = {row.id: row for row in (await session.scalars(query)).all()}
            mine = {
                job_id: row
                for job_id, row in rows.items()
                if row.state == JobState.QUEUED.value and row.holder == waiting[job_id]
            }
            turns = {job_id: Turn(False, ended=True) for job_id in waiting if job_id not in mine}
            for row in mine.values():
                row.lease_until = now + lease
            await session.flush()
            busy = await session.scalar(
                select(func.count()).select_from(JobRow).where(_turn_taken(JobRow, now))
            )
            free = concurrency - (busy or 0)  # slots: the first `free` of the line go
            line = await self._line(session, now)
            resumed = [entry for entry in line if entry.id in first and entry.id in mine]
            taken: dict[tuple[int | None, int], int] = {}
            ranked = _ranked(resumed + [entry for entry in line if entry not in resumed], taken)
            for position, entry in ranked:
                if entry.id not in mine:
                    continue  # another process's job: it counts, that process starts it
                if position <= free:
                    mine[entry.id].has_turn = True
                    person = (entry.guild_id, entry.user_id)
                    taken[person] = taken.get(person, 0) + 1
                    turns[entry.id] = Turn(True)
                else:
                    turns[entry.id] = Turn(False, position=position)
            for job_id in mine:
                turns.setdefault(job_id, Turn(False))
            return turns

    async def line_positions(self, now: datetime) -> dict[int, int]:
        """Where each job held by a worker stands in the shared line (1: next to start)."""
        async with self._sessions() as session:
            line = await self._line(session, now)
        return {entry.id: position for position, entry in _ranked(line, {})}

    async def _lock_line(self, session: AsyncSession) -> None:
        if self._dialect == "postgresql":
            await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LINE_LOCK})

    async def _line(self, session: AsyncSession, now: datetime) -> list[_Waiting]:
        """The held, waiting jobs, fairest first (by the last start of their server, then of
        their person: never served first), with their person's turns running."""
        mine = aliased(JobRow)
        running = (
            select(func.count())
            .select_from(mine)
            .where(
                (mine.user_id == JobRow.user_id)
                & _same_place(mine, JobRow)
                & _turn_taken(mine, now)
            )
            .scalar_subquery()
        )
        served, visited = aliased(JobRow), aliased(JobRow)
        last_start = (
            select(func.max(served.started_at))
            .where((served.user_id == JobRow.user_id) & _same_place(served, JobRow))
            .scalar_subquery()
        )
        server_last_start = (
            select(func.max(visited.started_at))
            .where(_same_place(visited, JobRow))
            .scalar_subquery()
        )
        query = (
            select(JobRow.id, JobRow.guild_id, JobRow.user_id, JobRow.running_cap, running)
            .where(
                (JobRow.state == JobState.QUEUED.value)
                & JobRow.holder.is_not(None)
                & _live_lease(now)
                & ~JobRow.has_turn
            )
            .order_by(
                server_last_start.is_not(None),
                server_last_start,
                last_start.is_not(None),
                last_start,
                JobRow.id,
            )
            .limit(RANKED)
        )
        return [_Waiting(*row) for row in (await session.execute(query)).all()]


@dataclass(frozen=True, slots=True)
class _Waiting:
    """A held job waiting in the line, as the line is worked out."""

    id: int
    guild_id: int | None
    user_id: int
    cap: int | None
    running: int  # its person's turns running now


def _ranked(
    line: list[_Waiting], taken: Mapping[tuple[int | None, int], int]
) -> Iterator[tuple[int, _Waiting]]:
    """The line's jobs that may start, with their positions: a job whose person already
    paints as many as allowed (`taken`: turns granted since the line was read) waits
    unplaced. Read lazily, so that turns granted along the way count."""
    position = 0
    for entry in line:
        person = (entry.guild_id, entry.user_id)
        if entry.cap is not None and entry.running + taken.get(person, 0) >= entry.cap:
            continue
        position += 1
        yield position, entry


def _same_place(one: Any, other: Any) -> Any:
    """The same server (or both in direct messages)."""
    return or_(
        one.guild_id == other.guild_id, and_(one.guild_id.is_(None), other.guild_id.is_(None))
    )
